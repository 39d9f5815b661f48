"""The worker's per-message work, kept apart from Faust so its rules read (and test) plainly.

Rules, in the order a message meets them:

* Routing. A user's state lives in the table partition ``home_partition(user)`` (murmur2 of the
  user id, as Java and aiokafka key their messages). A message consumed on another partition
  (its key was not the user id, or its producer used another partitioner) is forwarded through
  the repartition topic to that partition; the owner re-parses it and keeps that user's points.
* Micro-batches, in two beats. Messages are processed as the agent takes them
  (``TAKE_MAX`` at a time). Every ``max_age_s`` (or ``max_windows``) the
  completed windows of all users are scored in one scorer call and their
  alerts sent: that beat sets the alert latency. A beat of up to ``max_windows`` windows (a few
  milliseconds) is scored on the event loop; a larger one (an idle flush of many users, a long
  upload) in an executor, so the loop keeps polling. Not the steady beats in the executor too:
  two threads of one process wanting the GIL from two cores hand it back and forth (measured on
  the bench's 100-point messages: the event loop then blocked ~1.5 times per message and spent
  ~45% more CPU on the same work, in a run of minutes out of two). Every ``checkpoint_s`` (or
  ``max_events``) the state of each user touched since the last checkpoint is written to the
  table once, and only then are those messages acknowledged.
  Faust's per-message cost leaves no room for a table write per message; a checkpoint writes a
  user once however many of their messages it covers. An offset is therefore committed only
  after the alerts and state it produced were handed to the producer, which Faust flushes before
  every commit: at least once, never lost (a replay after a crash re-sends the same alert ids).
  When the stream goes quiet, a timer sends the agent a flush tick, so nothing waits for the
  next message.
* Idle flush and expiry run on ticks: a timer sends one tick per owned partition to an internal
  topic, so the tick arrives as an event of that partition and table writes land in its
  changelog partition. The idle flush scores a quiet user's open hours as they stand and keeps
  them open (``UserBuffer.preview``): a phone syncing every 15 minutes pauses longer than the
  flush waits, and what it sends next belongs to the same hours. Each such hour is scored again
  when it completes; its alert (same id) is sent again only if it changed.
* Rebalances drop everything unacknowledged (cache, batch); the new owner replays from the last
  commit against the changelog, which holds exactly the acknowledged effects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from stream.alerts import Span
from stream.buffer import UserBuffer
from stream.grid import GridSpec
from stream.kafka import home_partition
from stream.metrics import WorkerMetrics
from stream.pipeline import Take, apply, release, take_of
from stream.points import ParseResult
from stream.scoring.base import WindowScore, WindowScorer
from stream.scoring.retro import carry, previous_span
from stream.windows import Window
from stream.worker.dlq import rejection_records
from stream.worker.state import UserState

RECENT_ALERTS = 50
"""Alerts kept per user for ``GET /lifeup/users/{user_id}/alerts``."""

CACHE_USERS = 20_000
"""Clean user states kept decoded in memory; beyond this the oldest are re-read from the table."""

USER_HEADER = "lifeup-user"


class Message(Protocol):
    topic: str
    partition: int
    offset: int
    timestamp: float
    key: bytes | None
    headers: Any


class Event(Protocol):
    message: Message
    value: Any


class StateStore(Protocol):
    """A Faust table seen as a store whose writes land in the changelog partition of ``event``."""

    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any, event: Event) -> None: ...

    def delete(self, key: str, event: Event) -> None: ...

    def keys(self) -> Iterable[str]: ...


class Sink(Protocol):
    """Where the worker's output goes (Faust topics in production)."""

    async def alert(self, user_id: str, value: bytes, completed_at_s: float | None) -> None: ...

    def reject(self, key: bytes | None, value: bytes) -> None: ...

    def forward(self, user_id: str, raw: bytes, partition: int) -> None: ...


Parse = Callable[[bytes, bytes | None], ParseResult]
MakeAlert = Callable[[Span, WindowScore], dict[str, Any]]
Clock = Callable[[], float]


