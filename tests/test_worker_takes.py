"""The messages of one take are not late to each other (``Processor.handle_take``,
``stream.pipeline.Take``).

A client that reads Google Fit's REST API gets one ``Dataset`` per data source and may publish
each as a message: a sync's steps, then its distance. Added one by one, the steps moved event
time a sync ahead and the distance of the hours that closed arrived late, judged without the
steps beside it (``stream.late``): a ride logged as walking lost its stride. The worker's
messages come in takes (what arrived within 20 ms), and a sync's messages arrive together. The
processor runs for real over in-memory stores.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID
from stream.parsing import parse_obj
from stream.pipeline import Take, apply, reaching_back, release
from stream.worker.inmemory import InMemoryStore, RecordingSink, build_processor, event_for
from stream.worker.processor import IDLE_TICK, Limits, Processor
from tests.events import step_point
from tests.test_late_manual import MINUTE, NS, T0, USER, _hour, _offline
from tests.test_late_steps import GPS, PHONE, _dataset

SYNC_MIN = 100  # a phone syncing every 100 minutes
RIDE = range(110, 150)  # minutes of a bus ride logged as walking


def _minutes(first: int, last: int) -> list[tuple[int, int, int, float]]:
    """(start, end, steps, metres) a minute: walks at the start of each hour, the ride."""
    rng = np.random.default_rng(first)
    out = []
    for m in range(first, last):
        length = int(rng.integers(40, 59)) * NS
        if m in RIDE:  # a bus's bumps counted as steps, GPS at 200 m a minute
            bumps = int(rng.integers(30, 90))
            out.append((T0 + m * MINUTE, T0 + m * MINUTE + length, bumps, 200.0))
        elif m % 60 < 25:  # a walk: 70-125 steps of 0.7 m a minute
            steps = int(rng.integers(70, 125))
            out.append((T0 + m * MINUTE, T0 + m * MINUTE + length, steps, 0.7 * steps))
    return out


def _syncs(count: int = 4) -> list[list[dict[str, Any]]]:
    """Each sync as the REST API gives it: a Dataset per stream, steps first."""
    out = []
    for k in range(count):
        points = _minutes(k * SYNC_MIN, (k + 1) * SYNC_MIN)
        steps = _dataset(PHONE, [(s, e, n) for s, e, n, _ in points])
        metres = _dataset(GPS, [(s, e, d) for s, e, _, d in points])
        out.append([steps, metres])
    return out


def _sent(syncs: list[list[dict[str, Any]]], together: bool) -> tuple[list[dict[str, Any]], int]:
    """Alerts the processor sends and points it counts late, each sync's messages in one take
    (``together``) or each message a take of its own; then an idle tick flushes the user."""
    sizes = [len(sync) for sync in syncs] if together else [1] * sum(map(len, syncs))
    return _sent_in_takes([m for sync in syncs for m in sync], sizes)


def _sent_in_takes(
    messages: list[dict[str, Any]], sizes: list[int]
) -> tuple[list[dict[str, Any]], int]:
    """``_sent`` of ``messages`` in takes of ``sizes`` (the last take holds the rest)."""
    states, recent, sink = InMemoryStore(), InMemoryStore(), RecordingSink()
    processor = build_processor(
        Limits(checkpoint_s=60.0, quiet_s=60.0, idle_flush_s=0.0), states, recent, sink
    )
    events = [event_for(m["user_id"], orjson.dumps(m), at) for at, m in enumerate(messages)]
    takes: list[list[Any]] = []
    at = 0
    for size in sizes:
        takes.append(events[at : at + size])
        at += size
    takes[-1] += events[at:]
    users = sorted({m["user_id"] for m in messages})
    takes.append([event_for(u, IDLE_TICK, topic="ticks", keyed=False) for u in users])
    asyncio.run(_drive(processor, takes))
    late = int(processor.metrics.events.labels("late")._value.get())
    alerts = [orjson.loads(a) for a in sink.alerts]
    return [{k: v for k, v in a.items() if k != "detected_at"} for a in alerts], late


async def _drive(processor: Processor, takes: list[list[Any]]) -> None:
    def fail(_: Any) -> None:
        raise AssertionError("a message raised")

    for events in takes:
        processor.handle_take(events, fail)
        if processor.due() == "score":
            processor.score()
    await processor.checkpoint(lambda _: None)


def test_a_sync_sent_per_stream_in_one_take_is_judged_whole() -> None:
    alerts, late = _sent(_syncs(), together=True)
    assert late == 0
    by_hour = {a["window_start"]: a["reasons"] for a in alerts}
    assert set(by_hour) == {_hour(1), _hour(2)}  # the ride's hours, 01:50-02:30
    assert all("stride_implausible" in reasons for reasons in by_hour.values())
    # what ``lifeup score`` says of the same events in time order
    events = [e for sync in _syncs() for message in sync for e in _points_of(message)]
    assert by_hour == _offline(sorted(events, key=lambda e: e["startTimeNanos"]))


def test_the_same_messages_in_takes_of_their_own_come_late() -> None:
    """The case above one message per take (a client pausing between its streams longer than
    a take waits): the distance of closed hours is late, the stride of the ride unseen on
    time. The first test fails without the take's held event time."""
    alerts, late = _sent(_syncs(), together=False)
    assert late > 0
    on_time = [a for a in alerts if "stride_implausible" in a["reasons"]]
    assert len(on_time) < 2


