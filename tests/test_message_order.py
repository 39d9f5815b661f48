"""One message carrying several streams of a user (``stream.pipeline.apply``).

A Health Connect list or a REST aggregate response holds a day of steps and a day of distance in
one message. Added stream by stream, the first would push event time to the day's end and close
its hours before the second arrived, so the second's points would count as late (and an hour of
distance without its steps would alert). A message is added whole before event time moves on,
whatever the order of its streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.parsing import in_event_time, parse_obj
from stream.pipeline import Outcomes, apply
from stream.windows import Window

NS = 1_000_000_000
MINUTE = 60 * NS
T0 = 1_772_398_800 * NS  # an hour boundary
STEPS = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
METRES = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"
SPEED = "derived:com.google.speed:com.google.android.gms:merge_speed"
STREAMS = {
    "steps": ("com.google.step_count.delta", STEPS, "intVal"),
    "distance": ("com.google.distance.delta", METRES, "fpVal"),
    "speed": ("com.google.speed", SPEED, "fpVal"),
}


def _dataset(kind: str, points: list[tuple[int, int, float]]) -> dict[str, Any]:
    type_name, source, key = STREAMS[kind]
    return {
        "user_id": "u",
        "dataSourceId": source,
        "point": [
            {
                "dataTypeName": type_name,
                "startTimeNanos": T0 + s * NS,
                "endTimeNanos": T0 + e * NS,
                "value": [{key: int(v) if key == "intVal" else v}],
            }
            for s, e, v in points
        ],
    }


def _run(messages: list[Any]) -> tuple[Outcomes, list[Window]]:
    buffers: dict[str, Any] = {}
    total = Outcomes()
    windows: list[Window] = []
    for message in messages:
        got, ws = apply(parse_obj(message), buffers)
        total.add(got)
        windows.extend(ws)
    for buffer in buffers.values():
        windows.extend(buffer.flush())
    return total, sorted(windows, key=lambda w: (w.start_ns, w.after_close))


def _walk(minutes: int) -> dict[str, list[tuple[int, int, float]]]:
    rng = np.random.default_rng(1)
    steps, metres, speed = [], [], []
    for m in range(minutes):
        if m % 60 < 35:
            n = int(rng.integers(80, 120))
            steps.append((m * 60, m * 60 + 55, float(n)))
            metres.append((m * 60, m * 60 + 55, round(0.75 * n, 2)))
            speed.append((m * 60 + 30, m * 60 + 30, 1.3))
    return {"steps": steps, "distance": metres, "speed": speed}


def test_a_day_of_distance_then_a_day_of_steps_in_one_message_loses_nothing() -> None:
    walk = _walk(6 * 60)
    outcomes, windows = _run(
        [[_dataset("distance", walk["distance"]), _dataset("steps", walk["steps"])]]
    )
    assert outcomes.late == 0
    assert not any(w.after_close for w in windows)
    assert sum(w.totals.steps for w in windows) == sum(int(v) for *_, v in walk["steps"])
    assert all(w.totals.steps > 0 and w.totals.distance_m > 0 for w in windows)


@settings(max_examples=40, deadline=None)
@given(
    order=st.permutations(["steps", "distance", "speed"]),
    hours=st.integers(1, 8),
)
def test_the_order_of_a_messages_streams_never_changes_its_windows(
    order: list[str], hours: int
) -> None:
    """Whatever the order of the streams in one message, the same windows as the streams sent
    one message each, interleaved minute by minute (a live feed), and no point late."""
    walk = _walk(hours * 60)
    _, live = _run(
        [
            _dataset(kind, [p])
            for i in range(len(walk["steps"]))
            for kind in order
            for p in [walk[kind][i]]
        ]
    )
    outcomes, windows = _run([[_dataset(kind, walk[kind]) for kind in order]])
    assert outcomes.late == 0
    assert [(w.start_ns, w.totals) for w in windows] == [(w.start_ns, w.totals) for w in live]
    for got, want in zip(windows, live, strict=True):
        assert np.array_equal(got.values, want.values) and np.array_equal(got.mask, want.mask)


@settings(max_examples=60, deadline=None)
@given(
    streams=st.lists(
        st.lists(st.tuples(st.integers(0, 6 * 3600), st.integers(0, 600)), min_size=1, max_size=30),
        min_size=2,
        max_size=3,
    )
)
def test_any_streams_of_a_message_arrive_at_once_none_late(
    streams: list[list[tuple[int, int]]],
) -> None:
    """Any points in two or three streams of one message, in any order within each stream:
    none is late, and the windows equal those of the same points replayed in event-time order
    (``in_event_time``, as ``lifeup score`` does)."""
    kinds = ["steps", "distance", "speed"]
    message = [
        _dataset(kinds[i], [(s, s if kinds[i] == "speed" else s + d, 10.0) for s, d in points])
        for i, points in enumerate(streams)
    ]
    outcomes, windows = _run([message])
    assert outcomes.late == 0
    replayed: dict[str, Any] = {}
    want: list[Window] = []
    for result in in_event_time([parse_obj(message)]):
        want.extend(apply(result, replayed)[1])
    for buffer in replayed.values():
        want.extend(buffer.flush())
    want.sort(key=lambda w: w.start_ns)
    # metres and speeds are float sums, added in another order: equal to rounding
    assert [(w.start_ns, w.totals.steps, w.totals.speed_samples) for w in windows] == [
        (w.start_ns, w.totals.steps, w.totals.speed_samples) for w in want
    ]
    for got, ref in zip(windows, want, strict=True):
        assert got.totals.distance_m == pytest.approx(ref.totals.distance_m, rel=1e-12)
        assert np.array_equal(got.values[0], ref.values[0]) and np.array_equal(got.mask, ref.mask)
        assert np.allclose(got.values[1:], ref.values[1:], rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("order", [["steps", "distance"], ["distance", "steps"]])
def test_two_day_long_points_of_one_message_ending_close_together_lose_nothing(
    order: list[str],
) -> None:
    """A Health Connect list of one day's Steps and Distance records: the distance ends 10
    minutes before the steps, within the lateness. Event time was held back only when a
    stream's end lay a lateness behind another's, so added one by one the first record closed
    the day's hours and most of the second was dropped, counted neither late nor anywhere."""
    points = {
        "steps": [(3 * 3600, 17 * 3600, 6000.0)],
        "distance": [(3 * 3600 + 300, 16 * 3600 + 50 * 60, 4000.0)],
    }
    outcomes, windows = _run([[_dataset(kind, points[kind]) for kind in order]])
    assert outcomes.accepted == 2 and outcomes.late == 0
    assert sum(w.totals.steps for w in windows) == 6000
    assert sum(w.totals.distance_m for w in windows) == pytest.approx(4000.0)
    assert not any(w.after_close for w in windows)