@dataclass(slots=True)
class Topics:
    events: str
    repartition: str
    ticks: str
    partitions: int


TAKE_MAX = 200
TAKE_WITHIN_S = 0.02
"""The agent hands messages over in takes of up to ``TAKE_MAX`` (what arrived within
``TAKE_WITHIN_S`` when fewer): the parser and buffers then run back to back, their code and data
still in the caches, instead of interleaved with Faust's per-message work. Measured on the bench's
messages against one message per iteration (worker processes on the embedded broker, 3 ABBA
rounds): CPU per single-point message 115 -> 87 us, per 100-point message 784 -> 634 us. A take
waits at most 20 ms, well inside the alert latency's beat; its messages arrived together
(``Processor.handle_take``)."""

FLUSH_TICK = b"flush"
IDLE_TICK = b"idle"


@dataclass(slots=True)
class Limits:
    max_windows: int = 512
    max_age_s: float = 0.1
    max_events: int = 20_000
    # Faust commits acknowledged offsets every 2.8 s (``broker_commit_interval``): a message acked
    # but not yet committed is replayed after a crash anyway, so checkpointing more often than
    # that buys no durability, while each checkpoint waits for the scoring beats before it and
    # writes every user it touched (measured with 1.0 s: ~12% of the agent's time in that wait).
    checkpoint_s: float = 2.5
    # ... but a stream that pauses is checkpointed once it has been quiet this long, so its last
    # state, recent alerts and offsets do not wait for the next 2.5 s mark.
    quiet_s: float = 0.5
    idle_flush_s: float = 300.0
    expiry_s: float = 86_400.0


@dataclass(slots=True)
class _Batch:
    """Everything since the last checkpoint (and the windows since the last scoring beat)."""

    events: list[Event] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    completed_at: list[float | None] = field(default_factory=list)
    dirty: dict[str, Event] = field(default_factory=dict)
    deleted: dict[str, Event] = field(default_factory=dict)
    # user -> alert id -> alert: this batch's alerts, on top of the stored recent ones
    recent: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    started: float = 0.0
    last_at: float = 0.0  # when the last message was handled
    windows_started: float = 0.0
    forced: bool = False


