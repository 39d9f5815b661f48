"""Points that last minutes: coarse data is not a motor, nor a route walked without a step.

Steps (``stream.buffer.LONG_POINT_NS``):

A REST aggregate with hourly buckets, a Health Connect record of an hour, a watch app's
15-minute intervals: honest clients send steps this way, and the buffer spreads each point evenly
over its minutes. Those minutes then look machine-steady, and before this rule every active hour
of such a user alerted ``cadence_without_variation`` (all four shapes below did). The minutes of
a long point keep their count (totals, cadence limits) but are not measured one by one: their
steps mask is False and the rhythm rules skip them. What a long point says on its own, an
average cadence no one keeps, is still judged.

Distance (``stream.buffer.LONG_DISTANCE_POINT_NS``): an hour's or a day's metres in one point
(Fitabase's own daily distance, a REST bucket, a Health Connect record) spread over its minutes
put a walk's metres in the quiet minutes around it and a day's total into the night: on the 22
Fitabase users' real minutes, 348 alerts with hourly distance and 194 with daily distance, all
honest. Such metres are counted, not placed: the distance mask is False there and the distance
rules read only metres measured minute by minute.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stream.buffer import LONG_DISTANCE_POINT_NS, UserBuffer
from stream.parsing import iter_results
from stream.pipeline import apply
from stream.points import Channel, PointBatch
from tests.test_late_manual import _offline

TAKEOUT = Path(__file__).resolve().parents[2] / "shared" / "data" / "google-fit-takeout"

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
T0 = 1_772_355_600 * NS  # 2026-03-01T09:00Z
USER = "coarse-user"
STEPS_PER_HOUR = (3_200, 5_600, 900, 4_100, 6_200, 2_500)  # a day of honest walking
GARMIN = "raw:com.google.step_count.delta:com.garmin.android.apps.connectmobile:"
AGGREGATED = "derived:com.google.step_count.delta:com.google.android.gms:aggregated"
PHONE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
METRES = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"
STEADY = {"cadence_without_variation", "cadence_repeats_exactly"}


def _point(start: int, end: int, steps: int) -> dict[str, Any]:
    return {
        "startTimeNanos": start,
        "endTimeNanos": end,
        "dataTypeName": "com.google.step_count.delta",
        "value": [{"intVal": steps}],
    }


def _aggregate_response() -> dict[str, Any]:
    """A REST aggregate answer with ``bucketByTime`` of one hour, as reward apps fetch it."""
    buckets = [
        {
            "startTimeMillis": str((T0 + h * HOUR) // 1_000_000),
            "endTimeMillis": str((T0 + (h + 1) * HOUR) // 1_000_000),
            "dataset": [
                {
                    "dataSourceId": AGGREGATED,
                    "point": [_point(T0 + h * HOUR, T0 + (h + 1) * HOUR, steps)],
                }
            ],
        }
        for h, steps in enumerate(STEPS_PER_HOUR)
    ]
    return {"user_id": USER, "bucket": buckets}


def _health_connect_hours() -> dict[str, Any]:
    def utc(ns: int) -> str:
        return dt.datetime.fromtimestamp(ns / NS, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    records = [
        {
            "recordType": "Steps",
            "startTime": utc(T0 + h * HOUR),
            "endTime": utc(T0 + (h + 1) * HOUR),
            "count": steps,
            "metadata": {"dataOrigin": "com.sec.android.app.shealth"},
        }
        for h, steps in enumerate(STEPS_PER_HOUR)
    ]
    return {"user_id": USER, "records": records}


def _quarter_hours(seed: int = 1) -> dict[str, Any]:
    """A watch app's 15-minute intervals, each quarter of the hour ±30 %."""
    rng = np.random.default_rng(seed)
    points = [
        _point(
            T0 + h * HOUR + q * 15 * MINUTE,
            T0 + h * HOUR + (q + 1) * 15 * MINUTE,
            int(steps / 4 * rng.uniform(0.7, 1.3)),
        )
        for h, steps in enumerate(STEPS_PER_HOUR)
        for q in range(4)
    ]
    return {"user_id": USER, "dataSourceId": GARMIN, "point": points}


def _batch(
    source: str, points: list[tuple[int, int, float]], channel: Channel = Channel.STEPS
) -> PointBatch:
    start, end, value = (np.array(column) for column in zip(*points, strict=True))
    return PointBatch(USER, channel, source, start, end, value.astype(np.float64))


def test_honest_coarse_steps_do_not_alert() -> None:
    for shape in (_aggregate_response(), _health_connect_hours(), _quarter_hours()):
        assert _offline([shape]) == {}, shape.get("dataSourceId") or list(shape)[1]


def test_a_long_point_keeps_its_count_but_not_a_rhythm() -> None:
    buffer = UserBuffer(USER)
    buffer.add(_batch(GARMIN, [(T0, T0 + HOUR, 6_000.0)]), rank=1)
    (window,) = buffer.flush()
    assert window.totals.steps == 6_000
    assert window.values[0].sum() == 6_000 and (window.values[0] == 100).all()
    assert not window.mask[0].any()  # covered, but no minute was measured on its own


