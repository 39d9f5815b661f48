"""Thin Faust wiring: topics, tables, the agent, the tick timer and the web view.

All decisions live in ``stream.worker.processor``; this module only connects them to Faust.
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.streams import _current_event  # Faust's own "which partition am I in" context

from stream.grid import GridSpec
from stream.kafka import (
    ensure_topics,
    faust_broker_url,
    faust_credentials,
    single_record_batches,
    topic_partitions,
)
from stream.metrics import WorkerMetrics
from stream.scoring.base import WindowScorer
from stream.settings import Settings
from stream.worker.alerting import AlertFactory, load_scoring
from stream.worker.processor import (
    FLUSH_TICK,
    IDLE_TICK,
    TAKE_MAX,
    TAKE_WITHIN_S,
    USER_HEADER,
    Event,
    Limits,
    Processor,
    Topics,
)
from stream.worker.state import register_codecs

log = logging.getLogger("lifeup.worker")

STATE_TABLE = "lifeup-user-state"
ALERTS_TABLE = "lifeup-recent-alerts"


@contextlib.contextmanager
def _in_partition_of(event: Event) -> Iterator[None]:
    """Lets a batched write land in ``event``'s changelog partition, as if written while handled.

    Faust derives a table write's partition from the task's current event; a batch written after
    several messages must name each user's own message explicitly.
    """
    token = _current_event.set(weakref.ref(cast(Any, event)))
    try:
        yield
    finally:
        _current_event.reset(token)


class _TableStore:
    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> Any:
        return self.table.get(key)

    def put(self, key: str, value: Any, event: Event) -> None:
        with _in_partition_of(event):
            self.table[key] = value

    def delete(self, key: str, event: Event) -> None:
        with _in_partition_of(event):
            if key in self.table:
                del self.table[key]

    def keys(self) -> Iterable[str]:
        return list(self.table.keys())


class _FaustSink:
    def __init__(self, alerts: Any, dlq: Any, repartition: Any, metrics: WorkerMetrics) -> None:
        self._alerts, self._dlq, self._repartition = alerts, dlq, repartition
        self._metrics = metrics

    async def alert(self, user_id: str, value: bytes, completed_at_s: float | None) -> None:
        """Hands the alert straight to the Kafka producer (not Faust's send-soon buffer, where it
        would queue behind a checkpoint's table writes); it is delivered before the next commit.
        """
        callback = None
        if completed_at_s is not None:
            histogram = self._metrics.alert_latency

            def callback(_fut: Any) -> None:
                histogram.observe(max(0.0, time.time() - completed_at_s))

        await self._alerts.send(
            key=user_id.encode("utf-8"), value=value, callback=callback, force=True
        )

    def reject(self, key: bytes | None, value: bytes) -> None:
        self._dlq.send_soon(key=key, value=value)

    def forward(self, user_id: str, raw: bytes, partition: int) -> None:
        self._repartition.send_soon(
            key=user_id.encode("utf-8"),
            value=raw,
            partition=partition,
            headers={USER_HEADER: user_id.encode("utf-8")},
        )


@dataclass
class WorkerApp:
    """The Faust app and the pieces tests and commands reach into."""

    app: faust.App
    processor: Processor
    metrics: WorkerMetrics
    settings: Settings
    topics: Topics
    model_version: str


def create_app(
    settings: Settings,
    *,
    scorer: WindowScorer | None = None,
    metrics: WorkerMetrics | None = None,
    grid: GridSpec | None = None,
    declare_topics: bool = True,
) -> WorkerApp:
    """Builds the worker for ``settings``; ``declare_topics`` creates missing topics first."""
    register_codecs()
    metrics = metrics or WorkerMetrics()
    scoring = load_scoring(settings, scorer, grid)
    partitions = settings.topic_partitions
    app_id = settings.worker_app_id
    topics = Topics(
        events=settings.events_topic,
        repartition=f"{app_id}-events-by-user",
        ticks=f"{app_id}-ticks",
        partitions=partitions,
    )
    if declare_topics:
        existing = topic_partitions(settings, settings.events_topic)
        partitions = topics.partitions = existing or partitions
        ensure_topics(
            settings,
            [topics.events, topics.repartition, topics.ticks, settings.alerts_topic,
             settings.dlq_topic],
            partitions=partitions,
        )  # fmt: skip

    extra: dict[str, Any] = {}
    if single_record_batches(settings):
        extra["producer_max_batch_size"] = 1  # see stream.kafka.single_record_batches
    web_url = f"http://{settings.worker_web_host}:{settings.worker_web_port}"
    app = faust.App(
        app_id,
        broker=faust_broker_url(settings),
        broker_credentials=faust_credentials(settings),
        store=settings.worker_store,
        datadir=str(settings.worker_datadir),
        topic_partitions=partitions,
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.broker_session_timeout_s,
        broker_heartbeat_interval=min(1.0, settings.broker_session_timeout_s / 3),
        broker_rebalance_timeout=max(3.0, settings.broker_session_timeout_s / 2),
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=True,
        web_bind=settings.worker_web_host,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        canonical_url=web_url,
        table_cleanup_interval=3600.0,
        # Unacknowledged messages are redelivered after a restart; waiting for them on stop
        # would wait for a checkpoint the stopping agent never takes.
        stream_wait_empty=False,
        **extra,
    )
    source = app.topic(topics.events, topics.repartition, topics.ticks, partitions=partitions)
    ticks = app.topic(topics.ticks, partitions=partitions)
    repartition = app.topic(topics.repartition, partitions=partitions)
    alerts_topic = app.topic(settings.alerts_topic)
    dlq_topic = app.topic(settings.dlq_topic)
    states = _table(app, STATE_TABLE, partitions, "lifeup_state")
    recent = _table(app, ALERTS_TABLE, partitions, "lifeup_alerts")

    processor = Processor(
        topics=topics,
        grid=scoring.grid,
        scorer=scoring.scorer,
        make_alert=AlertFactory(scoring.model_version),
        parse=scoring.parse(settings.max_message_bytes),
        states=_TableStore(states),
        recent_alerts=_TableStore(recent),
        sink=_FaustSink(alerts_topic, dlq_topic, repartition, metrics),
        metrics=metrics,
        executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifeup-score"),
        limits=Limits(
            idle_flush_s=settings.idle_flush_seconds, expiry_s=settings.state_expiry_seconds
        ),
    )
    metrics.set_model(scoring.model_version)

    def internal_error(event: Any) -> None:
        """A bug must not stop the stream: the message is logged and dead-lettered."""
        log.exception("internal error on %s", event.message.tp)
        metrics.events.labels("rejected").inc()
        _dead_letter_internal(dlq_topic, event)

    @app.agent(source, name="lifeup-process")
    async def process(stream: Any) -> None:
        # Messages come in takes (``TAKE_MAX``, or what arrived within ``TAKE_WITHIN_S``),
        # unacknowledged: a checkpoint acknowledges them once their state is written.
        async for events in stream.noack_take(TAKE_MAX, within=TAKE_WITHIN_S):
            processor.handle_take(events, internal_error)
            action = processor.due()
            if action == "checkpoint":
                await processor.checkpoint(stream.ack)
            elif action == "score":
                processor.score()

    tick_s = max(0.05, min(1.0, settings.idle_flush_seconds / 4))

    @app.timer(interval=tick_s)  # type: ignore[untyped-decorator]
    async def idle_tick() -> None:
        metrics.ready.set(0 if not_ready(app) else 1)
        for tp in app.assignor.assigned_actives():
            if tp.topic == topics.events:
                await ticks.send(value=IDLE_TICK, partition=tp.partition)
                _report_lag(app, tp, metrics)

    @app.timer(interval=processor.limits.max_age_s)  # type: ignore[untyped-decorator]
    async def flush_tick() -> None:
        if processor.stale():
            owned = [tp for tp in app.assignor.assigned_actives() if tp.topic == topics.events]
            if owned:
                processor.flush_requested = True
                await ticks.send(value=FLUSH_TICK, partition=owned[0].partition)

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        _shorten_fetch_wait(app)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        processor.on_revoked()

    @app.page("/lifeup/users/{user_id}/alerts")
    @app.table_route(table=recent, match_info="user_id")
    async def user_alerts(web: Any, request: Any, user_id: str) -> Any:
        # Routed to the user's owner; an owner still restoring its tables would answer with
        # part of the user's alerts, which reads as "no alerts", so it says so instead.
        waiting = not_ready(app)
        if waiting is not None:
            return _not_ready_answer(web, waiting)
        alerts = recent.get(user_id) or []
        return web.json({"user_id": user_id, "alerts": alerts})

    @app.page("/lifeup/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "model_version": scoring.model_version})

    @app.page("/lifeup/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        waiting = not_ready(app)
        if waiting is not None:
            return _not_ready_answer(web, waiting)
        return web.json({"status": "ready", "model_version": scoring.model_version})

    return WorkerApp(app, processor, metrics, settings, topics, scoring.model_version)


def not_ready(app: faust.App) -> str | None:
    """Why the worker cannot yet answer for its users, or ``None`` once it can.

    Faust serves web views as soon as it starts, before the group has assigned partitions and
    while the tables are still being restored from their changelogs: a user's alerts read then
    would be missing, and their windows not yet where the crash left them.
    """
    recovery = cast(Any, app.tables).recovery  # TableManager's, not on its interface
    if not recovery.completed.is_set():
        return "starting: waiting for the consumer group to assign partitions"
    if getattr(app, "rebalancing", False):
        return "rebalancing: partitions are moving between workers"
    if recovery.in_recovery:
        remaining = recovery.active_remaining_total()
        return f"restoring state from the changelogs ({remaining} records to read)"
    return None


def _not_ready_answer(web: Any, reason: str) -> Any:
    """503 with the reason, in the shape the API reads (``stream.api.routes.alerts``)."""
    return web.json({"status": "not_ready", "detail": reason}, status=503)


def _report_lag(app: faust.App, tp: Any, metrics: WorkerMetrics) -> None:
    """Events-topic lag from the fetch high watermark (right on Tansu, unlike ListOffsets)."""
    try:
        highwater = app.consumer.highwater(tp)
    except Exception:  # not fetched yet, or the partition just moved
        return
    read = getattr(app.consumer, "_read_offset", {}).get(tp)
    if highwater is not None:
        lag = max(0, int(highwater) - (int(read) + 1 if read is not None else 0))
        metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)


FETCH_MAX_WAIT_MS = 100


def _shorten_fetch_wait(app: faust.App) -> None:
    """Caps how long a fetch may wait for data (Faust hard-codes 1,500 ms).

    A broker should answer a fetch as soon as any partition in it has data, but the embedded
    broker (Tansu) holds it for the full wait when some partitions are empty, as the ticks and
    repartition topics usually are: measured, that added 0.75 s on average to every alert. A short
    wait costs a real cluster only a few empty fetches a second.
    """
    thread = getattr(app.consumer, "_thread", None)
    consumer = getattr(thread, "_consumer", None)
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
        fetcher._fetch_max_wait_ms = FETCH_MAX_WAIT_MS


def _table(app: faust.App, name: str, partitions: int, value_codec: str) -> Any:
    """A table with LifeUp's codecs (Faust derives codecs from model types; ours are bytes)."""
    # What ``app.Table`` does, with the codecs set before the table manager creates the
    # changelog topic from them on registration.
    table_class: Any = app.conf.Table
    table: Any = table_class(app, name=name, beacon=app.tables.beacon, partitions=partitions)
    table.key_serializer = "lifeup_str"
    table.value_serializer = value_codec
    app.tables.add(table)
    assert table.changelog_topic.value_serializer == value_codec
    return table


def _dead_letter_internal(dlq_topic: Any, event: Any) -> None:
    from stream.points import Rejection
    from stream.worker.dlq import rejection_records

    message = event.message
    raw = event.value if isinstance(event.value, bytes) else b""
    reason = Rejection("internal_error", "the worker failed on this message; see its log")
    for record in rejection_records(
        [reason], raw, message.topic, message.partition, message.offset
    ):
        dlq_topic.send_soon(key=message.key, value=record)
