"""Manual entries typed in after their hours closed (``stream.late``).

A walk typed into Google Fit the next morning arrives hours after its hours closed: the buffer
drops it as late, so without a rule of its own it would pass unseen. Each closed hour it claims
is emitted again holding only its manual points, and ``manual_entry`` alerts it, once per hour,
in ``lifeup score`` (``stream.scoring.retro.first_verdicts``) and in the worker (its recent
alerts tell whether the hour was alerted already). The processor runs for real over in-memory
stores, as in ``test_worker_checkpoints``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts import alerts_for
from stream.parsing import parse_obj
from stream.pipeline import Outcomes, apply, score_results
from stream.scoring.detector import load_detector
from stream.windows import Window
from stream.worker.inmemory import InMemoryStore, RecordingSink, build_processor, event_for
from stream.worker.processor import IDLE_TICK, Limits
from tests.test_worker_retro_alerts import _run

NS = 1_000_000_000
HOUR = 3600 * NS
MINUTE = 60 * NS
T0 = 1_772_398_800 * NS  # an hour boundary
USER = "typist"
USER_INPUT = "raw:com.google.distance.delta:com.google.android.apps.fitness:user_input"
GPS = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"
STEPS_INPUT = "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input"


def _walks(hours: int = 6) -> list[dict[str, Any]]:
    """A phone's own steps, a minute each: half an hour's walk at the start of every hour."""
    rng = np.random.default_rng(3)
    return [
        {
            "user_id": USER,
            "dataTypeName": "com.google.step_count.delta",
            "startTimeNanos": T0 + m * MINUTE,
            "endTimeNanos": T0 + m * MINUTE + 50 * NS,
            "value": [{"intVal": int(rng.integers(90, 125)) if m % 60 < 30 else 0}],
        }
        for m in range(hours * 60)
    ]


def _distance(start_ns: int, end_ns: int, metres: float, source: str) -> dict[str, Any]:
    return {
        "user_id": USER,
        "dataTypeName": "com.google.distance.delta",
        "startTimeNanos": start_ns,
        "endTimeNanos": end_ns,
        "value": [{"fpVal": metres}],
        "originDataSourceId": source,
    }


def _hour(h: int) -> str:
    return f"2026-03-01T{21 + h:02d}:00:00Z" if 21 + h < 24 else f"2026-03-02T{h - 3:02d}:00:00Z"


def _offline(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``lifeup score``'s alerts for these events in this order: window start -> reasons."""
    detector = load_detector()
    run = score_results((parse_obj(e) for e in events), detector, detector.grid)
    alerts = alerts_for(run.verdicts, detector.version)
    assert len({a.alert_id for a in alerts}) == len(alerts), "one alert per window"
    return {a.window_start: list(a.reasons) for a in alerts}


def _fed(messages: list[Any]) -> dict[str, Any]:
    """The users' buffers after ``messages``, in order (through the pipeline, as the worker)."""
    buffers: dict[str, Any] = {}
    for message in messages:
        apply(parse_obj(message), buffers)
    return buffers


def _arrives_after(walks: list[dict[str, Any]], event: Any) -> tuple[Outcomes, list[Window]]:
    """What ``event`` yields, sent after ``walks`` (through the pipeline, as the worker)."""
    return apply(parse_obj(event), _fed(walks))


def test_the_grid_of_these_cases() -> None:
    from stream.alerts import ns_to_rfc3339

    assert ns_to_rfc3339(T0) == _hour(0) and ns_to_rfc3339(T0 + 4 * HOUR) == _hour(4)


def test_a_walk_typed_in_after_its_hours_closed_alerts_them() -> None:
    typed = _distance(T0 + HOUR + 30 * MINUTE, T0 + 3 * HOUR, 5_000.0, USER_INPUT)
    outcomes, windows = _arrives_after(_walks(), typed)
    assert outcomes.late == 1  # the grid still counts it late: its bins are gone
    assert [(w.start_ns, w.manual_points, w.after_close) for w in windows] == [
        (T0 + HOUR, 1, True),
        (T0 + 2 * HOUR, 1, True),
    ]
    alerted = _offline([*_walks(), typed])
    assert alerted[_hour(1)] == ["manual_entry"] and alerted[_hour(2)] == ["manual_entry"]
    assert _offline(_walks()).keys() == alerted.keys() - {_hour(1), _hour(2)}


