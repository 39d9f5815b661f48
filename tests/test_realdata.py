"""The real Fitabase users as events, cheats injected into their days, and the simulator
compared with them. Skips when ``../shared/data`` is absent."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from model_export import realdata
from model_export.sim.compare import compare, differences, plot
from model_export.sim.stats import ActivityStats
from model_export.sim.unusual import Injection
from model_export.simulate import CHEAT_FAMILIES, LEGIT_FAMILIES
from stream.parsing import parse_obj
from stream.parsing.order import in_event_time
from stream.points import Channel

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not realdata.available(DATA), reason="../shared/data/fitabase is absent"
)


@pytest.fixture(scope="module")
def users():
    return realdata.load_fitabase(DATA)


@pytest.fixture(scope="module")
def stats() -> tuple[ActivityStats, ActivityStats]:
    return compare(n_users=24, days=7, seed=5)


def test_all_users_load_with_a_plausible_stride(users):
    assert len(users) == 22
    for u in users:
        assert 0.4 < u.stride_m < 1.1
        assert u.start.utcoffset() is not None and u.start.hour == 0
        assert u.days()


def test_events_carry_every_real_step_and_the_derived_distance(users):
    user = users[0]
    totals = {Channel.STEPS: 0.0, Channel.DISTANCE: 0.0}
    for event in realdata.normal_events([user]):
        result = parse_obj(event)
        assert not result.rejections
        for b in result.batches:
            assert b.user_id == user.user_id
            totals[b.channel] += float(b.value.sum())
    real_steps = float(np.nansum(user.steps))
    assert totals[Channel.STEPS] == real_steps
    assert totals[Channel.DISTANCE] == pytest.approx(real_steps * user.stride_m, rel=1e-4)


def test_injection_labels_real_days_deterministically(users):
    few = [replace(u, steps=u.steps[: 10 * 1440]) for u in users[:4]]
    bench = realdata.inject_cheats(few, seed=3, day_rate=0.6, legit_rate=0.3)
    assert bench.user_days == sum(len(u.days()) for u in few)
    assert {s.family for s in bench.spans} <= set(CHEAT_FAMILIES) | set(LEGIT_FAMILIES)
    assert any(s.cheat for s in bench.spans) and any(not s.cheat for s in bench.spans)
    again = realdata.inject_cheats(few, seed=3, day_rate=0.6, legit_rate=0.3)
    assert again.spans == bench.spans


def test_the_normal_generator_matches_the_real_users(stats):
    sim, real = stats
    assert differences(sim, real) == []


def test_the_comparison_catches_a_broken_generator(stats):
    sim, real = stats
    doubled = replace(sim, cadence=sim.cadence * 2)
    lazy = replace(sim, daily=sim.daily / 2)
    no_fidget = replace(sim, bouts=sim.bouts[sim.bouts >= 4])
    for broken in (doubled, lazy, no_fidget):
        assert differences(broken, real)


def test_the_comparison_plot_is_written(stats, tmp_path):
    out = plot(stats[0], stats[1], tmp_path / "sim_vs_fitabase.png")
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clearing_removes_the_real_minutes_under_an_injection_only(users):
    u = users[1]
    steps = np.nan_to_num(u.steps.copy())
    before = steps.copy()
    t0 = u.start.timestamp()
    hour = next(h for h in range(24, steps.size // 60) if steps[h * 60 : h * 60 + 60].sum() > 300)
    inj = Injection(t0 + hour * 3600, t0 + (hour + 1) * 3600)
    realdata.clear_minutes(steps, u, inj, margin_s=120)
    lo, hi = hour * 60 - 2, hour * 60 + 62
    assert not steps[lo:hi].any()
    assert before[lo:hi].any()  # this user walked then: the check is not vacuous
    assert np.array_equal(steps[:lo], before[:lo]) and np.array_equal(steps[hi:], before[hi:])


def _event(
    user: realdata.RealUser, data_type: str, start: int, end: int, value: float | int
) -> dict[str, object]:
    """One Google Fit point of ``com.google.<data_type>`` from Google's merged stream."""
    field = "intVal" if isinstance(value, int) else "fpVal"
    return {
        "user_id": user.user_id,
        "dataTypeName": f"com.google.{data_type}",
        "startTimeNanos": start,
        "endTimeNanos": end,
        "value": [{field: value}],
        "originDataSourceId": f"derived:com.google.{data_type}:com.google.android.gms:merge",
    }


