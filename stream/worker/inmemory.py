"""The worker's ``Processor`` without Faust or Kafka: in-memory tables, a recording sink, and
messages as plain objects.

Tests drive the processor's rules with these, and ``lifeup bench stream`` times the processor
apart from Faust with them. Production never imports this module: there the tables are Faust's
and the sink its topics (``stream.worker.app``).
"""

from __future__ import annotations

import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from stream.kafka import home_partition
from stream.metrics import WorkerMetrics
from stream.settings import Settings
from stream.worker.alerting import AlertFactory, load_scoring
from stream.worker.processor import Limits, Message, Processor, Topics

PARTITIONS = 4


@dataclass
class MemoryMessage:
    """The ``Message`` protocol: what the processor reads of a Kafka record."""

    topic: str
    partition: int
    offset: int
    timestamp: float
    key: bytes | None
    headers: Any = None


@dataclass
class MemoryEvent:
    """The ``Event`` protocol: a record and its value."""

    message: Message
    value: Any


def event_for(
    user_id: str, value: Any, offset: int = 0, topic: str = "events", keyed: bool = True
) -> MemoryEvent:
    """A record on ``user_id``'s home partition, keyed by the user id (a tick: unkeyed)."""
    key = user_id.encode("utf-8") if keyed else None
    partition = home_partition(user_id, PARTITIONS)
    return MemoryEvent(MemoryMessage(topic, partition, offset, time.time(), key), value)


@dataclass
class InMemoryStore:
    """The ``StateStore`` protocol over a dict (what a Faust table costs is Faust's)."""

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
    """The ``Sink`` protocol, keeping the alerts and dead-letter records Faust topics would have
    been sent."""

    alerts: list[bytes] = field(default_factory=list)
    rejected: list[bytes] = field(default_factory=list)  # dead-letter records

    async def alert(self, user_id: str, value: bytes, completed_at_s: float | None) -> None:
        self.alerts.append(value)

    def reject(self, key: bytes | None, value: bytes) -> None:
        self.rejected.append(value)

    def forward(self, user_id: str, raw: bytes, partition: int) -> None:
        pass


def build_processor(
    limits: Limits,
    states: InMemoryStore,
    recent: InMemoryStore,
    sink: RecordingSink,
    executor: Executor | None = None,
) -> Processor:
    """A processor with the shipped model over in-memory stores."""
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
        executor=executor or ThreadPoolExecutor(max_workers=1),
        limits=limits,
    )