class Processor:
    """Turns consumed messages into table writes, alerts and DLQ records, batch by batch."""

    def __init__(
        self,
        *,
        topics: Topics,
        grid: GridSpec,
        scorer: WindowScorer,
        make_alert: MakeAlert,
        parse: Parse,
        states: StateStore,
        recent_alerts: StateStore,
        sink: Sink,
        metrics: WorkerMetrics,
        executor: Executor,
        limits: Limits | None = None,
        wall_clock: Clock = time.time,
    ) -> None:
        self.topics = topics
        self.grid = grid
        self.scorer = scorer
        self.make_alert = make_alert
        self.parse = parse
        self.states = states
        self.recent_alerts = recent_alerts
        self.sink = sink
        self.metrics = metrics
        self.executor = executor
        self.limits = limits or Limits()
        self.now = wall_clock
        self._cache: dict[str, UserState] = {}
        self._index: dict[int, dict[str, None]] = {}  # partition -> its users (an ordered set)
        self._indexed: dict[int, float] = {}  # partition -> wall clock when it was (re)indexed
        self._batch = _Batch()
        self._take: Take | None = None  # while ``handle_take`` runs
        self._held_at: dict[str, float | None] = {}  # its held users' latest message timestamps
        self._generation = 0
        self._scoring: asyncio.Future[bool] | None = None
        self.flush_requested = False
        self._accepted = metrics.events.labels("accepted")  # counted on nearly every message

    # ----------------------------------------------------------------- per message
    def handle_take(self, events: Iterable[Event], on_error: Callable[[Event], None]) -> None:
        """Handles the messages of one take in order. A message that raises (a bug: bad input
        never does) goes to ``on_error``, called while its exception is being handled; the
        rest of the take goes on, and the message is acknowledged with them.

        The messages of a take arrived together. A user whose messages in it reach back into
        hours that their earlier ones close (``stream.pipeline.reaching_back``: a sync sent as
        one message per stream, steps first) has event time moved on once, after the take
        (``stream.pipeline.Take``), so the sync is judged whole, as one message would be. Everyone
        else's messages are added one by one: a stream in order (or shuffled within the
        lateness) gives the windows ``lifeup score`` gives, however it is cut into takes."""
        events = list(events)
        parsed = [self._parsed(e) if len(events) > 1 else None for e in events]
        self._take = take_of([r for r in parsed if r is not None], self.grid)
        try:
            for event, result in zip(events, parsed, strict=True):
                try:
                    self._handle(event, result)
                except Exception:
                    on_error(event)
        finally:
            self._release()
            self._take = None

    def handle(self, event: Event) -> None:
        """Processes one message as a take of its own (never raises for bad input)."""
        self._handle(event)

    def _parsed(self, event: Event) -> ParseResult | None:
        """An events-topic message parsed ahead of the take (None: another topic, or the
        parser raised, which ``_handle`` meets again in its turn)."""
        if event.message.topic != self.topics.events:
            return None
        try:
            return self.parse(_as_bytes(event.value), event.message.key)
        except Exception:
            return None

    def _release(self) -> None:
        """Moves on the event time held during the take (``stream.pipeline.release``)."""
        take, at = self._take, self._held_at
        if take is None or not take.ends:
            return
        cache = self._cache
        for user_id, ends in take.ends.items():
            state = cache.get(user_id)
            if state is not None:
                windows = release({user_id: ends}, {user_id: state.buffer})
                if windows:
                    self._add_windows(windows, at.get(user_id))
        take.ends.clear()
        at.clear()

    def _handle(self, event: Event, parsed: ParseResult | None = None) -> None:
        """Processes one message (``parsed`` already, or not) and adds it to the open batch."""
        batch = self._batch
        if not batch.events:
            batch.started = time.monotonic()
        batch.events.append(event)
        topic = event.message.topic
        if topic == self.topics.ticks:
            if _as_bytes(event.value) == FLUSH_TICK:
                batch.forced = True
                self.flush_requested = False
            else:
                self._on_tick(event)
        elif topic == self.topics.repartition:
            self._on_forwarded(event)
        else:
            self._on_event(event, parsed)

    def due(self) -> str | None:
        """``"checkpoint"``, ``"score"`` or None: what the agent should do after this message."""
        batch = self._batch
        if not batch.events:
            return None
        now = batch.last_at = time.monotonic()
        if (
            batch.forced
            or len(batch.events) >= self.limits.max_events
            or now - batch.started >= self.limits.checkpoint_s
        ):
            return "checkpoint"
        if batch.windows and (
            len(batch.windows) >= self.limits.max_windows
            or now - batch.windows_started >= self.limits.max_age_s
        ):
            return "score"
        return None

    def stale(self) -> bool:
        """True when a quiet stream leaves work waiting (the timer then sends a flush tick)."""
        batch = self._batch
        if self.flush_requested or not batch.events:
            return False
        now = time.monotonic()
        waiting_windows = (
            bool(batch.windows) and now - batch.windows_started >= self.limits.max_age_s
        )
        return (
            waiting_windows
            or now - batch.started >= self.limits.checkpoint_s
            or now - batch.last_at >= self.limits.quiet_s
        )

    def _on_event(self, event: Event, parsed: ParseResult | None = None) -> None:
        message = event.message
        raw = _as_bytes(event.value)
        result = self.parse(raw, message.key) if parsed is None else parsed
        if result.rejections:
            for record in rejection_records(
                result.rejections, raw, message.topic, message.partition, message.offset
            ):
                self.sink.reject(message.key, record)
        partition = message.partition
        n = self.topics.partitions
        batches = result.batches
        if len(batches) == 1:  # one stream of one user: the usual message
            if home_partition(batches[0].user_id, n) == partition:
                self._apply(event, result)
                return
            foreign = {batches[0].user_id}
        else:
            foreign = {b.user_id for b in batches if home_partition(b.user_id, n) != partition}
        if foreign:
            for user_id in foreign:
                self.sink.forward(user_id, raw, home_partition(user_id, n))
            result = ParseResult(
                [b for b in batches if b.user_id not in foreign],
                result.ignored,
                result.rejections,
            )
        self._apply(event, result)

    def _on_forwarded(self, event: Event) -> None:
        user_id = _header(event.message.headers, USER_HEADER)
        if user_id is None:
            return
        result = self.parse(_as_bytes(event.value), user_id.encode("utf-8"))
        mine = [b for b in result.batches if b.user_id == user_id]
        self._apply(event, ParseResult(mine))  # ignored/rejected were counted at the source

    def _apply(self, event: Event, result: ParseResult) -> None:
        # ``apply`` gets a plain dict of this message's users only (one, nearly always): every
        # lookup through a mapping view of the cache and the table cost more than the buffer work
        # of a single point.
        buffers: dict[str, UserBuffer] = {}
        cache = self._cache
        for batch in result.batches:
            user_id = batch.user_id
            if user_id not in buffers:
                state = cache.get(user_id)
                if state is None:
                    state = self._state(user_id)
                if state is not None:
                    buffers[user_id] = state.buffer
        take = self._take
        outcomes, windows = apply(result, buffers, self.grid, take=take)
        # ``apply`` lists the parser's rejections (sent to the DLQ already) first, then those of
        # the users' buffers: points of a source a full source table has no room for
        if len(outcomes.rejections) > len(result.rejections):
            message = event.message
            refused = outcomes.rejections[len(result.rejections) :]
            for record in rejection_records(
                refused, _as_bytes(event.value), message.topic, message.partition, message.offset
            ):
                self.sink.reject(message.key, record)
        if buffers:
            now = self.now()
            for user_id, buffer in buffers.items():
                self._touch(user_id, buffer, event, now, outcomes.late > 0)
                if take is not None and user_id in take.holding:
                    self._held_at[user_id] = event.message.timestamp
        # the outcome counters without a dict per message (``count_outcomes`` takes a mapping)
        accepted, duplicate, late = outcomes.accepted, outcomes.duplicate, outcomes.late
        if accepted:
            self._accepted.inc(accepted)
        if duplicate or late or outcomes.ignored or outcomes.rejected:
            self.metrics.count_outcomes(
                {
                    "duplicate": duplicate,
                    "late": late,
                    "ignored": outcomes.ignored,
                    "rejected": outcomes.rejected,
                }
            )
        if windows:
            self._add_windows(windows, event.message.timestamp)

    def _add_windows(self, windows: list[Window], completed_at: float | None) -> None:
        batch = self._batch
        if not batch.windows:
            batch.windows_started = time.monotonic()
        batch.windows.extend(windows)
        batch.completed_at.extend([completed_at] * len(windows))

    # ----------------------------------------------------------------- ticks
    def _on_tick(self, event: Event) -> None:
        partition = event.message.partition
        users = self._users_of(partition)
        now = self.now()
        # A user restored after a restart or rebalance gets a full idle period from then on, so a
        # worker that was down catches up on the backlog before it calls anybody idle.
        owned_since = self._indexed[partition]
        idle_before = now - self.limits.idle_flush_s
        expire_before = now - self.limits.expiry_s
        batch = self._batch
        for user_id in list(users):
            state = self._state(user_id)
            if state is None:
                users.pop(user_id, None)
                continue
            heard = max(state.last_event_wall_s, owned_since)
            if state.late_wall_s and max(state.late_wall_s, owned_since) <= idle_before:
                # a backlog of late points has paused: its hours are judged whole, even while
                # the user goes on sending on time (``stream.late``)
                self._add_windows(state.buffer.flush_late(), None)
                state.late_wall_s = 0.0
                batch.dirty[user_id] = event
            if not state.idle_flushed and heard <= idle_before:
                self._add_windows(state.buffer.preview(), None)
                state.idle_flushed = True
                batch.dirty[user_id] = event
            if state.idle_flushed and heard <= expire_before:
                batch.dirty.pop(user_id, None)
                batch.deleted[user_id] = event
                users.pop(user_id, None)
                self._cache.pop(user_id, None)

    def _users_of(self, partition: int) -> dict[str, None]:
        """The users of a partition; after (re)assignment, read once from the table."""
        users = self._index.setdefault(partition, {})
        if partition not in self._indexed:
            n = self.topics.partitions
            for key in self.states.keys():  # noqa: SIM118 (a store, not a dict)
                if home_partition(key, n) == partition:
                    users.setdefault(key, None)
            self._indexed[partition] = self.now()
        return users

    # ----------------------------------------------------------------- state cache
    def _state(self, user_id: str) -> UserState | None:
        state = self._cache.get(user_id)
        if state is None:
            state = self.states.get(user_id)
            if state is not None:
                self._cache[user_id] = state
        return state

    def _touch(
        self, user_id: str, buffer: UserBuffer, event: Event, now: float, late: bool
    ) -> None:
        state = self._cache.get(user_id)
        if state is None:
            state = UserState(buffer, now)
            self._cache[user_id] = state
        else:
            state.buffer = buffer
            state.last_event_wall_s = now
            state.idle_flushed = False
        if late:
            state.late_wall_s = now
        batch = self._batch
        batch.dirty[user_id] = event
        if batch.deleted:
            batch.deleted.pop(user_id, None)
        partition = event.message.partition
        users = self._index.get(partition)
        if users is None:
            users = self._index[partition] = {}
        users[user_id] = None

    # ----------------------------------------------------------------- batch end
    def score(self) -> None:
        """Starts scoring the waiting windows; the agent goes on with the next messages.

        Beats are chained: each is scored once the beats before it are done (never two scorer
        calls at once), so alerts leave in window order, and a checkpoint waits for every beat
        before it.
        """
        batch = self._batch
        if not batch.windows:
            return
        windows, completed = batch.windows, batch.completed_at
        batch.windows, batch.completed_at = [], []
        previous = self._scoring
        self._scoring = asyncio.ensure_future(
            self._score_and_emit(previous, windows, completed, self._generation)
        )

    async def _score_and_emit(
        self,
        previous: asyncio.Future[bool] | None,
        windows: list[Window],
        completed: list[float | None],
        generation: int,
    ) -> bool:
        if previous is not None and not await previous:
            return False
        if generation != self._generation:
            return False  # partitions were revoked meanwhile: the new owner replays these
        if len(windows) <= self.limits.max_windows:
            verdicts = self.scorer.score(windows)  # the steady beat: milliseconds, on the loop
        else:
            loop = asyncio.get_running_loop()
            verdicts = await loop.run_in_executor(self.executor, self.scorer.score, windows)
            if generation != self._generation:
                return False
        await self._emit(windows, verdicts, completed)
        return True

    async def scored(self) -> bool:
        """Waits for every scoring beat started so far; False if partitions were revoked."""
        self.score()
        scoring, self._scoring = self._scoring, None
        return scoring is None or await scoring

    async def checkpoint(self, ack: Callable[[Event], Any]) -> None:
        """Scores what waits, writes each touched user once, then acknowledges the messages."""
        if not await self.scored():
            return
        batch, self._batch = self._batch, _Batch()
        for user_id, event in batch.dirty.items():
            state = self._cache.get(user_id)
            if state is not None:
                self.states.put(user_id, state, event)
        for user_id, recent in batch.recent.items():
            if user_id not in batch.deleted:
                event = batch.dirty.get(user_id) or batch.events[-1]
                self.recent_alerts.put(user_id, _latest(recent), event)
        for user_id, event in batch.deleted.items():
            self.states.delete(user_id, event)
            self.recent_alerts.delete(user_id, event)
        for event in batch.events:
            result = ack(event)
            if asyncio.iscoroutine(result):
                await result
        self.metrics.active_users.set(sum(len(users) for users in self._index.values()))
        self._trim_cache(batch.dirty)

    async def _emit(
        self,
        windows: Sequence[Window],
        verdicts: Sequence[WindowScore],
        completed_at: Sequence[float | None],
    ) -> None:
        metrics = self.metrics
        metrics.windows_scored.inc(len(windows))
        reasons: dict[str, int] = {}
        recent = self._batch.recent
        for window, verdict, completed in zip(windows, verdicts, completed_at, strict=True):
            metrics.anomaly_score.observe(verdict.score)
            if not verdict.anomalous:
                continue
            user_id = window.user_id
            kept = recent.get(user_id)
            if kept is None:
                stored = self.recent_alerts.get(user_id) or []
                kept = recent[user_id] = {a["alert_id"]: a for a in stored}
            sent: list[tuple[dict[str, Any], WindowScore]] = []
            if verdict.back is not None:
                # the previous window was scored earlier: its alert, if any, is among the
                # user's recent ones (this batch's included), under the id it would have.
                # ``carry`` keeps the back finding's score, channels and reasons, so the
                # alert built to learn that id is also the one to send
                earlier = self.make_alert(previous_span(window), verdict.back)
                retro = carry(verdict, earlier["alert_id"] in kept)
                if retro is not None:
                    sent.append((earlier, retro))
            alert = self.make_alert(window, verdict)
            known = kept.get(alert["alert_id"])
            # late points in an hour alerted already: its alert stands; an hour the idle flush
            # alerted, completed with nothing that changes the alert: sent already
            if known is None or not (window.after_close or _same_alert(known, alert)):
                sent.append((alert, verdict))
            for alert, said in sent:
                await self.sink.alert(user_id, orjson.dumps(alert), completed)
                for reason in said.reasons or ("anomaly_score",):
                    reasons[reason] = reasons.get(reason, 0) + 1
                kept[alert["alert_id"]] = alert  # a re-sent alert replaces itself
            if len(kept) > 2 * RECENT_ALERTS:  # a user alerting all day: keep memory bounded
                kept = recent[user_id] = {a["alert_id"]: a for a in _latest(kept)}
        for reason, count in reasons.items():
            metrics.alerts.labels(reason).inc(count)

    def _trim_cache(self, keep: Iterable[str]) -> None:
        excess = len(self._cache) - CACHE_USERS
        if excess <= 0:
            return
        protected = set(keep)
        for user_id in [u for u in self._cache if u not in protected][:excess]:
            del self._cache[user_id]

    def on_revoked(self) -> None:
        """Forgets every unacknowledged effect; Faust redelivers the messages to the new owner."""
        self._generation += 1
        self._batch = _Batch()
        self._take = None
        self._held_at.clear()
        self.flush_requested = False
        self._scoring = None
        self._cache.clear()
        self._index.clear()
        self._indexed.clear()

    @property
    def pending_events(self) -> int:
        return len(self._batch.events)


def _same_alert(sent: dict[str, Any], alert: dict[str, Any]) -> bool:
    """Whether ``alert`` says what ``sent`` (its window's alert sent before) said."""
    return all(sent.get(k) == alert[k] for k in ("score", "reasons", "channels"))


def _latest(alerts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``RECENT_ALERTS`` latest alerts by window start (sorted once per user and checkpoint,
    not on every alert: a 100-point message can close two windows of the same user)."""
    ordered = sorted(alerts.values(), key=lambda a: str(a["window_start"]))
    return ordered[-RECENT_ALERTS:]


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return orjson.dumps(value)


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    items = headers.items() if isinstance(headers, dict) else headers
    for key, value in items:
        if key == name:
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return None