def test_late_points_not_typed_in_stay_late_and_silent() -> None:
    """A GPS track synced late: judged (``stream.late``), but distance without steps is not a
    finding of a late hour (its steps may have arrived on time)."""
    synced = _distance(T0 + HOUR + 30 * MINUTE, T0 + 3 * HOUR, 5_000.0, GPS)
    outcomes, windows = _arrives_after(_walks(), synced)
    assert outcomes.late == 1 and all(w.after_close for w in windows)
    assert not any(v.anomalous for v in load_detector().score(windows))
    assert _offline([*_walks(), synced]) == _offline(_walks())


def test_an_entry_reaching_back_from_an_open_hour_alerts_the_closed_ones_too() -> None:
    """Typed in at 05:10 for 03:00-05:10: 03:00 has closed (event time is at 05:10), 04:00 and
    05:00 are open and hold its tail as usual."""
    walks = [e for e in _walks() if e["endTimeNanos"] <= T0 + 5 * HOUR + 10 * MINUTE]
    typed = _distance(T0 + 3 * HOUR, T0 + 5 * HOUR + 10 * MINUTE, 9_000.0, USER_INPUT)
    _, windows = _arrives_after(walks, typed)
    assert [w.start_ns for w in windows] == [T0 + 3 * HOUR]
    alerted = _offline([*walks, typed])
    assert all("manual_entry" in alerted[_hour(h)] for h in (3, 4, 5))


def test_an_hour_alerted_already_keeps_its_alert() -> None:
    """A closed hour that alerted for its own data: the late entry adds no second alert."""
    walks = _walks()
    for e in walks[60:70]:  # 01:00-01:10 of the grid: 320 steps a minute, no human's
        e["value"] = [{"intVal": 320}]
    typed = _distance(T0 + HOUR, T0 + HOUR + 20 * MINUTE, 3_000.0, USER_INPUT)
    assert _offline(walks)[_hour(1)] == ["cadence_above_human_limit"]
    alerted = _offline([*walks, typed])
    assert alerted[_hour(1)] == ["cadence_above_human_limit"]
    sent = [a["reasons"] for a in _worker_alerts([*walks, typed]) if a["window_start"] == _hour(1)]
    assert sent == [["cadence_above_human_limit"]]


def _worker_alerts(messages: list[Any]) -> list[dict[str, Any]]:
    """What the worker's processor sends for ``messages`` (of any shape, each keyed by the one
    user: a list has no ``user_id`` of its own) in this order, then an idle tick (its idle
    flush scores the last open hours, as ``lifeup score`` does at the end)."""
    states, recent, sink = InMemoryStore(), InMemoryStore(), RecordingSink()
    limits = Limits(checkpoint_s=60.0, quiet_s=60.0, idle_flush_s=0.0)
    processor = build_processor(limits, states, recent, sink)
    events = [event_for(USER, orjson.dumps(m), offset) for offset, m in enumerate(messages)]
    tick = event_for(USER, IDLE_TICK, topic="ticks", keyed=False)
    asyncio.run(_run(processor, [*events, tick]))
    return [orjson.loads(a) for a in sink.alerts]


def test_the_worker_alerts_a_late_entry_once_as_lifeup_score_does() -> None:
    typed = _distance(T0 + HOUR + 30 * MINUTE, T0 + 3 * HOUR, 5_000.0, USER_INPUT)
    events = [*_walks(), typed, typed]  # sent twice: a retry
    sent = _worker_alerts(events)
    late = [a for a in sent if a["reasons"] == ["manual_entry"]]
    assert sorted(a["window_start"] for a in late) == [_hour(1), _hour(2)]
    offline = _offline(events)
    assert {a["window_start"]: a["reasons"] for a in sent} == offline