def _in_points(
    user: realdata.RealUser, seed: int, steps_min: tuple[int, int], metres_min: tuple[int, int]
) -> list[dict[str, object]]:
    """The user's real minutes as a phone may log them: steps in points of ``steps_min``
    minutes, distance (steps x stride) in points of ``metres_min`` minutes, each drawn at random
    and on boundaries of their own (the Takeout sample's distance stream holds points of 7 and
    13 minutes beside step points of at most 3)."""
    rng = np.random.default_rng(seed)
    steps = np.nan_to_num(user.steps)
    minute = 60 * 1_000_000_000
    events: list[dict[str, object]] = []
    for data_type, (shortest, longest), scale in (
        ("step_count.delta", steps_min, None),
        ("distance.delta", metres_min, user.stride_m),
    ):
        at = 0
        while at < steps.shape[0]:
            end = min(steps.shape[0], at + int(rng.integers(shortest, longest + 1)))
            total = float(steps[at:end].sum())
            if total > 0:
                value = int(total) if scale is None else total * scale
                start_ns, end_ns = user.start_ns + at * minute, user.start_ns + end * minute
                events.append(_event(user, data_type, start_ns, end_ns, value))
            at = end
    return events


@pytest.mark.parametrize(
    ("steps_min", "metres_min"),
    [
        # the alerts on these very events under the rules before the spans' totals: 74, 499, 12
        pytest.param((1, 1), (5, 5), id="steps-1min-metres-5min"),
        pytest.param((1, 1), (7, 13), id="steps-1min-metres-7-13min"),
        pytest.param((1, 3), (3, 8), id="steps-1-3min-metres-3-8min"),
    ],
)
def test_real_walks_with_distance_in_long_points_have_plausible_strides(
    users, steps_min: tuple[int, int], metres_min: tuple[int, int]
):
    """Distance spread evenly over a several-minute point lands in minutes with many steps and
    in minutes with none; judged minute by minute, the 22 users' pottering read as steps too
    short for their metres. Replayed in event time, as ``lifeup score`` does."""
    from stream.pipeline import score_results
    from stream.scoring.plausibility import PlausibilityScorer

    events = [e for u in users for e in _in_points(u, 3, steps_min, metres_min)]
    run = score_results(in_event_time(map(parse_obj, events)), PlausibilityScorer())
    assert len(run.verdicts) > 7000
    fired = [w.start_ns for w, v in run.verdicts if "stride_implausible" in v.reasons]
    assert fired == []


@pytest.mark.parametrize(
    "metres_min",
    [
        # alerts on these very events before the long distance points
        # (stream.buffer.LONG_DISTANCE_POINT_NS): 323 and 176
        pytest.param((60, 60), id="metres-hourly"),
        pytest.param((1440, 1440), id="metres-daily"),
    ],
)
def test_real_minutes_with_distance_per_hour_or_day_raise_nothing(
    users, metres_min: tuple[int, int]
):
    """Fitabase's own shape, minute steps beside a daily distance, and an hour's distance
    beside minute steps: spread evenly, a walk's metres reach the quiet minutes around it and
    a day's total the night, which read as metres walked without a step (and, in the morning,
    as a day's metres over a few steps). Replayed in event time, as ``lifeup score`` does."""
    from stream.pipeline import score_results
    from stream.scoring.detector import load_detector

    events = [e for u in users for e in _in_points(u, 5, (1, 1), metres_min)]
    run = score_results(in_event_time(map(parse_obj, events)), load_detector())
    assert len(run.verdicts) > 7000
    assert [(w.user_id, w.start_ns, v.reasons) for w, v in run.verdicts if v.anomalous] == []


