"""The worker's processor over in-memory stores, on a wall clock the test moves: messages come
in waves (a sync), each followed by quiet and the partition's timer tick, which runs the idle
flush once the quiet is longer than ``LIFEUP_IDLE_FLUSH_SECONDS`` (300 s, as shipped)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from stream.worker.inmemory import InMemoryStore, RecordingSink, build_processor, event_for
from stream.worker.processor import IDLE_TICK, Limits
from tests.test_worker_retro_alerts import _run


@dataclass(frozen=True, slots=True)
class WorkerRun:
    alerts: list[dict[str, Any]]  # as sent, in order
    windows_scored: int
    late: int  # points counted ``late``


def run_waves(waves: list[tuple[list[dict[str, Any]], float]], user: str = "u") -> WorkerRun:
    """Each wave's messages (all of ``user``) arrive at once, then ``quiet_s`` of wall clock
    pass and a timer tick comes."""
    states, recent, sink = InMemoryStore(), InMemoryStore(), RecordingSink()
    processor = build_processor(Limits(checkpoint_s=60.0, quiet_s=60.0), states, recent, sink)
    clock = [1_000_000.0]
    processor.now = lambda: clock[0]
    tick = event_for(user, IDLE_TICK, topic="ticks", keyed=False)
    asyncio.run(_run(processor, [tick]))  # the worker owns the partition from now on
    for wave, quiet_s in waves:
        events = [event_for(user, orjson.dumps(m), offset) for offset, m in enumerate(wave)]
        asyncio.run(_run(processor, events))
        clock[0] += quiet_s
        asyncio.run(_run(processor, [tick]))
    metrics = processor.metrics
    return WorkerRun(
        [orjson.loads(a) for a in sink.alerts],
        int(metrics.windows_scored._value.get()),
        int(metrics.events.labels("late")._value.get()),
    )