def test_fine_and_long_points_of_one_source_add_up_and_the_fine_minutes_are_measured() -> None:
    """The long point's twin entry ranks with its source: a shared bin sums both (no shadowing),
    and is measured, in either arrival order."""
    fine = (T0 + 20 * MINUTE + 10 * NS, T0 + 20 * MINUTE + 50 * NS, 40.0)
    long = (T0, T0 + 30 * MINUTE, 3_000.0)
    for order in ([fine, long], [long, fine]):
        buffer = UserBuffer(USER)
        for point in order:
            buffer.add(_batch(GARMIN, [point]), rank=1)
        (window,) = buffer.flush()
        assert window.totals.steps == 3_040
        assert window.values[0, 20] == 140
        measured = np.flatnonzero(window.mask[0])
        assert measured.tolist() == [20]


def test_a_finer_source_over_a_long_point_is_measured() -> None:
    buffer = UserBuffer(USER)
    buffer.add(_batch(GARMIN, [(T0, T0 + HOUR, 6_000.0)]), rank=1)
    phone = [(T0 + m * MINUTE, T0 + (m + 1) * MINUTE, 100.0 + m % 7) for m in range(10)]
    buffer.add(_batch(PHONE, phone), rank=5)
    (window,) = buffer.flush()
    assert window.mask[0, :10].all() and not window.mask[0, 10:].any()
    assert window.values[0, :10].tolist() == [100.0 + m % 7 for m in range(10)]


def test_a_motor_in_minute_points_still_alerts() -> None:
    """The same hours from a source whose one-minute points repeat one count: measured
    minutes, each the same, are the shaker the rule is for."""
    shaker = {
        "user_id": USER,
        "dataSourceId": GARMIN,
        "point": [_point(T0 + m * MINUTE, T0 + (m + 1) * MINUTE, 100) for m in range(90)],
    }
    reasons = _offline([shaker])
    assert reasons and all(STEADY & set(found) for found in reasons.values())


def test_a_long_point_at_a_cadence_no_one_keeps_still_alerts() -> None:
    impossible = {
        "user_id": USER,
        "dataSourceId": GARMIN,
        "point": [_point(T0, T0 + 40 * MINUTE, 40 * 250)],  # 250 steps/min for 40 minutes
    }
    reasons = _offline([impossible])
    assert reasons and all("cadence_above_human_limit" in r for r in reasons.values())


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="no ../shared/data")
def test_a_phone_s_own_steps_stay_measured() -> None:
    """The Takeout sample's step points (three sources, 4 s to 170 s each) are all measured."""
    buffers: dict[str, UserBuffer] = {}
    windows = []
    for result in iter_results([str(TAKEOUT)], user="takeout"):
        windows += apply(result, buffers)[1]
    windows += buffers["takeout"].flush()
    steps = [w for w in windows if w.values[0].any()]
    assert steps
    for window in steps:
        assert window.mask[0][window.values[0] > 0].all()


# --- distance -----------------------------------------------------------------------------


def test_a_long_distance_point_keeps_its_metres_but_no_minute_of_them() -> None:
    for minutes, measured in ((LONG_DISTANCE_POINT_NS // MINUTE - 1, True), (60, False)):
        buffer = UserBuffer(USER)
        buffer.add(_batch(METRES, [(T0, T0 + minutes * MINUTE, 2_400.0)], Channel.DISTANCE), 1)
        (window,) = buffer.flush()
        assert window.totals.distance_m == pytest.approx(2_400.0)
        assert window.values[1, :minutes].sum() == pytest.approx(2_400.0)
        assert window.mask[1, :minutes].all() == measured
        assert not window.mask[1].any() or measured


def test_fine_and_long_distance_of_one_source_add_up_and_the_fine_minute_is_measured() -> None:
    fine = (T0 + 20 * MINUTE, T0 + 21 * MINUTE, 70.0)
    long = (T0, T0 + HOUR, 1_200.0)
    for order in ([fine, long], [long, fine]):
        buffer = UserBuffer(USER)
        for point in order:
            buffer.add(_batch(METRES, [point], Channel.DISTANCE), rank=1)
        (window,) = buffer.flush()
        assert window.values[1, 20] == pytest.approx(90.0)
        assert np.flatnonzero(window.mask[1]).tolist() == [20]


def _walk_with_hourly_metres(metres_per_hour: float) -> list[dict[str, Any]]:
    """A half-hour walk at 100 steps a minute in minute points, and the hour's distance in one
    point (the Fitabase users' stride is ~0.7 m), then a quiet hour with a little distance."""
    walk = [
        _point(T0 + (10 + m) * MINUTE, T0 + (11 + m) * MINUTE, 100 + (m * 7) % 11)
        for m in range(30)
    ]
    metres = [
        {
            "startTimeNanos": T0 + h * HOUR,
            "endTimeNanos": T0 + (h + 1) * HOUR,
            "dataTypeName": "com.google.distance.delta",
            "value": [{"fpVal": value}],
        }
        for h, value in enumerate((metres_per_hour, 40.0))
    ]
    return [
        {"user_id": USER, "dataSourceId": PHONE, "point": walk},
        {"user_id": USER, "dataSourceId": METRES, "point": metres},
    ]


def test_an_hours_distance_beside_minute_steps_is_no_route_walked_without_steps() -> None:
    """Spread over the hour, the walk's 2,100 m put ~1 km in the 30 quiet minutes around it:
    ``distance_without_steps`` before the long distance points."""
    assert _offline(_walk_with_hourly_metres(2_100.0)) == {}


def test_an_hours_distance_the_steps_could_not_cover_is_not_judged() -> None:
    """The limit of the rule, stated: 12 km in the hour of a 3,000-step walk may be a car ride
    after it, a bike ride or a spoofed route; an hour's total cannot tell, so no minute rule
    judges it (the steps themselves still are)."""
    assert _offline(_walk_with_hourly_metres(12_000.0)) == {}