def test_a_dataset_of_late_entries_counts_each_point_in_its_hours() -> None:
    """Two entries in one REST Dataset (the batch path): 00:40-01:20 and 01:30-01:50."""
    entries = [
        (T0 + 40 * MINUTE, T0 + HOUR + 20 * MINUTE, 4_000.0),
        (T0 + HOUR + 30 * MINUTE, T0 + HOUR + 50 * MINUTE, 2_000.0),
    ]
    dataset = {
        "user_id": USER,
        "dataSourceId": USER_INPUT,
        "point": [
            {
                "dataTypeName": "com.google.distance.delta",
                "startTimeNanos": s,
                "endTimeNanos": e,
                "value": [{"fpVal": m}],
                "originDataSourceId": "user_input",
            }
            for s, e, m in entries
        ],
    }
    outcomes, windows = _arrives_after(_walks(), dataset)
    assert outcomes.late == 2
    assert [(w.start_ns, w.manual_points) for w in windows] == [(T0, 1), (T0 + HOUR, 2)]


@settings(max_examples=60, deadline=None)
@given(
    start_min=st.integers(0, 5 * 60),
    minutes=st.integers(1, 4 * 60),
    sent_after=st.integers(0, 6 * 60),
    distance=st.booleans(),
)
def test_every_hour_an_entry_claims_is_alerted_once_whatever_it_arrives_after(
    start_min: int, minutes: int, sent_after: int, distance: bool
) -> None:
    """A manual entry anywhere in a 6-hour walking day, sent after any number of the day's
    minutes: each hour it overlaps alerts, with manual_entry unless the hour alerted already for
    its own data, and no hour alerts twice (``_offline`` asserts one alert per window); the
    worker's processor, fed the same order, sends exactly those alerts."""
    start, end = T0 + start_min * MINUTE, T0 + (start_min + minutes) * MINUTE
    if distance:
        typed = _distance(start, end, 40.0 * minutes, USER_INPUT)
    else:
        typed = {
            "user_id": USER,
            "dataTypeName": "com.google.step_count.delta",
            "startTimeNanos": start,
            "endTimeNanos": end,
            "value": [{"intVal": 100 * minutes}],
            "originDataSourceId": STEPS_INPUT,
        }
    walks = _walks()
    alone = _offline(walks)
    events = [*walks[:sent_after], typed, *walks[sent_after:]]
    alerted = _offline(events)
    claimed = range(start_min // 60, (start_min + minutes - 1) // 60 + 1)
    for h in claimed:
        assert _hour(h) in alerted
        if _hour(h) not in alone:
            assert "manual_entry" in alerted[_hour(h)]
    sent = _worker_alerts(events)  # the worker, in the same order, says the same
    assert {a["window_start"]: a["reasons"] for a in sent} == alerted
    assert len({a["alert_id"] for a in sent}) == len(sent)


@settings(max_examples=60, deadline=None)
@given(
    hop=st.sampled_from([10, 15, 20, 30, 60]),
    start_min=st.integers(0, 6 * 60),
    minutes=st.integers(0, 3 * 60),
)
def test_closed_windows_are_every_closed_window_a_point_overlaps(
    hop: int, start_min: int, minutes: int
) -> None:
    """``UserBuffer.closed_windows`` on any hop of an hour-long window, against brute force: the
    windows of the hop grid that share a minute with the point and closed before it arrived
    (their end plus the lateness at or before the watermark, the walks' last end)."""
    from stream.buffer import UserBuffer
    from stream.grid import GridSpec
    from stream.points import Channel, PointBatch

    grid = GridSpec(window_bins=60, hop_bins=hop)
    buffer = UserBuffer(USER, grid)
    walks = _walks()
    for walk in walks:
        for batch in parse_obj(walk).batches:
            buffer.add(batch, 1)
        buffer.pop_complete()
    watermark = max(int(w["endTimeNanos"]) for w in walks)
    start = T0 + start_min * MINUTE + 7 * NS
    end = start + minutes * MINUTE
    point = PointBatch(
        USER, Channel.DISTANCE, USER_INPUT, np.array([start]), np.array([end]), np.array([1.0])
    )
    first, last = start // MINUTE, max(end - 1, start) // MINUTE
    want = {
        w * MINUTE: 1
        for w in range(first - first % hop - 60, last + 1, hop)
        if w + 60 > first and (w + 60) * MINUTE + grid.lateness_ns <= watermark
    }
    assert buffer.closed_windows(point) == want