def test_real_walks_with_distance_in_half_hour_points_walk_no_metres_without_steps(users):
    """Points of 15-30 minutes put a walk's metres in the quiet minutes beside it: 27
    ``distance_without_steps`` alerts on these events before a span's steps could cover its
    metres (``stream.scoring.checks.movement.human_pace_distance``)."""
    from stream.pipeline import score_results
    from stream.scoring.plausibility import PlausibilityScorer

    events = [e for u in users for e in _in_points(u, 5, (1, 1), (15, 30))]
    run = score_results(in_event_time(map(parse_obj, events)), PlausibilityScorer())
    assert len(run.verdicts) > 7000
    fired = [w.start_ns for w, v in run.verdicts if "distance_without_steps" in v.reasons]
    assert fired == []


def _hc_record(
    user: realdata.RealUser, kind: str, first: int, end: int, **value: object
) -> dict[str, object]:
    """A Health Connect record of the user's minutes ``[first, end)``, as a watch app writes it."""
    start, stop = (
        (user.start + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ") for m in (first, end)
    )
    return {
        "user_id": user.user_id, "recordType": kind, "startTime": start, "endTime": stop,
        "metadata": {"id": f"{kind}-{first}", "dataOrigin": "com.sec.android.app.shealth",
                     "recordingMethod": "AUTOMATICALLY_RECORDED", "device": {"type": "WATCH"}},
        **value,
    }  # fmt: skip


def test_real_minutes_as_health_connect_records_of_a_session_raise_nothing(users):
    """Health Connect as a watch app writes it: Steps records of 1 to 10 minutes, and one
    Distance record per session (active minutes joined across pauses of up to 5 minutes)."""
    from stream.pipeline import score_results
    from stream.scoring.plausibility import PlausibilityScorer

    rng = np.random.default_rng(9)
    records: list[dict[str, object]] = []
    for user in users:
        steps = np.nan_to_num(user.steps)
        at = 0
        while at < steps.shape[0]:
            end = min(steps.shape[0], at + int(rng.integers(1, 11)))
            if steps[at:end].sum() > 0:
                records.append(_hc_record(user, "Steps", at, end, count=int(steps[at:end].sum())))
            at = end
        active = np.flatnonzero(steps >= 20)
        if active.size:
            breaks = np.flatnonzero(np.diff(active) > 6)
            for first, last in zip(
                np.concatenate(([active[0]], active[breaks + 1])),
                np.concatenate((active[breaks], [active[-1]])),
                strict=True,
            ):
                metres = float(steps[first : last + 1].sum()) * user.stride_m
                span = (int(first), int(last) + 1)
                records.append(_hc_record(user, "Distance", *span, distance={"inMeters": metres}))
    run = score_results(in_event_time(map(parse_obj, records)), PlausibilityScorer())
    assert len(run.verdicts) > 7000
    assert [w.start_ns for w, v in run.verdicts if v.reasons] == []


def _walks_with_speed_glitches(user: realdata.RealUser, seed: int) -> list[dict[str, object]]:
    """The user's real minutes with their distance, and GPS speed samples in half the minutes
    of 60 steps or more (low and lagging, as phones report), one in a hundred a glitch of
    5-20 m/s."""
    rng = np.random.default_rng(seed)
    steps = np.nan_to_num(user.steps)
    minute = 60 * 1_000_000_000
    events: list[dict[str, object]] = []
    for m in np.flatnonzero(steps > 0).tolist():
        start = user.start_ns + m * minute
        events.append(_event(user, "step_count.delta", start, start + minute, int(steps[m])))
        metres = float(steps[m]) * user.stride_m
        events.append(_event(user, "distance.delta", start, start + minute, metres))
        if steps[m] >= 60 and rng.random() < 0.5:
            speed = float(steps[m]) * user.stride_m / 60 * rng.uniform(0.3, 1.2)
            if rng.random() < 0.01:
                speed = rng.uniform(5.0, 20.0)
            at = start + int(rng.uniform(0, 60) * 1e9)
            events.append(_event(user, "speed", at, at, speed))
    return events


def test_real_walks_with_a_rare_gps_speed_glitch_are_no_vehicle(users):
    """One speed sample of 5-20 m/s, interpolated, spans minutes the walk's metres show walked
    (6 `speed_above_human_limit` alerts on the 22 users' month before metres outweighed it)."""
    from stream.pipeline import score_results
    from stream.scoring.plausibility import PlausibilityScorer

    events = [e for u in users for e in _walks_with_speed_glitches(u, seed=11)]
    run = score_results(in_event_time(map(parse_obj, events)), PlausibilityScorer())
    assert len(run.verdicts) > 7000
    assert [w.start_ns for w, v in run.verdicts if v.reasons] == []


@pytest.mark.parametrize("fixed_bounds", [False, True], ids=["growing", "fixed-bounds"])
def test_real_hours_as_health_connect_records_updated_in_place_count_once(users, fixed_bounds):
    """A Health Connect app writing one Steps and one Distance record per hour and updating
    them every 5 minutes (same ``metadata.id``), the record growing or keeping the hour's
    bounds, sent as the Changes API delivers them, in arrival order: the users' real steps,
    counted once, and nothing to alert. Counted as new points (without the ids: what LifeUp
    did until 2026-12-07), the 22 users' growing records summed 6.5 times their steps and
    raised 877 alerts, the fixed ones 13 % of their steps."""
    from stream.pipeline import score_results
    from stream.scoring.detector import load_detector

    chosen = users[:6]
    records: list[dict[str, object]] = []
    for user in chosen:
        steps = np.nan_to_num(user.steps).astype(np.int64)
        for hour in range(steps.shape[0] // 60):
            first = hour * 60
            for end in range(first + 5, first + 61, 5):
                count = int(steps[first:end].sum())
                if count:
                    metres = {"inMeters": count * user.stride_m}
                    for kind, value in (
                        ("Steps", {"count": count}),
                        ("Distance", {"distance": metres}),
                    ):
                        last = first + 60 if fixed_bounds else end
                        records.append(_hc_record(user, kind, first, last, **value))
    run = score_results(map(parse_obj, records), load_detector())
    counted = sum(w.totals.steps for w, _ in run.verdicts if not w.after_close)
    assert counted == sum(int(np.nansum(u.steps)) for u in chosen)
    assert run.outcomes.late == 0
    assert fixed_bounds or run.outcomes.duplicate == 0  # fixed: an unchanged count is the same
    assert [(w.user_id, w.start_ns, v.reasons) for w, v in run.verdicts if v.anomalous] == []


@pytest.mark.parametrize("lag_min", [20, 90])
def test_real_steps_synced_after_their_distance_still_excuse_it(users, lag_min: int):
    """Two sync jobs lagging each other: each minute's distance arrives at its end, its steps
    ``lag_min`` minutes later, in that arrival order. An hour closed on the distance alone
    reads as metres walked without a step: 62 and 1,695 ``distance_without_steps`` alerts on
    these very events before the hour waited for its steps (``stream.buffer.STEPS_WAIT_NS``)."""
    from stream.pipeline import score_results
    from stream.scoring.plausibility import PlausibilityScorer

    minute = 60 * 1_000_000_000
    arrivals: list[tuple[int, int, dict[str, object]]] = []
    for user in users:
        steps = np.nan_to_num(user.steps)
        for m in np.flatnonzero(steps > 0).tolist():
            start = user.start_ns + m * minute
            metres = float(steps[m]) * user.stride_m
            arrivals.append(
                (start + minute, 0, _event(user, "distance.delta", start, start + minute, metres))
            )
            at = start + (1 + lag_min) * minute
            arrivals.append(
                (at, 1, _event(user, "step_count.delta", start, start + minute, int(steps[m])))
            )
    arrivals.sort(key=lambda a: (a[0], a[1]))
    run = score_results((parse_obj(e) for *_, e in arrivals), PlausibilityScorer())
    assert len(run.verdicts) > 7000
    assert run.outcomes.late == 0
    fired = [w.start_ns for w, v in run.verdicts if "distance_without_steps" in v.reasons]
    assert fired == []
