"""Plausibility checks: every reason code fires on a window built for it, none fires on normal
windows (simulated users and real Fitabase users), and the maths behaves at its edges."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.scoring import plausibility as pl
from stream.scoring.checks import stride
from stream.scoring.checks.rhythm import steady_ratio
from stream.scoring.plausibility import CHECKS, PlausibilityScorer, check_ratios
from stream.windows import Window
from tests.scoring_cases import (
    CASES,
    fitabase_or_skip,
    normal_walk,
    simulated_normal,
    walk,
    window,
)


def test_every_check_has_a_case_and_documentation() -> None:
    assert set(CASES) == set(CHECKS)
    for code in CHECKS:
        assert f"``{code}``" in (pl.__doc__ or "")


@pytest.mark.parametrize("code", CHECKS)
def test_check_fires_on_its_case(code: str) -> None:
    verdict = PlausibilityScorer().score([CASES[code]()])[0]
    assert code in verdict.reasons
    assert verdict.anomalous
    assert sum(verdict.channels.values()) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("code", CHECKS)
def test_check_is_silent_on_a_normal_walk(code: str) -> None:
    ratios, _ = pl.window_ratios([normal_walk(seed) for seed in range(20)])
    assert (ratios[:, CHECKS.index(code)] < 1.0).all()


def _fired(windows: list[Window]) -> list[tuple[str, object, tuple[str, ...]]]:
    verdicts = PlausibilityScorer().score(windows)
    return [
        (w.user_id, w.start, v.reasons) for w, v in zip(windows, verdicts, strict=True) if v.reasons
    ]


def test_silent_on_simulated_normal_users() -> None:
    windows = list(simulated_normal())
    assert len(windows) > 100
    assert _fired(windows) == []


def test_silent_on_real_fitabase_users() -> None:
    windows = fitabase_or_skip()
    assert len(windows) > 1000
    assert _fired(windows) == []


def test_quiet_window_scores_zero() -> None:
    verdict = PlausibilityScorer().score([window(np.zeros(60))])[0]
    assert verdict.score == 0.0 and verdict.reasons == ()


def test_missing_distance_is_not_steps_without_distance() -> None:
    """Fitabase-like windows (steps only) must never be judged on a channel they lack."""
    ratios, _ = pl.window_ratios([window(walk(0, 60, 110.0))])
    assert ratios[0, CHECKS.index("steps_without_distance")] == 0.0
    assert ratios[0, CHECKS.index("stride_implausible")] == 0.0


def test_human_treadmill_steadiness_passes_machine_steadiness_fires() -> None:
    human = walk(0, 60, 120.0, cv=0.03, seed=1)  # a treadmill session: steady, not mechanical
    machine = walk(0, 60, 120.0, cv=0.002, seed=1)
    ratios = steady_ratio(np.stack([human, machine]))
    assert ratios[0] < 1.0 <= ratios[1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 400, allow_nan=False), min_size=60, max_size=60),
    st.lists(st.floats(0, 600, allow_nan=False), min_size=60, max_size=60),
    st.floats(0.1, 10),
)
def test_ratios_are_finite_bounded_and_scale_free(steps, distance, factor) -> None:
    s = np.asarray(steps)
    d = np.asarray(distance)
    ratios = check_ratios(
        np.stack([s, d, np.zeros(60)])[None].astype(np.float32),
        np.stack([s > 0, d > 0, np.zeros(60, bool)])[None],
        np.zeros(1, np.int64),
        np.zeros(1, np.bool_),
    )
    assert np.isfinite(ratios).all() and (ratios >= 0).all() and (ratios <= pl.MAX_RATIO).all()
    # Batch order never matters: the same window scored alone or beside another is the same.
    w = window(s, d)
    pair = pl.window_ratios([window(s * factor, d), w])[0]
    alone = pl.window_ratios([w])[0]
    np.testing.assert_array_equal(pair[1], alone[0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.floats(0, 50)), min_size=60, max_size=60),
        min_size=1,
        max_size=8,
    )
)
def test_row_median_matches_numpy(rows) -> None:
    values = np.array([[np.nan if v is None else v for v in row] for row in rows])
    values[:, 0] = np.nan_to_num(values[:, 0], nan=1.0)  # every judged row has a number
    np.testing.assert_allclose(stride.row_median(values), np.nanmedian(values, axis=1))


def test_a_bout_with_an_impossible_stride_is_not_hidden_by_an_honest_walk_beside_it() -> None:
    steps = walk(2, 12, 140.0, 0.05, seed=4) + walk(20, 38, 105.0, seed=5)
    distance = steps * 0.75
    distance[2:14] = steps[2:14] * 0.12  # the phone hardly moved for twelve minutes of steps
    verdict = PlausibilityScorer().score([window(steps, distance)])[0]
    assert "stride_implausible" in verdict.reasons
    honest = PlausibilityScorer().score([window(steps, steps * 0.75)])[0]
    assert "stride_implausible" not in honest.reasons


def _ride(
    bumps: npt.NDArray[np.float64], metres_per_min: float = 900.0, with_distance: bool = True
) -> Window:
    """A 40-minute car ride at 15 m/s with the steps the device counted on the way."""
    steps, distance, speed = np.zeros(60), np.zeros(60), np.full(60, np.nan)
    steps[10:50] = bumps
    distance[10:50] = metres_per_min
    speed[10:50:3] = metres_per_min / 60.0  # a sample every 3 minutes
    return window(steps, distance if with_distance else None, speed)


@pytest.mark.parametrize("with_distance", [True, False])
def test_an_honest_ride_with_counted_bumps_is_not_a_walk(with_distance: bool) -> None:
    """Phones, and watches more, count a few steps in a car: up to a dozen a minute, every
    minute, is not a vehicle logged as walking, nor a teleport inside a walk."""
    rng = np.random.default_rng(3)
    for bumps in (np.full(40, 3.0), rng.integers(0, 13, 40).astype(np.float64)):
        ratios, _ = pl.window_ratios([_ride(bumps, with_distance=with_distance)])
        assert (ratios < 1.0).all(), dict(zip(CHECKS, ratios[0].round(2), strict=True))


@pytest.mark.parametrize("with_distance", [True, False])
def test_a_ride_logged_at_a_walking_cadence_fires(with_distance: bool) -> None:
    bumps = np.random.default_rng(4).integers(40, 80, 40).astype(np.float64)
    verdict = PlausibilityScorer().score([_ride(bumps, with_distance=with_distance)])[0]
    assert "speed_above_human_limit" in verdict.reasons


def test_a_ride_in_traffic_split_by_counted_bumps_is_not_distance_without_steps() -> None:
    """Bumps split a ride into stepless stretches; those between the fast minutes, crawling at
    300 m a minute, are still the ride, not a route walked without steps."""
    block = ([3.0, 0, 0, 0, 0, 0, 0], [600.0, 600, 300, 300, 300, 300, 600])
    steps, distance = np.zeros(60), np.zeros(60)
    steps[5:54] = np.tile(block[0], 7)
    distance[5:54] = np.tile(block[1], 7)
    ratios, _ = pl.window_ratios([window(steps, distance)])
    assert ratios[0, CHECKS.index("distance_without_steps")] < 1.0
    # the same crawl with no fast minute anywhere is distance without steps
    ratios, _ = pl.window_ratios([window(steps, np.minimum(distance, 300.0))])
    assert ratios[0, CHECKS.index("distance_without_steps")] >= 1.0


def _journey(kmh: float, minutes: int) -> tuple[npt.NDArray[np.float64], ...]:
    """Walk to the platform, a ride at ``kmh`` logged with distance and speed, walk away."""
    steps = walk(0, 6, 100.0) + walk(50, 6, 100.0, seed=1)
    distance, speed = steps * 0.7, np.full(60, np.nan)
    distance[8 : 8 + minutes] = kmh / 3.6 * 60
    speed[8 : 8 + minutes : 2] = kmh / 3.6
    return steps, distance, speed


@pytest.mark.parametrize("kmh", [180.0, 300.0])
def test_a_fast_journey_without_steps_is_no_teleport(kmh: float) -> None:
    """A high-speed train or a motorway: sustained, stepless, credits no steps."""
    verdict = PlausibilityScorer().score([window(*_journey(kmh, 40))])[0]
    assert verdict.reasons == ()


@pytest.mark.parametrize("minutes", [1, 2])
def test_a_jump_without_steps_is_still_a_teleport(minutes: int) -> None:
    """A minute or two at 270 km/h out of nowhere is a jump, not a journey."""
    steps, distance, _ = _journey(270.0, minutes)
    assert "gps_teleport" in PlausibilityScorer().score([window(steps, distance)])[0].reasons
    only_speed = np.full(60, np.nan)
    only_speed[20] = 75.0  # one speed sample, no distance
    verdict = PlausibilityScorer().score([window(np.zeros(60), None, only_speed)])[0]
    assert "gps_teleport" in verdict.reasons


@pytest.mark.parametrize("counted", [45.0, 55.0, 70.0])
def test_a_walk_whose_watch_misses_steps_is_no_implausible_stride(counted: float) -> None:
    """Pushing a stroller, a wrist device counts half the steps of a 1.3 m/s walk: the step
    looks long, the pace is a walk's, and the user is credited less, not more."""
    steps = walk(10, 25, counted, 0.08)
    ratios, _ = pl.window_ratios([window(steps, np.where(steps > 0, 78.0, 0.0))])
    assert ratios[0, CHECKS.index("stride_implausible")] < 1.0


