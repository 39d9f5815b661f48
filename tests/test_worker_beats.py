"""Where a scoring beat runs: on the event loop up to ``max_windows`` windows, in the executor
beyond; the alerts, their ids and their order do not depend on it.

The processor runs for real (parser, buffers, the shipped detector) without Faust, as in
``test_worker_checkpoints``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson

from stream.worker.inmemory import InMemoryStore, RecordingSink, build_processor
from stream.worker.processor import Limits
from tests.test_retro import RETRO, TWICE, _day
from tests.test_worker_retro_alerts import _events, _run


class _CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        return super().submit(fn, *args, **kwargs)


def _alerts(max_windows: int) -> tuple[list[dict[str, Any]], int]:
    """The alerts one processor sends for two shaken days, and its executor's calls."""
    day = sorted(_day(RETRO) + _day(TWICE), key=lambda e: int(e["startTimeNanos"]))
    sink = RecordingSink()
    limits = Limits(max_windows=max_windows, checkpoint_s=60.0, quiet_s=60.0)
    processor = build_processor(limits, InMemoryStore(), InMemoryStore(), sink)
    executor = _CountingExecutor()
    processor.executor = executor
    asyncio.run(_run(processor, _events(day, 0)))
    executor.shutdown()
    alerts = [orjson.loads(a) for a in sink.alerts]
    return [{k: v for k, v in a.items() if k != "detected_at"} for a in alerts], executor.calls


def test_beats_on_the_loop_and_in_the_executor_send_the_same_alerts_in_the_same_order() -> None:
    on_loop, loop_calls = _alerts(max_windows=10_000)
    in_executor, executor_calls = _alerts(max_windows=0)  # every beat is larger than 0 windows
    assert loop_calls == 0 and executor_calls > 0
    assert len(on_loop) >= 3  # each shaken hour, and the hour carried back
    assert on_loop == in_executor
