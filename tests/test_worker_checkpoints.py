"""When the worker checkpoints: on its cadence under load, promptly once the stream pauses.

The processor runs for real (parser, buffers, the shipped detector) without Faust, over
``stream.worker.inmemory``'s tables and sink (stand-ins for Faust's table and topics, which need
the broker: the broker tests cover those).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import orjson

from stream.worker.inmemory import (
    InMemoryStore,
    MemoryEvent,
    RecordingSink,
    build_processor,
    event_for,
)
from stream.worker.processor import Limits, Processor

NS = 1_000_000_000
T0 = 1_772_398_800 * NS  # an hour boundary


def _processor(limits: Limits) -> tuple[Processor, InMemoryStore]:
    states = InMemoryStore()
    return build_processor(limits, states, InMemoryStore(), RecordingSink()), states


def _event(user: str, minute: int, offset: int) -> MemoryEvent:
    point = {
        "user_id": user,
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": T0 + minute * 60 * NS,
        "endTimeNanos": T0 + (minute + 1) * 60 * NS,
        "value": [{"intVal": 80}],
    }
    return event_for(user, orjson.dumps(point), offset)


def test_steady_messages_wait_for_the_checkpoint_cadence() -> None:
    processor, states = _processor(Limits(checkpoint_s=60.0, quiet_s=60.0))
    for offset in range(5):
        processor.handle(_event("steady", offset, offset))
        assert processor.due() is None
    assert not processor.stale()
    assert processor.pending_events == 5 and not states.data  # nothing written yet


def test_a_pause_makes_the_batch_stale_and_its_checkpoint_writes_and_acks_it() -> None:
    processor, states = _processor(Limits(checkpoint_s=60.0, quiet_s=0.05))
    events = [_event("pausing", minute, minute) for minute in range(3)]
    for event in events:
        processor.handle(event)
        processor.due()
    time.sleep(0.1)  # longer than quiet_s: time only moves forward, so this cannot race
    assert processor.stale()

    acked: list[Any] = []
    asyncio.run(processor.checkpoint(acked.append))
    assert acked == events
    assert set(states.data) == {"pausing"}
    assert processor.pending_events == 0 and not processor.stale()


def test_a_message_that_raises_is_set_aside_and_the_rest_of_its_take_goes_on() -> None:
    """An internal error (a bug, never bad input) costs one message: it goes to the error
    handler while its exception is live, the take's other messages are applied, and all of
    them are acknowledged at the checkpoint (the failed one is dead-lettered, not replayed)."""
    processor, states = _processor(Limits(checkpoint_s=60.0, quiet_s=60.0))
    real = processor.parse

    def parse(raw: bytes, key: bytes | None) -> Any:
        if b"boom" in raw:
            raise RuntimeError("a bug")
        return real(raw, key)

    processor.parse = parse
    take = [_event("taker", 0, 0), event_for("taker", b'{"boom": 1}', 1), _event("taker", 1, 2)]
    failed: list[tuple[int, Any]] = []
    processor.handle_take(
        take, lambda event: failed.append((event.message.offset, sys.exc_info()[0]))
    )
    assert failed == [(1, RuntimeError)]
    accepted = processor.metrics.registry.get_sample_value(
        "lifeup_events_total", {"outcome": "accepted"}
    )
    assert accepted == 2.0
    acked: list[Any] = []
    asyncio.run(processor.checkpoint(acked.append))
    assert [event.message.offset for event in acked] == [0, 1, 2]
    assert "taker" in states.data