def test_distance_faked_beyond_a_walk_at_a_walking_cadence_is_still_implausible() -> None:
    steps = walk(10, 25, 100.0, 0.06)
    ratios, _ = pl.window_ratios([window(steps, steps * 1.5)])  # 150 m a minute at 100 steps
    assert ratios[0, CHECKS.index("stride_implausible")] >= 1.0


def _in_points(metres_per_minute: npt.NDArray[np.float64], minutes: int) -> npt.NDArray[np.float64]:
    """Distance as a phone may log it: points of ``minutes`` each, spread evenly over their
    minutes by the buffer, whatever the steps inside (the Takeout sample holds distance points
    of 7 and 13 minutes beside step points of a minute or less)."""
    out = np.zeros_like(metres_per_minute)
    for at in range(0, out.shape[0], minutes):
        block = metres_per_minute[at : at + minutes]
        out[at : at + minutes] = block.sum() / block.shape[0]
    return out


def _stroll(seed: int) -> npt.NDArray[np.float64]:
    """An hour of pottering about: a minute in three or four holds 20-60 steps, the others
    none (the Fitabase users' commonest active hour)."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(60) < 0.3, rng.integers(20, 61, 60), 0).astype(np.float64)


@pytest.mark.parametrize("minutes", [5, 7, 13])
def test_a_stroll_whose_distance_comes_in_long_points_is_no_implausible_stride(
    minutes: int,
) -> None:
    """A stroll's metres spread over several minutes land in minutes with many steps and in
    minutes with none: minute by minute the step reads too short, over the span it is 0.7 m."""
    windows = [window(s, _in_points(s * 0.7, minutes)) for s in map(_stroll, range(40))]
    ratios, _ = pl.window_ratios(windows)
    assert (ratios[:, CHECKS.index("stride_implausible")] < 1.0).all()


@pytest.mark.parametrize("minutes", [1, 10])
def test_steps_the_distance_cannot_explain_stay_implausible_in_long_points(minutes: int) -> None:
    steps = walk(10, 30, 110.0)
    ratios, _ = pl.window_ratios([window(steps, _in_points(steps * 0.1, minutes))])
    assert ratios[0, CHECKS.index("stride_implausible")] >= 1.0


@pytest.mark.parametrize("minutes", [1, 10])
def test_a_ride_logged_as_steps_stays_implausible_in_long_distance_points(minutes: int) -> None:
    steps = walk(10, 30, 60.0, 0.2)
    ratios, _ = pl.window_ratios(
        [window(steps, _in_points(np.where(steps > 0, 400.0, 0.0), minutes))]
    )
    assert ratios[0, CHECKS.index("stride_implausible")] >= 1.0


def test_one_speed_glitch_in_a_walk_with_distance_is_no_vehicle() -> None:
    """A single GPS speed sample of 15 m/s among a walk's 1.3 m/s ones, interpolated as the
    buffer does, spans three minutes over 7 m/s; the metres of those minutes say walked."""
    steps = walk(10, 30, 110.0)
    speed = np.full(60, np.nan)
    speed[10:40] = 1.3
    speed[20:25] = [1.3, 8.15, 15.0, 8.15, 1.3]
    ratios, _ = pl.window_ratios([window(steps, steps * 0.75, speed)])
    assert ratios[0, CHECKS.index("speed_above_human_limit")] < 1.0


def test_a_vehicle_is_judged_by_its_speed_where_no_distance_came() -> None:
    steps = walk(10, 30, 70.0, 0.2)
    speed = np.where(steps > 0, 12.0, np.nan)
    ratios, _ = pl.window_ratios([window(steps, None, speed), window(steps, steps * 0.7, speed)])
    fired = ratios[:, CHECKS.index("speed_above_human_limit")] >= 1.0
    assert fired.tolist() == [True, False]  # with distance, the metres judge (a walk's here)
