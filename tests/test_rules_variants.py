"""The rules added for the red team's cheat variants (issue 3, ``docs/variants.md``): each fires on
a case built for it, carries back a bout that began in the previous window, and stays silent on
normal walks and on the simulator's legitimate-unusual bouts (long runs, hikes, night walks,
treadmill sessions)."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from model_export.sim.types import LabeledSpan
from stream.scoring import plausibility as pl
from stream.scoring.checks import movement, rhythm
from stream.scoring.rides import STEPPING_CADENCE
from stream.windows import Window
from tests.scoring_cases import normal_walk, walk, window

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def verdict_of(w: Window) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The window's reasons and what it carries back."""
    v = pl.PlausibilityScorer().score([w])[0]
    return v.reasons, () if v.back is None else v.back.reasons


def context(steps: F64, distance: F64 | None = None, speed: F64 | None = None) -> F32:
    """A ``[3, k]`` context row (NaN: nothing sent)."""
    out = np.full((3, steps.shape[0]), np.nan, dtype=np.float32)
    out[0] = steps
    if distance is not None:
        out[1] = distance
    if speed is not None:
        out[2] = speed
    return out


@lru_cache(maxsize=1)
def legit_unusual() -> tuple[Window, ...]:
    """Windows overlapping the simulator's legitimate-unusual bouts (through the pipeline)."""
    from model_export.simulate import simulate
    from model_export.windowing import windows_of

    data = simulate(24, 4, 20261125, cheats=False, legit_unusual=True)
    spans = [s for s in data.spans if not s.cheat]
    assert {s.family for s in spans} == {"long_run", "long_hike", "night_walk", "treadmill"}
    return tuple(w for w in windows_of(data.events) if any(overlap(w, s) for s in spans))


def overlap(w: Window, span: LabeledSpan) -> bool:
    return span.user_id == w.user_id and span.start_ns < w.end_ns and w.start_ns < span.end_ns


def fired(code: str, windows: tuple[Window, ...] | list[Window]) -> list[Window]:
    verdicts = pl.PlausibilityScorer().score(list(windows))
    return [w for w, v in zip(windows, verdicts, strict=True) if code in v.reasons]


# --- P1: successive-difference variation ------------------------------------------------------


def drifting_swing(minutes: int = 45, start: int = 5, seed: int = 0) -> F64:
    """A pedometer swing running down: 100 -> 78 steps/min, smooth (0.3 %) minute to minute."""
    rng = np.random.default_rng(seed)
    steps = np.zeros(60)
    rate = np.linspace(100.0, 78.0, minutes) * (1 + 0.003 * rng.standard_normal(minutes))
    steps[start : start + minutes] = np.round(rate)
    return steps


def test_a_drifting_swing_fires_on_successive_differences_only() -> None:
    steps = drifting_swing()
    for k, limit in rhythm.STEADY_TIERS:  # every stretch varies beyond the std/mean tiers
        stretches = np.lib.stride_tricks.sliding_window_view(steps[5:50], k)
        assert (stretches.std(axis=1) / stretches.mean(axis=1) > limit).all()
    assert rhythm.steady_ratio(steps[None])[0] >= 1.0
    assert "cadence_without_variation" in verdict_of(window(steps))[0]


def test_a_human_pace_change_is_not_a_machine() -> None:
    """A treadmill walk at 3 % per-minute variation, its belt sped up halfway: silent."""
    steps = walk(0, 30, 105.0, cv=0.03, seed=2) + walk(30, 30, 125.0, cv=0.03, seed=3)
    assert rhythm.steady_ratio(steps[None])[0] < 1.0


def test_a_drifting_swing_begun_in_the_previous_window_is_carried_back() -> None:
    steps = drifting_swing(40, 0)
    before = np.full(30, np.nan)
    before[22:] = np.round(np.linspace(101.0, 100.2, 8))
    w = replace(window(steps), before=context(before))
    reasons, back = verdict_of(w)
    assert "cadence_without_variation" in reasons and "cadence_without_variation" in back


# --- P4: the step a speed sample implies ------------------------------------------------------


def bus(start: int = 10, minutes: int = 20, seed: int = 0) -> tuple[F64, F64]:
    """A city bus logged as walking: bumps of 30-90 "steps" a minute at 3-8 m/s, speed only."""
    rng = np.random.default_rng(seed)
    steps = np.zeros(60)
    speed = np.full(60, np.nan)
    steps[start : start + minutes] = rng.integers(30, 90, minutes)
    speed[start : start + minutes] = rng.uniform(3.0, 8.0, minutes)
    return steps, speed


