"""Sends events from files to the events topic, one message per Google Fit sync.

A Takeout file, a REST ``Dataset`` or a Health Connect list goes out as one message (that is how a
phone syncs, and Faust's cost is per message: 100 points in one message cost about what one point
does). Only lists longer than ``max_points`` are cut into several messages of the same shape, so
no message outgrows the worker's size limit. Messages are keyed by user id with the murmur2
partitioner (``stream.kafka.producer_config``), so each user's events reach one partition in order.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from stream.kafka import ensure_topics, producer_config, require_reachable
from stream.parsing import Unreadable, iter_events
from stream.settings import Settings

MAX_POINTS_PER_MESSAGE = 1000
_POINT_LISTS = ("Data Points", "point", "records")


@dataclass(slots=True)
class PublishReport:
    messages: int = 0
    bytes: int = 0
    users: set[str] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)
    failed: int = 0


def split_event(event: Any, max_points: int = MAX_POINTS_PER_MESSAGE) -> list[Any]:
    """The event, or copies of it holding at most ``max_points`` points each."""
    if not isinstance(event, dict):
        if isinstance(event, list) and len(event) > max_points:
            return [event[i : i + max_points] for i in range(0, len(event), max_points)]
        return [event]
    for name in _POINT_LISTS:
        points = event.get(name)
        if isinstance(points, list) and len(points) > max_points:
            return [
                {**event, name: points[i : i + max_points]}
                for i in range(0, len(points), max_points)
            ]
    return [event]


def messages(
    events: Iterable[tuple[str | None, Any]], report: PublishReport
) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) pairs for the producer; unreadable inputs are reported, not sent."""
    for user_id, event in events:
        if isinstance(event, Unreadable):
            report.unreadable.append(f"{event.where}: {event.rejection.detail}")
            continue
        key = user_id.encode("utf-8") if user_id else None
        if user_id:
            report.users.add(user_id)
        for part in split_event(event):
            yield key, orjson.dumps(part)


def publish(
    settings: Settings,
    paths: list[str],
    user: str | None = None,
    *,
    progress: bool = True,
    topic: str | None = None,
    ordered: bool = True,
) -> PublishReport:
    """Publishes every event of ``paths`` and waits until the broker has them all.

    ``ordered`` (the default) sends the points in event-time order across files, as a live feed
    would have (``stream.parsing.order``), so the worker's alerts equal ``lifeup score``'s.
    Raises ``KafkaUnreachable`` before reading anything when no broker answers.
    """
    from confluent_kafka import Producer
    from tqdm import tqdm

    target = topic or settings.events_topic
    require_reachable(settings)
    ensure_topics(settings, [target])
    producer = Producer(producer_config(settings))
    report = PublishReport()

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            report.failed += 1

    bar = tqdm(unit="msg", desc="publishing", disable=not progress, file=sys.stderr)
    try:
        for key, value in messages(iter_events(paths, user, ordered=ordered), report):
            while True:
                try:
                    producer.produce(target, key=key, value=value, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.1)
            producer.poll(0)
            report.messages += 1
            report.bytes += len(value)
            bar.update(1)
        remaining = producer.flush(30)
        report.failed += remaining
    finally:
        bar.close()
    return report
