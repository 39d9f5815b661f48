"""The detection chain without Kafka: parsed points → per-user buffers → windows → verdicts.

``lifeup score``, ``POST /v1/score`` and the Faust worker all go through ``UserPipeline`` so that
they emit the same alerts for the same events. The worker keeps the buffers in a Faust table
instead of the in-memory dict used here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Final

from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID, GridSpec
from stream.late import closed_windows
from stream.parsing.errors import TOO_MANY_SOURCES
from stream.points import Channel, ParseResult, PointBatch, Rejection, SinglePoint
from stream.scoring.base import WindowScore, WindowScorer
from stream.scoring.retro import carry_back, first_verdicts
from stream.source_table import MAX_SOURCE_ENTRIES
from stream.sources import source_rank
from stream.windows import Window

_NONE = -(1 << 62)  # no point end yet
_STEPS: Final = int(Channel.STEPS)
_NOBODY: Final[frozenset[str]] = frozenset()

Held = dict[str, tuple[int, int]]  # per user: latest point end, latest step point end


class Take:
    """Messages that arrived together (the worker's take, ``Processor.handle_take``): the users
    whose event time it holds back (``reaching_back``: nobody else's changes), and what their
    messages added so far would move it on to (``ends``, for ``release``)."""

    __slots__ = ("ends", "holding")

    def __init__(self, holding: set[str]) -> None:
        self.holding = holding
        self.ends: Held = {}


def take_of(results: Iterable[ParseResult], grid: GridSpec) -> Take:
    """The take of these messages, in the order they arrived."""
    return Take(reaching_back(results, grid))


class Outcomes:
    """Point counts by the ``outcome`` label of ``lifeup_events_total``.

    A plain class (not a dataclass) for the compiled path: one is built per message.
    """

    __slots__ = ("accepted", "duplicate", "ignored", "late", "rejected", "rejections")

    def __init__(
        self,
        accepted: int = 0,
        ignored: int = 0,
        duplicate: int = 0,
        late: int = 0,
        rejected: int = 0,
        rejections: list[Rejection] | None = None,
    ) -> None:
        self.accepted: int = accepted
        self.ignored: int = ignored
        self.duplicate: int = duplicate
        self.late: int = late
        self.rejected: int = rejected
        self.rejections: list[Rejection] = [] if rejections is None else rejections

    def add(self, other: Outcomes) -> None:
        self.accepted += other.accepted
        self.ignored += other.ignored
        self.duplicate += other.duplicate
        self.late += other.late
        self.rejected += other.rejected
        self.rejections.extend(other.rejections)

    def as_labels(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "ignored": self.ignored,
            "duplicate": self.duplicate,
            "late": self.late,
            "rejected": self.rejected,
        }


def apply(
    result: ParseResult,
    buffers: MutableMapping[str, UserBuffer],
    grid: GridSpec = DEFAULT_GRID,
    now_ns: int | None = None,
    take: Take | None = None,
) -> tuple[Outcomes, list[Window]]:
    """Adds one parse result to the users' buffers; returns outcomes and windows now complete.

    Event time never runs ahead of the clock (``now_ns``, default the wall clock): a point may
    end in the future (an app's record of the hour or the day, written as it goes; parsing
    refuses one that starts there), and the hours after now are not over because it says so.
    Such a message is added at once and event time moved on to now only (``_ahead``).

    ``take``: the messages that arrived with this one are not late to it. The event time of the
    take's ``holding`` users is not moved on; their ends are kept in the take until ``release``
    at its end (``stream.worker.processor.TAKE_MAX`` messages at most: their rings hold what a
    take of them spans, as a message's own do). A sync sent as one message per stream (steps,
    then distance, then speed, each a REST ``Dataset``) is then judged whole, as one message
    is."""
    now = time.time_ns() if now_ns is None else now_ns
    outcomes = Outcomes(ignored=result.ignored, rejected=len(result.rejections))
    if result.rejections:
        outcomes.rejections.extend(result.rejections)
    holding = take.holding if take is not None else _NOBODY
    held = take.ends if take is not None else None
    if len(result.batches) == 1:  # one stream of one user: the usual message, no bookkeeping
        batch = result.batches[0]
        hold = held if batch.user_id in holding else None
        return outcomes, _apply_one(batch, buffers, grid, outcomes, now, hold)
    touched: dict[str, UserBuffer] = {}
    windows: list[Window] = []
    # A message arrives at once: what of it had closed is judged together, before any of it is
    # added (``stream.late``); then it is added, event time held back until its end if need be.
    late: dict[str, list[PointBatch]] = {}
    batches: list[PointBatch] = []
    for batch in result.batches:
        buffer = touched.get(batch.user_id)
        if buffer is None:
            buffer = touched[batch.user_id] = _buffer_of(buffers, batch.user_id, grid)
        revised = _revised(buffer, batch, outcomes)
        batches.append(revised)
        if buffer.reaches_closed(revised):  # rare
            late.setdefault(batch.user_id, []).append(revised)
    for user_id, parts in late.items():
        windows.extend(closed_windows(touched[user_id], parts, grid))
    mine = [b for b in batches if b.user_id in holding]
    if held is not None and mine:  # held for the take, until ``release``
        for user_id, (end, steps_end) in message_ends(mine, grid)[0].items():
            _hold(held, user_id, (min(end, now), min(steps_end, now)))
        batches = [b for b in batches if b.user_id not in holding]
    latest = _held_back(batches, grid, now) if batches else None
    for batch in mine:
        _add(touched[batch.user_id], batch, outcomes, True)
    for batch in batches:
        _add(touched[batch.user_id], batch, outcomes, latest is not None)
    if latest is not None:
        for user_id, (end, steps_end) in latest.items():
            touched[user_id].settle(end, steps_end)
    for user_id, buffer in touched.items():
        windows.extend(buffer.pop_complete())
        buffers[user_id] = buffer  # write back: a Faust table only persists on assignment
    return outcomes, windows


def _held_back(
    batches: list[PointBatch], grid: GridSpec, now: int
) -> dict[str, tuple[int, int]] | None:
    """``message_ends``, when adding ``batches`` one by one would make part of a point late
    because of another batch of the same message: a Health Connect list or an aggregate
    response carries a day of steps and a day of distance, and whichever ends first would close
    the day's hours before the other is added. Such a message is added as it arrived, at once:
    event time moves on only after the last of its batches (``UserBuffer.add(defer=True)``,
    then ``settle``), and no further than ``now`` (``_ahead``). None when no batch reaches an
    hour that the batches before it close (``GridSpec.closes_at``) and none ends after ``now``,
    the usual message, added batch by batch."""
    latest, behind = message_ends(batches, grid)
    ahead = _ahead(latest, now)
    if ahead is not None:
        return ahead
    return latest if behind else None


def _ahead(latest: dict[str, tuple[int, int]], now: int) -> dict[str, tuple[int, int]] | None:
    """``latest`` (``message_ends``) held to ``now``, when a point of the message ends after
    it; else None. Event time is the latest point end, so one point dated hours ahead would
    close every hour before it, and what the user sends next would all be late."""
    if all(end <= now for end, _ in latest.values()):
        return None
    return {user: (min(end, now), min(steps, now)) for user, (end, steps) in latest.items()}


def message_ends(
    batches: list[PointBatch], grid: GridSpec
) -> tuple[dict[str, tuple[int, int]], bool]:
    """Each user's latest point end and latest step point end in one message (what ``settle``
    takes), and whether a batch reaches an hour that the batches before it close."""
    latest: dict[str, tuple[int, int]] = {}
    behind = False
    for batch in batches:
        if type(batch) is SinglePoint:  # compiled, its arrays are not there to read
            first_start, last_end = batch.start, batch.end
        elif len(batch) == 0:
            continue
        else:
            first_start, last_end = int(batch.start_ns.min()), int(batch.end_ns.max())
        seen, steps_seen = latest.get(batch.user_id, (_NONE, _NONE))
        if grid.closes_at(first_start) <= seen:
            behind = True
        if int(batch.channel) == _STEPS and last_end > steps_seen:
            steps_seen = last_end
        latest[batch.user_id] = (max(seen, last_end), steps_seen)
    return latest, behind


def _apply_one(
    batch: PointBatch,
    buffers: MutableMapping[str, UserBuffer],
    grid: GridSpec,
    outcomes: Outcomes,
    now: int,
    held: Held | None = None,
) -> list[Window]:
    buffer = _buffer_of(buffers, batch.user_id, grid)
    batch = _revised(buffer, batch, outcomes)
    # before ``add``: judged against what had closed; rare, so asked here before the call out
    late = closed_windows(buffer, [batch], grid) if buffer.reaches_closed(batch) else None
    if type(batch) is SinglePoint:  # compiled, its arrays are not there to read
        last_end = batch.end
    else:
        last_end = int(batch.end_ns.max()) if len(batch) else _NONE
    if held is not None:
        _add(buffer, batch, outcomes, True)
        end = min(last_end, now)
        _hold(held, batch.user_id, (end, end if int(batch.channel) == _STEPS else _NONE))
    elif last_end <= now:
        _add(buffer, batch, outcomes)
    else:  # rare: ends after the clock (``_ahead``)
        _add(buffer, batch, outcomes, True)
        for end, steps_end in (_ahead(message_ends([batch], grid)[0], now) or {}).values():
            buffer.settle(end, steps_end)
    windows = buffer.pop_complete()
    buffers[batch.user_id] = buffer  # write back: a Faust table only persists on assignment
    return late + windows if late else windows


def reaching_back(results: Iterable[ParseResult], grid: GridSpec) -> set[str]:
    """The users of whom a message starts in an hour that their messages before it in
    ``results`` close (``GridSpec.closes_at``, inlined: asked of a take's every message): added
    one by one, its points would be late to messages that arrived with it. For everyone else
    holding event time back changes nothing (a stream in order, or shuffled within the
    lateness), so their windows stay those ``lifeup score`` gives."""
    window_ns, hop_ns, lateness_ns = grid.window_ns, grid.hop_ns, grid.lateness_ns
    seen: dict[str, int] = {}
    out: set[str] = set()
    for result in results:
        for user_id, (first, last) in _spans(result.batches).items():
            before = seen.get(user_id)
            if before is not None and first < before:
                closes = ((first - window_ns) // hop_ns + 1) * hop_ns + window_ns + lateness_ns
                if closes <= before:
                    out.add(user_id)
            if before is None or last > before:
                seen[user_id] = last
    return out


def _spans(batches: list[PointBatch]) -> dict[str, tuple[int, int]]:
    """Per user, the earliest point start and latest point end of ``batches``."""
    out: dict[str, tuple[int, int]] = {}
    for batch in batches:
        if type(batch) is SinglePoint:  # compiled, its arrays are not there to read
            first, last = batch.start, batch.end
        elif len(batch):
            first, last = int(batch.start_ns.min()), int(batch.end_ns.max())
        else:
            continue
        was = out.get(batch.user_id)
        if was is not None:
            first, last = min(first, was[0]), max(last, was[1])
        out[batch.user_id] = (first, last)
    return out


def _hold(held: Held, user_id: str, ends: tuple[int, int]) -> None:
    was = held.get(user_id)
    if was is None:
        held[user_id] = ends
    else:
        held[user_id] = (max(was[0], ends[0]), max(was[1], ends[1]))


def release(held: Held, buffers: Mapping[str, UserBuffer]) -> list[Window]:
    """Moves the held users' event time on to their held ends (a ``Take``'s ``ends``, which
    are emptied): the windows now complete."""
    out: list[Window] = []
    for user_id, (end, steps_end) in held.items():
        buffer = buffers.get(user_id)
        if buffer is not None:
            buffer.settle(end, steps_end)
            out.extend(buffer.pop_complete())
    held.clear()
    return out


def _buffer_of(
    buffers: MutableMapping[str, UserBuffer], user_id: str, grid: GridSpec
) -> UserBuffer:
    held = buffers.get(user_id)
    return UserBuffer(user_id, grid) if held is None else held


def _revised(buffer: UserBuffer, batch: PointBatch, outcomes: Outcomes) -> PointBatch:
    """``batch`` with records updated in place resolved (``UserBuffer.revise``); Google Fit
    data carries no record ids and passes as it is."""
    if batch.record_ids is None:
        return batch
    revised, dropped = buffer.revise(batch, source_rank(batch.channel, batch.source))
    outcomes.duplicate += dropped
    return revised


def _add(buffer: UserBuffer, batch: PointBatch, outcomes: Outcomes, defer: bool = False) -> None:
    added = buffer.add(batch, source_rank(batch.channel, batch.source), defer)
    outcomes.accepted += added.accepted
    outcomes.duplicate += added.duplicate
    outcomes.late += added.late
    if added.refused:
        outcomes.rejected += added.refused
        outcomes.rejections.append(_too_many_sources(batch, added.refused))


def _too_many_sources(batch: PointBatch, refused: int) -> Rejection:
    """The rejection of ``refused`` points of ``batch`` that its user's full source table has
    no room for (``stream.source_table.MAX_SOURCE_ENTRIES``)."""
    return Rejection(
        TOO_MANY_SOURCES,
        f"{refused} point(s) of source {batch.source!r} not counted: this user's"
        f" {MAX_SOURCE_ENTRIES} source entries (one per source and channel) are in use, and"
        " no honest user has that many",
        batch.user_id,
    )


@dataclass(slots=True)
class OfflineRun:
    """What scoring a finite set of inputs produced. ``windows_scored`` counts every window the
    scorer saw, as the worker's ``lifeup_windows_scored_total`` does: an hour emitted again for
    late manual points is scored twice but has one verdict."""

    outcomes: Outcomes
    verdicts: list[tuple[Window, WindowScore]]
    windows_scored: int = 0


def score_results(
    results: Iterable[ParseResult],
    scorer: WindowScorer,
    grid: GridSpec = DEFAULT_GRID,
    batch_windows: int = 1024,
) -> OfflineRun:
    """Scores inputs as the worker would, then flushes every user as an idle flush would; a
    window not alerted gets the retroactive verdict its next window carries back
    (``stream.scoring.retro``), as the worker sends it."""
    buffers: dict[str, UserBuffer] = {}
    outcomes = Outcomes()
    verdicts: list[tuple[Window, WindowScore]] = []
    pending: list[Window] = []
    for result in results:
        got, windows = apply(result, buffers, grid)
        outcomes.add(got)
        pending.extend(windows)
        if len(pending) >= batch_windows:
            verdicts.extend(_score(pending, scorer))
            pending = []
    for buffer in buffers.values():
        pending.extend(buffer.flush())
    verdicts.extend(_score(pending, scorer))
    scored = len(verdicts)
    verdicts.sort(key=lambda v: (v[0].user_id, v[0].start_ns))  # stable: emission order
    return OfflineRun(outcomes, carry_back(first_verdicts(verdicts)), scored)


def _score(windows: list[Window], scorer: WindowScorer) -> Iterator[tuple[Window, WindowScore]]:
    if windows:
        yield from zip(windows, scorer.score(windows), strict=True)