def test_a_ride_sending_speed_only_has_an_implausible_stride() -> None:
    steps, speed = bus()
    assert "stride_implausible" in verdict_of(window(steps, None, speed))[0]


def test_speed_with_distance_is_judged_by_the_metres() -> None:
    """The same minutes with their distance: the metres decide (a bus's metres fire anyway, so
    the case is a runner whose lagging speed overshoots while the distance is honest)."""
    steps = walk(10, 30, 120.0, 0.04, seed=1)
    speed = np.where(steps > 0, 4.0, np.nan)  # 2 m per step at 120/min, if believed
    assert "stride_implausible" in verdict_of(window(steps, None, speed))[0]
    assert "stride_implausible" not in verdict_of(window(steps, steps * 0.8, speed))[0]


def test_a_runner_at_speed_is_plausible() -> None:
    steps = walk(0, 60, 172.0, 0.03, seed=5)
    speed = np.where(steps > 0, 4.2, np.nan)  # 1.47 m per step
    assert "stride_implausible" not in verdict_of(window(steps, None, speed))[0]


def test_two_fast_minutes_beside_a_walk_are_not_a_ride() -> None:
    steps = walk(10, 30, 100.0, 0.05, seed=6)
    speed = np.full(60, np.nan)
    speed[38:40] = 6.0  # a lagging sample from the bus the walker boards after
    assert "stride_implausible" not in verdict_of(window(steps, None, speed))[0]


def test_a_ride_begun_in_the_previous_window_is_carried_back() -> None:
    steps, speed = bus(0, 15, seed=2)
    rng = np.random.default_rng(3)
    before_steps = np.full(30, np.nan)
    before_speed = np.full(30, np.nan)
    before_steps[24:] = rng.integers(30, 90, 6)
    before_speed[24:] = rng.uniform(3.0, 8.0, 6)
    w = replace(window(steps, None, speed), before=context(before_steps, None, before_speed))
    reasons, back = verdict_of(w)
    assert "stride_implausible" in reasons and "stride_implausible" in back


# --- P2: a rate repeated across pauses -------------------------------------------------------


def duty_cycle(start: int, minutes: int, rate: float = 164.0, seed: int = 0) -> F64:
    """A timer-driven shaker from ``start`` (may be negative: begun earlier), on 5 min, off 2."""
    rng = np.random.default_rng(seed)
    steps = np.zeros(minutes)
    on = (np.arange(minutes) % 7) < 5
    steps[on] = np.round(rate * (1 + 0.003 * rng.standard_normal(int(on.sum()))))
    return steps


def test_a_duty_cycle_fires_where_the_steady_rule_cannot_measure() -> None:
    steps = np.zeros(60)
    steps[5:] = duty_cycle(5, 55)
    reasons = verdict_of(window(steps))[0]
    assert "cadence_repeats_exactly" in reasons
    assert "cadence_without_variation" not in reasons  # no 20 active minutes in a row


def test_a_duty_cycle_that_ended_before_the_window_is_not_its_own() -> None:
    shaker = duty_cycle(0, 55, seed=1)
    before = shaker[:30].copy()
    before[26:] = 0.0  # switched off at :56 of the previous hour
    ahead = context(np.full(16, np.nan))
    w = replace(window(walk(20, 20, 110.0, seed=8)), before=context(before), after=ahead)
    assert "cadence_repeats_exactly" not in verdict_of(w)[0]
    # ...but a duty cycle running on into the window is the window's, and is carried back
    steps = np.zeros(60)
    steps[:25] = shaker[30:]
    w = replace(window(steps), before=context(shaker[:30]), after=ahead)
    reasons, back = verdict_of(w)
    assert "cadence_repeats_exactly" in reasons and "cadence_repeats_exactly" in back


def test_a_walk_just_before_an_injection_is_not_carried_back() -> None:
    """A walk ends at :59, the injection starts two minutes into the hour: the bout joins
    them, but none of the repeated minutes lie in the previous window."""
    before = np.zeros(30)
    before[26:] = [31.0, 137.0, 123.0, 117.0]
    steps = np.zeros(60)
    steps[:5] = [117.0, 117.0, 122.0, 131.0, 106.0]
    steps[7:41] = 399.0
    w = replace(window(steps), before=context(before))
    reasons, back = verdict_of(w)
    assert "cadence_repeats_exactly" in reasons and "cadence_repeats_exactly" not in back


def test_a_treadmill_hour_does_not_repeat_itself() -> None:
    steps = walk(0, 60, 124.0, cv=0.03, seed=9)
    assert rhythm.repeat_ratio(steps[None])[0] < 1.0


