"""Replaying finite inputs in event-time order, so a streaming buffer de-duplicates them fully.

Files arrive source by source (a Takeout folder is one file per stream, each covering the whole
period). Fed in that order, the first stream pushes the watermark to its end and closes the hours
before it, so the other streams' points for those hours come too late to be compared: the winner
would depend on the file names. ``in_event_time`` re-emits every accepted point in the order a
live feed would have had: each user's points slice by slice between the instants windows close,
one run per stream within a slice (``in_event_time`` says why that is the same to the buffer as
one point at a time by end time). Only a point reaching more than the grid's lateness past a
closed window can still lose that part, exactly as it would live.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np

from stream import revisions
from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing.decode import parse_obj
from stream.points import DATA_TYPE_CHANNELS, Channel, ParseResult, PointBatch, record_ids_of

CHUNK_POINTS: Final = 1000
_TYPE_NAMES: Final = {channel: name for name, channel in DATA_TYPE_CHANNELS.items()}

_Group = tuple[str, Channel, str, bool]


def in_event_time(
    results: Iterable[ParseResult], runs_per_result: int = 512, grid: GridSpec = DEFAULT_GRID
) -> Iterator[ParseResult]:
    """All rejections and ignored counts first, then the accepted points in event-time order.

    The points are those of ``results`` in the order of their ends (ties: start, then stream)
    as far as any buffer can tell, but cut into few long runs. Users are independent, and a
    user's event time matters only where it closes windows: at each window end plus
    ``grid``'s lateness. So each user's points are taken slice by slice between those
    instants, each slice as its first point alone (the one that closes the windows before it,
    with exactly what had arrived), then one run per stream; a point reaching hours already
    closed comes alone too (``stream.late`` judges each arrival's late points together), and a
    slice with two such points keeps its points in event time. Within a slice nothing closes
    and no point is late to another, and the buffer's result does not depend on the order of
    streams (``tests/test_event_time_runs.py``); a run of one point per interleaved stream cost
    a buffer call each. Only the replay history sees streams in another order within a slice
    (a copy sent through another source less than a slice from its original may be the one
    marked), which of two sources first touching a minute counts its point as shadowed, and
    Health Connect records updated in place are followed across a whole run
    (``stream.revisions`` keeps the latest 4 records of a source between arrivals, all of one).
    """
    groups: dict[_Group, list[PointBatch]] = {}
    head = ParseResult()
    for result in results:
        head.ignored += result.ignored
        head.rejections.extend(result.rejections)
        for batch in result.batches:
            if len(batch):
                key = (batch.user_id, batch.channel, batch.source, batch.manual)
                groups.setdefault(key, []).append(batch)
    if head.ignored or head.rejections:
        yield head
    if not groups:
        return
    keys = sorted(groups, key=lambda k: (k[0], int(k[1]), k[2], k[3]))
    start = np.concatenate([b.start_ns for k in keys for b in groups[k]])
    end = np.concatenate([b.end_ns for k in keys for b in groups[k]])
    value = np.concatenate([b.value for k in keys for b in groups[k]])
    ids = record_ids_of([b for k in keys for b in groups[k]])
    sizes = [sum(len(b) for b in groups[k]) for k in keys]
    group = np.repeat(np.arange(len(keys)), sizes)
    user_of_group = np.cumsum([i > 0 and keys[i][0] != keys[i - 1][0] for i in range(len(keys))])
    user = user_of_group[group]
    # slice s holds the ends in [c(s), c(s + 1)), c(s) = the instant window s closes
    window = grid.window_ns + grid.lateness_ns
    piece = (end - window) // grid.hop_ns
    order = np.lexsort((group, start, end, piece, user))  # event time within each user's slice
    start, end, value, group = start[order], end[order], value[order], group[order]
    user, piece = user[order], piece[order]
    ids = None if ids is None else ids[order]
    opens = np.ones(len(group), dtype=np.bool_)
    opens[1:] = (user[1:] != user[:-1]) | (piece[1:] != piece[:-1])
    # windows up to s have closed once the slice's first point arrived: their bins end here
    reaching = ~opens & (start < piece * grid.hop_ns + grid.window_ns)
    alone = opens | reaching
    # each point reaching closed hours emits them again (``stream.late``): a slice holding two
    # such points keeps its event-time order, so those windows come in the order they would
    block = np.cumsum(opens) - 1
    tangled = (np.bincount(block, weights=reaching) >= 2)[block]
    stream_first = np.where(tangled, 0, group)
    order = np.lexsort((group, start, end, stream_first, ~opens, piece, user))
    start, end, value, group, alone = (
        start[order], end[order], value[order], group[order], alone[order]
    )  # fmt: skip
    ids = None if ids is None else ids[order]
    cut = (group[1:] != group[:-1]) | alone[1:] | alone[:-1]
    bounds = np.concatenate(([0], np.flatnonzero(cut) + 1, [len(group)]))
    out = ParseResult(in_event_time=True)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        user_id, channel, source, manual = keys[int(group[lo])]
        run_ids = None if ids is None else ids[lo:hi]
        out.batches.append(
            PointBatch(
                user_id, channel, source, start[lo:hi], end[lo:hi], value[lo:hi], manual, run_ids
            )
        )
        if len(out.batches) >= runs_per_result:
            yield out
            out = ParseResult(in_event_time=True)
    if out.batches:
        yield out


def merged(results: Sequence[ParseResult]) -> ParseResult:
    """One batch per (user, channel, source, manual), points in time order (stable: points of
    one start keep their order, so the buffer sums them in the same order however they came).

    The buffer's cost is mostly per ``add`` call, and a phone's sync is a few points per event:
    a user-day arrives as dozens of tiny batches that are one stream each (the API merges a
    request so; ``model_export.eval.late_delivery`` a day synced at once).
    """
    out = ParseResult()
    groups: dict[tuple[str, int, str, bool], list[PointBatch]] = {}
    for result in results:
        out.ignored += result.ignored
        out.rejections.extend(result.rejections)
        for batch in result.batches:
            key = (batch.user_id, int(batch.channel), batch.source, batch.manual)
            groups.setdefault(key, []).append(batch)
    for parts in groups.values():
        first = parts[0]
        start = np.concatenate([b.start_ns for b in parts])
        if len(parts) == 1 and bool((start[1:] >= start[:-1]).all()):
            out.batches.append(first)
            continue
        order = np.argsort(start, kind="stable")
        ids = record_ids_of(parts)
        out.batches.append(
            PointBatch(
                first.user_id,
                first.channel,
                first.source,
                start[order],
                np.concatenate([b.end_ns for b in parts])[order],
                np.concatenate([b.value for b in parts])[order],
                first.manual,
                None if ids is None else ids[order],
            )
        )
    return out


def ordered_events(
    events: Iterable[tuple[str | None, Any]], now_ns: int | None = None
) -> Iterator[tuple[str | None, Any]]:
    """The same events for publishing, with the accepted points in event-time order.

    First, what will be rejected or ignored, so the worker still dead-letters and counts it: an
    unreadable input or an event with nothing accepted as it is, and of a Dataset or Takeout body
    that is only partly broken, a copy holding only its broken and ignored points. Then every
    accepted point as REST ``Dataset`` events, one per run of one stream in ``in_event_time``'s
    order (at most ``CHUNK_POINTS`` points each): the worker then sees exactly the sequence of
    points ``lifeup score`` feeds its buffers. (A partly broken Health Connect record or aggregate
    response is sent whole, first, and its accepted points with it.) Stream ids are kept, so
    ranking is unchanged; a manual point keeps its ``user_input`` origin.
    """
    now = time.time_ns() if now_ns is None else now_ns
    accepted: list[ParseResult] = []
    for user_id, event in events:
        if not isinstance(event, dict | list):
            yield user_id, event
            continue
        residual, result = _split(event, user_id, now)
        for part in residual:
            yield user_id, part
        accepted.append(result)
    # Dataset points carry no record id: Health Connect records updated in place are resolved
    # here, in the order the worker would have met them (``stream.revisions``)
    remembered: dict[tuple[str, int, str, bool], bytes] = {}
    for result in in_event_time(accepted):
        for batch in result.batches:
            sent = batch
            if batch.record_ids is not None:
                stream = (batch.user_id, int(batch.channel), batch.source, batch.manual)
                memory, sent, _ = revisions.revise(remembered.get(stream, b""), 1, batch)
                remembered[stream] = memory
            for offset in range(0, len(sent), CHUNK_POINTS):
                yield sent.user_id, dataset_event(sent, offset, offset + CHUNK_POINTS)


def _split(event: Any, user_id: str | None, now_ns: int) -> tuple[list[Any], ParseResult]:
    """(events carrying only what is rejected or ignored, the accepted points to reorder)."""
    result = parse_obj(event, user_id, now_ns=now_ns)
    if not result.rejections and not result.ignored:
        return [], result
    if not result.batches:
        return [event], ParseResult()
    if type(event) is list:
        residual: list[Any] = []
        accepted = ParseResult()
        for element in event:
            parts, clean = _split(element, user_id, now_ns)
            residual.extend(parts)
            accepted.batches.extend(clean.batches)
        return residual, accepted
    for key in ("point", "Data Points"):
        points = event.get(key)
        if type(points) is list:
            broken = [p for p in points if _not_clean({**event, key: [p]}, user_id, now_ns)]
            return [{**event, key: broken}], ParseResult(result.batches)
    return [event], ParseResult()


def _not_clean(event: Any, user_id: str | None, now_ns: int) -> bool:
    result = parse_obj(event, user_id, now_ns=now_ns)
    return bool(result.rejections or result.ignored)


def dataset_event(batch: PointBatch, lo: int = 0, hi: int | None = None) -> dict[str, Any]:
    """A batch (or a slice of it) as a contract REST ``Dataset`` event."""
    type_name = _TYPE_NAMES[batch.channel]
    key = "intVal" if batch.channel is Channel.STEPS else "fpVal"
    values = batch.value[lo:hi]
    cast = [int(v) for v in values] if key == "intVal" else values.tolist()
    extra = {"originDataSourceId": "user_input"} if batch.manual else {}
    points = [
        {
            "dataTypeName": type_name,
            "startTimeNanos": s,
            "endTimeNanos": e,
            "value": [{key: v}],
            **extra,
        }
        for s, e, v in zip(
            batch.start_ns[lo:hi].tolist(), batch.end_ns[lo:hi].tolist(), cast, strict=True
        )
    ]
    return {"user_id": batch.user_id, "dataSourceId": batch.source, "point": points}
