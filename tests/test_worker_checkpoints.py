"""When the worker checkpoints: on its cadence under load, promptly once the stream pauses.

The processor runs for real (parser, buffers, the shipped detector) without Faust; its table is an
in-memory implementation of the ``StateStore`` protocol and its sink records what it is given
(stand-ins for Faust's table and topics, which need the broker: the broker tests cover those).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from stream.kafka import home_partition
from stream.metrics import WorkerMetrics
from stream.settings import Settings
from stream.worker.alerting import AlertFactory, load_scoring
from stream.worker.processor import Limits, Message, Processor, Topics

NS = 1_000_000_000
T0 = 1_772_398_800 * NS  # an hour boundary
PARTITIONS = 4


@dataclass
class _Message:
    topic: str
    partition: int
    offset: int
    timestamp: float
    key: bytes | None
    headers: Any = None


@dataclass
class _Event:
    message: Message
    value: Any


@dataclass
class InMemoryStore:
    """The ``StateStore`` protocol over a dict (a Faust table needs the broker)."""

    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any, event: Any) -> None:
        self.data[key] = value

    def delete(self, key: str, event: Any) -> None:
        self.data.pop(key, None)

    def keys(self) -> list[str]:
        return list(self.data)


@dataclass
class RecordingSink:
    """The ``Sink`` protocol, keeping what a Faust topic would have been sent."""

    alerts: list[bytes] = field(default_factory=list)

    async def alert(self, user_id: str, value: bytes, completed_at_s: float | None) -> None:
        self.alerts.append(value)

    def reject(self, key: bytes | None, value: bytes) -> None:
        pass

    def forward(self, user_id: str, raw: bytes, partition: int) -> None:
        pass


def build_processor(
    limits: Limits, states: InMemoryStore, recent: InMemoryStore, sink: RecordingSink
) -> Processor:
    """A processor with the shipped model over in-memory stores (no Kafka: unit tests only)."""
    settings = Settings()
    scoring = load_scoring(settings)
    return Processor(
        topics=Topics("events", "events-by-user", "ticks", PARTITIONS),
        grid=scoring.grid,
        scorer=scoring.scorer,
        make_alert=AlertFactory(scoring.model_version),
        parse=scoring.parse(settings.max_message_bytes),
        states=states,
        recent_alerts=recent,
        sink=sink,
        metrics=WorkerMetrics(),
        executor=ThreadPoolExecutor(max_workers=1),
        limits=limits,
    )


def _processor(limits: Limits) -> tuple[Processor, InMemoryStore]:
    states = InMemoryStore()
    return build_processor(limits, states, InMemoryStore(), RecordingSink()), states


def _event(user: str, minute: int, offset: int) -> _Event:
    point = {
        "user_id": user,
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": T0 + minute * 60 * NS,
        "endTimeNanos": T0 + (minute + 1) * 60 * NS,
        "value": [{"intVal": 80}],
    }
    partition = home_partition(user, PARTITIONS)
    message = _Message("events", partition, offset, time.time(), user.encode())
    return _Event(message, orjson.dumps(point))


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