def test_a_backlog_of_syncs_in_one_take_comes_out_whole_at_its_end() -> None:
    """Ten syncs of one user in one take, streams each a message: nothing is late, no window
    closes before the take ends, then every hour does, in order, and the ring is back to the
    open hours (the take's own span is what it held meanwhile, as one message's is)."""
    buffers: dict[str, UserBuffer] = {}
    take = Take({USER})
    late = 0
    for sync in _syncs(10):
        for message in sync:
            outcomes, windows = apply(parse_obj(message), buffers, take=take)
            assert windows == []
            late += outcomes.late
    assert late == 0
    held = buffers[USER].held_bins
    released = release(take.ends, buffers)
    assert [w.start_ns for w in released] == sorted({w.start_ns for w in released})
    assert len(released) >= 15  # the hours of 1,000 minutes that hold a point, but the last
    assert held >= 10 * SYNC_MIN - 60 > buffers[USER].held_bins


def _points_of(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    """A Dataset's points as single-point events."""
    return [
        {"user_id": USER, "originDataSourceId": dataset["dataSourceId"], **p}
        for p in dataset["point"]
    ]


def _in_order() -> list[dict[str, Any]]:
    """The same points as single-point events in time order, stream after stream each minute."""
    events = [e for sync in _syncs() for message in sync for e in _points_of(message)]
    return sorted(events, key=lambda e: (e["startTimeNanos"], "distance" in e["dataTypeName"]))


@cache
def _simulated() -> list[dict[str, Any]]:
    """Simulated phones' syncs, a Dataset per stream (``test_worker_group``'s), whose windows
    depend on the look-ahead each has when it closes: holding their event time for a take
    would change them. Of the users whose messages are all in order (one sends a manual entry
    at its end, which reaches back 83 minutes: ``reaching_back`` names it)."""
    from model_export.simulate import simulate

    events = simulate(4, 1, seed=24).events
    assert all(isinstance(e, dict) for e in events)  # Datasets, each with its user
    out = [e for e in events if isinstance(e, dict)]
    late = reaching_back([parse_obj(e) for e in out], DEFAULT_GRID)
    assert len(late) == 1
    kept = [e for e in out if e["user_id"] not in late]
    assert len({e["user_id"] for e in kept}) == 3
    return kept


def test_reaching_back_names_the_users_whose_takes_need_holding() -> None:
    stream_in_order = [parse_obj(e) for e in _in_order()]
    assert reaching_back(stream_in_order, DEFAULT_GRID) == set()
    per_stream = [parse_obj(m) for sync in _syncs() for m in sync]
    assert reaching_back(per_stream, DEFAULT_GRID) == {USER}
    assert reaching_back(per_stream[:1], DEFAULT_GRID) == set()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=1, max_size=30))
def test_a_stream_in_order_gives_the_same_alerts_however_it_is_cut_into_takes(
    sizes: list[int],
) -> None:
    """Nobody's event time is held for streams in order: the alerts are those of one message
    per take, which are ``lifeup score``'s (``test_worker_stream``). Holding everyone's fails
    this (the look-ahead of a window closing at a take's end)."""
    assert _sent_in_takes(_simulated(), sizes) == _one_by_one()


@cache
def _one_by_one() -> tuple[list[dict[str, Any]], int]:
    events = _simulated()
    return _sent_in_takes(events, [1] * len(events))


@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.integers(0, 200), st.sampled_from(["a", "b"])),
        max_size=12,
    )
)
def test_reaching_back_is_closes_at_of_each_start_against_the_ends_before(
    spans: list[tuple[int, int, str]],
) -> None:
    messages = [
        parse_obj({**step_point(T0 + s * MINUTE, T0 + (s + d) * MINUTE, 10), "user_id": user})
        for s, d, user in spans
    ]
    expected = set()
    ends: dict[str, int] = {}
    for s, d, user in spans:
        start, end = T0 + s * MINUTE, T0 + (s + d) * MINUTE
        if user in ends and DEFAULT_GRID.closes_at(start) <= ends[user]:
            expected.add(user)
        ends[user] = max(ends.get(user, end), end)
    assert reaching_back(messages, DEFAULT_GRID) == expected


def test_only_the_takes_holding_users_are_held_in_a_message_of_several() -> None:
    """A list of two users' streams: the held user's event time waits for the take's end, the
    other's moves on as it would without a take (so their windows stay ``lifeup score``'s)."""
    buffers: dict[str, UserBuffer] = {}
    take = Take({USER})
    sync = _syncs(1)[0]
    other = [{**m, "user_id": "other"} for m in sync]
    apply(parse_obj([*sync, *other]), buffers, take=take)
    end = max(int(p["endTimeNanos"]) for p in sync[0]["point"])
    assert buffers[USER].watermark_ns is None  # nothing of it moved event time yet
    assert buffers["other"].watermark_ns == end
    assert take.ends == {USER: (end, end)}
    release(take.ends, buffers)
    assert buffers[USER].watermark_ns == end and take.ends == {}
