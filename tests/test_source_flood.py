"""A user's source table is bounded (``stream.source_table.MAX_SOURCE_ENTRIES``): once it is
full, the points of a further source are refused visibly, ``rejected`` with code
``too_many_sources`` and a dead-letter record, where they used to pass as ``duplicate``. No
honest user comes near the bound; a table filled with made-up sources would otherwise leave
LifeUp silently blind to the next source, a cheating app's included (README, "Limits that
protect the worker")."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from stream.buffer import UserBuffer
from stream.inspect import inspect_results
from stream.parsing import parse_obj
from stream.pipeline import Outcomes, apply
from stream.source_table import MAX_SOURCE_ENTRIES
from stream.worker.inmemory import InMemoryStore, RecordingSink, build_processor, event_for
from stream.worker.processor import Limits
from tests.events import ESTIMATED_STEPS, MINUTE, T0, step_minute
from tests.test_worker_retro_alerts import _run


def _steps(source: str, minute: int, count: int = 90) -> dict[str, Any]:
    return step_minute(minute, count, source)


# a made-up source a minute, one step each
FLOOD = [
    _steps(f"raw:com.google.step_count.delta:com.example:made-up-{i}", i, 1)
    for i in range(MAX_SOURCE_ENTRIES)
]
PHONE_SYNC = {
    "user_id": "u",
    "dataSourceId": ESTIMATED_STEPS,
    "point": [_steps(ESTIMATED_STEPS, m) for m in range(300, 305)],
}


def _apply_all(messages: list[dict[str, Any]]) -> tuple[Outcomes, UserBuffer]:
    buffers: dict[str, UserBuffer] = {}
    total = Outcomes()
    for message in messages:
        outcomes, _ = apply(parse_obj(message), buffers)
        total.add(outcomes)
    return total, buffers["u"]


def test_the_first_source_past_the_bound_is_refused_with_a_reason() -> None:
    flood, buffer = _apply_all(FLOOD)
    assert (flood.accepted, flood.rejected) == (MAX_SOURCE_ENTRIES, 0)
    phone, buffer = _apply_all([*FLOOD, _steps(ESTIMATED_STEPS, 299), PHONE_SYNC])
    assert phone.rejected == 1 + 5 and phone.duplicate == 0
    codes = [r.code for r in phone.rejections]
    assert codes == ["too_many_sources", "too_many_sources"]
    assert f"{MAX_SOURCE_ENTRIES} source entries" in phone.rejections[0].detail
    assert buffer.totals().steps == MAX_SOURCE_ENTRIES  # the flood's own, nothing refused
    assert buffer.watermark_ns == T0 + MAX_SOURCE_ENTRIES * MINUTE  # refused: no event time


def test_a_known_source_still_counts_when_the_table_is_full() -> None:
    outcomes, _ = _apply_all([_steps(ESTIMATED_STEPS, 0), *FLOOD[1:], PHONE_SYNC])
    assert outcomes.rejected == 0 and outcomes.accepted == MAX_SOURCE_ENTRIES + 5


def test_inspect_and_the_worker_report_it() -> None:
    report = inspect_results(parse_obj(m) for m in [*FLOOD, PHONE_SYNC])
    assert report["users"][0]["rejected"] == {"too_many_sources": 5}
    states, recent, sink = InMemoryStore(), InMemoryStore(), RecordingSink()
    processor = build_processor(Limits(checkpoint_s=60.0, quiet_s=60.0), states, recent, sink)
    events = [event_for("u", orjson.dumps(m), i) for i, m in enumerate([*FLOOD, PHONE_SYNC])]
    asyncio.run(_run(processor, events))
    (record,) = map(orjson.loads, sink.rejected)
    assert record["error"] == "too_many_sources" and record["original"] == PHONE_SYNC
    assert int(processor.metrics.events.labels("rejected")._value.get()) == 5
