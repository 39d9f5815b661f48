"""The worker's side of retroactive alerts: the earlier hour was scored long ago, maybe by
another process; whether it was alerted is read from the user's recent alerts.

The processor runs for real (parser, buffers, the shipped detector) without Faust, as in
``test_worker_checkpoints``; the worker is restarted between the hour the shaker was switched on
in and the next, so the decision can only come from the recent-alerts table.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from stream.alerts import alerts_for
from stream.pipeline import score_results
from stream.worker.inmemory import (
    InMemoryStore,
    MemoryEvent,
    RecordingSink,
    build_processor,
    event_for,
)
from stream.worker.processor import Limits, Processor
from tests.test_retro import DAY_S, HOUR_S, NS, RETRO, SHAKEN_HOUR, TWICE, _day


def _processor(states: InMemoryStore, recent: InMemoryStore) -> tuple[Processor, RecordingSink]:
    sink = RecordingSink()
    limits = Limits(checkpoint_s=60.0, quiet_s=60.0)
    return build_processor(limits, states, recent, sink), sink


def _events(day: list[Any], first_offset: int) -> list[MemoryEvent]:
    return [
        event_for(str(point["user_id"]), orjson.dumps(point), offset)
        for offset, point in enumerate(day, start=first_offset)
    ]


async def _run(processor: Processor, events: list[MemoryEvent]) -> None:
    for event in events:
        processor.handle(event)
        if processor.due() == "score":
            processor.score()
    await processor.checkpoint(lambda _: None)


def _split(day: list[Any]) -> int:
    """Index of the first event at or after 15:30: 14:00 is closed by then, 15:00 is not."""
    cut = (DAY_S + (SHAKEN_HOUR + 1) * HOUR_S + 30 * 60) * NS
    return next(i for i, e in enumerate(day) if int(e["startTimeNanos"]) >= cut)


def _across_a_restart(day: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Alerts sent before and after a restart between 15:29 and 15:30 (same tables)."""
    states, recent = InMemoryStore(), InMemoryStore()
    events = _events(day, 0)
    at = _split(day)
    first, first_sink = _processor(states, recent)
    asyncio.run(_run(first, events[:at]))
    second, second_sink = _processor(states, recent)
    asyncio.run(_run(second, events[at:]))
    return (
        [orjson.loads(a) for a in first_sink.alerts],
        [orjson.loads(a) for a in second_sink.alerts],
    )


def _hour_start(hour: int) -> str:
    return f"2026-03-02T{hour:02d}:00:00Z"


def _offline(day: list[Any]) -> dict[str, dict[str, Any]]:
    from stream.parsing import parse_obj
    from stream.scoring.detector import load_detector

    detector = load_detector()
    run = score_results((parse_obj(e) for e in day), detector, detector.grid)
    return {a.window_start: a.to_dict() for a in alerts_for(run.verdicts, detector.version)}


def _facts(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "detected_at"}


def test_a_restarted_worker_alerts_the_earlier_hour_as_lifeup_score_does() -> None:
    day = _day(RETRO)
    before, after = _across_a_restart(day)
    assert not any(a["window_start"] == _hour_start(SHAKEN_HOUR) for a in before)
    retro = [a for a in after if a["window_start"] == _hour_start(SHAKEN_HOUR)]
    assert len(retro) == 1
    assert _facts(retro[0]) == _facts(_offline(day)[_hour_start(SHAKEN_HOUR)])
    # sent before the alert of the hour that carried it back
    starts = [a["window_start"] for a in after]
    assert starts.index(_hour_start(SHAKEN_HOUR)) < starts.index(_hour_start(SHAKEN_HOUR + 1))


def test_an_hour_alerted_before_the_restart_is_not_alerted_again() -> None:
    day = _day(TWICE)
    before, after = _across_a_restart(day)
    own = [a for a in before if a["window_start"] == _hour_start(SHAKEN_HOUR)]
    assert len(own) == 1 and _facts(own[0]) == _facts(_offline(day)[_hour_start(SHAKEN_HOUR)])
    assert any(a["window_start"] == _hour_start(SHAKEN_HOUR + 1) for a in after)
    assert not any(a["window_start"] == _hour_start(SHAKEN_HOUR) for a in after)