def _repeat_reference(x: F64) -> float:
    """The most active minutes within tolerance of one count in any span (plain loops)."""
    best = 0
    span = min(rhythm.REPEAT_SPAN, x.shape[0])
    for s in range(x.shape[0] - span + 1):
        seg = x[s : s + span]
        for v in x[x >= rhythm.STEADY_MIN_CADENCE]:  # any count of the row
            tol = rhythm.REPEAT_TOLERANCE
            near = (seg >= v * (1 - tol)) & (seg <= v * (1 + tol))
            best = max(best, int((near & (seg >= rhythm.STEADY_MIN_CADENCE)).sum()))
    enough = (x >= rhythm.STEADY_MIN_CADENCE).sum() >= rhythm.REPEAT_MINUTES
    ratio = best / rhythm.REPEAT_MINUTES
    return ratio if enough and ratio >= rhythm.REPEAT_FLOOR else 0.0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from([0.0, 20.0, 99.0, 100.0, 101.0, 150.0]), min_size=106, max_size=106
        ),
        min_size=1,
        max_size=5,
    )
)
def test_repeat_ratio_matches_plain_loops(rows: list[list[float]]) -> None:
    x = np.array(rows)
    got = rhythm.repeat_ratio(x)
    assert got.tolist() == [_repeat_reference(r) for r in x]


# --- P6: a jump logged across a lost fix -------------------------------------------------------


def lost_fix(metres: float, minutes: int = 10, at: int = 20) -> tuple[F64, F64]:
    """A 40-minute walk at ~105/min, 0.72 m a step, and ``metres`` more spread evenly over
    ``minutes`` of it: the jump a spoofer logs when the fix comes back."""
    steps = walk(5, 40, 105.0, 0.06, seed=8)
    distance = steps * 0.72
    distance[at : at + minutes] += metres / minutes
    return steps, distance


def test_a_jump_over_a_lost_fix_is_a_teleport() -> None:
    steps, distance = lost_fix(3_000.0)
    walking = movement.walking_minutes(steps[None] >= STEPPING_CADENCE)
    assert movement.spikes(distance[None], steps[None], 0, 60, walking)[0] < 1.0  # 300 m a minute
    assert "gps_teleport" in verdict_of(window(steps, distance))[0]


def test_a_short_jump_over_a_long_lost_fix_is_a_walk() -> None:
    """600 m over 15 minutes of a walk is 40 m a minute more: 1.1 m a step, a long stride."""
    steps, distance = lost_fix(600.0, minutes=15)
    assert "gps_teleport" not in verdict_of(window(steps, distance))[0]


def test_a_walk_turning_into_a_run_is_no_teleport() -> None:
    """Half an hour's walk (0.75 m a step), then half an hour's run at 168/min and 1.45 m a
    step: the run's metres double the walk's, within the longest step at its cadence."""
    steps = walk(0, 30, 108.0, 0.05, seed=9) + walk(30, 30, 168.0, 0.03, seed=10)
    distance = np.where(np.arange(60) < 30, steps * 0.75, steps * 1.45)
    assert "gps_teleport" not in verdict_of(window(steps, distance))[0]


def test_a_lost_fix_is_judged_in_the_window_holding_the_jump() -> None:
    """One walk across the hour, 3 km logged over 10 minutes: when those minutes are the
    previous window's last, this window (the walk after it) is not flagged; when they are its
    first, it is."""
    before_steps = walk(0, 30, 105.0, 0.06, seed=12)[:30]
    steps = walk(0, 40, 105.0, 0.06, seed=13)
    jump = 3_000.0 / 10
    in_before = before_steps * 0.72
    in_before[-10:] += jump
    w = replace(window(steps, steps * 0.72), before=context(before_steps, in_before))
    assert "gps_teleport" not in verdict_of(w)[0]
    in_window = steps * 0.72
    in_window[:10] += jump
    w = replace(window(steps, in_window), before=context(before_steps, before_steps * 0.72))
    assert "gps_teleport" in verdict_of(w)[0]


# --- silent where people are honest -----------------------------------------------------------

NEW_FINDINGS = (
    "cadence_without_variation",
    "stride_implausible",
    "cadence_repeats_exactly",
    "gps_teleport",
)


def test_silent_on_legitimate_unusual_bouts() -> None:
    windows = legit_unusual()
    assert len(windows) > 40
    for code in NEW_FINDINGS:
        assert fired(code, windows) == [], code


def test_silent_on_normal_walks() -> None:
    walks = [normal_walk(seed) for seed in range(20)]
    for code in NEW_FINDINGS:
        assert fired(code, walks) == [], code
