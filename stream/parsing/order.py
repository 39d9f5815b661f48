"""Replaying finite inputs in event-time order, so a streaming buffer de-duplicates them fully.

Files arrive source by source (a Takeout folder is one file per stream, each covering the whole
period). Fed in that order, the first stream pushes the watermark to its end and closes the hours
before it, so the other streams' points for those hours come too late to be compared: the winner
would depend on the file names. ``in_event_time`` re-emits every accepted point as a live feed
would have sent it: each user's points slice by slice between the instants windows close, in
arrivals (messages) of one batch per stream, no point late to another.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np

from stream import revisions
from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing.decode import parse_obj
from stream.points import DATA_TYPE_CHANNELS, Channel, ParseResult, PointBatch, record_ids_of

CHUNK_POINTS: Final = 1000
ARRIVAL_POINTS: Final = CHUNK_POINTS  # one message of ``ordered_events``; publish splits none
_TYPE_NAMES: Final = {channel: name for name, channel in DATA_TYPE_CHANNELS.items()}

_Group = tuple[str, Channel, str, bool]


def in_event_time(
    results: Iterable[ParseResult],
    grid: GridSpec = DEFAULT_GRID,
    max_points: int = ARRIVAL_POINTS,
) -> Iterator[ParseResult]:
    """All rejections and ignored counts first, then the accepted points as the arrivals of a
    live feed: one result per arrival, one batch per stream in it (points by start).

    A file does not say when its points arrived; each is taken to arrive when it ends, as a
    phone writes it. Users are independent, and a user's event time matters only where it
    closes windows: at each window end plus ``grid``'s lateness. So each user's points come
    slice by slice between those instants (by their ends), each slice in two arrivals: the
    point ending first, which closes the window before it with what had arrived (as live),
    with whatever of the slice still reaches that window (a point longer than the lateness),
    then the rest, which no closed window holds. ``stream.pipeline.apply`` adds each as a
    message, event time held back until its last point where one stream of it would make
    another's points late. A point reaching hours that earlier slices close (an hour's or a
    day's total, a long manual entry) arrives with every slice it spans, as one, so no point of
    a file is late to another: a day of steps and a day of distance from one aggregate response
    lost the steps' hours that the distance, ending first, had closed. The windows do not
    depend on the order or cutting of the inputs (``tests/test_event_time_runs.py``). An
    arrival of more than ``max_points`` points (a second-by-second speed stream) comes in parts
    of that many, in event time, each one Kafka message of ``ordered_events``; only there can a
    long point still be late to the part before it.
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
    # slice s holds the ends in [c(s), c(s + 1)), c(s) = the instant window s closes; a point
    # also reaches back to the window of its start, which the arrival of slice ``reach`` closes
    piece = (end - grid.window_ns - grid.lateness_ns) // grid.hop_ns
    reach = grid.first_window(start)
    low = np.minimum(reach, piece)
    # arrivals: the slices of each user, those a long point spans merged into one
    shift = np.int64(1) << 40  # users apart: slice numbers of hours since 1970 stay below
    lo_key, hi_key = user * shift + low, user * shift + piece
    order = np.lexsort((group, start, end, hi_key, lo_key))
    reached = np.maximum.accumulate(hi_key[order])
    opens = np.ones(len(order), dtype=np.bool_)
    opens[1:] = lo_key[order][1:] > reached[:-1]
    merged = np.cumsum(opens)[np.argsort(order)]  # per point, in input order
    # A slice on its own arrives in two: first the point that ends first, which closes the
    # window before it with what had arrived (as live), with whatever of the slice still reaches
    # that window (a point longer than the lateness); then the rest, which no window closed
    # by then holds. Slices a long point joins arrive as one.
    n = len(merged)
    lowest = np.full(int(merged.max()) + 1, np.iinfo(np.int64).max)
    highest = np.full(lowest.shape, np.iinfo(np.int64).min)
    np.minimum.at(lowest, merged, piece)
    np.maximum.at(highest, merged, piece)
    order = np.lexsort((group, start, end, merged))
    first = np.zeros(n, dtype=np.bool_)
    first[order[np.flatnonzero(np.diff(merged[order], prepend=-1))]] = True
    rest = (lowest == highest)[merged] & ~first & (reach > piece)
    arrival = merged * 2 + rest
    # each arrival in event time (the order above, its heads first: a stable sort keeps it),
    # cut in parts of ``max_points``; in a part, a batch per stream
    order = order[np.argsort(arrival[order], kind="stable")]
    opens = np.ones(n, dtype=np.bool_)
    opens[1:] = arrival[order][1:] != arrival[order][:-1]
    arrival_no = np.cumsum(opens) - 1
    chunk = (np.arange(n) - np.flatnonzero(opens)[arrival_no]) // max(max_points, 1)
    within = np.lexsort((start[order], group[order], chunk, arrival_no))
    order, arrival_no, chunk = order[within], arrival_no[within], chunk[within]
    new_arrival = np.ones(n, dtype=np.bool_)
    new_arrival[1:] = (arrival_no[1:] != arrival_no[:-1]) | (chunk[1:] != chunk[:-1])
    start, end, value, group = start[order], end[order], value[order], group[order]
    ids = None if ids is None else ids[order]
    cut = new_arrival.copy()
    cut[1:] |= group[1:] != group[:-1]
    bounds = np.append(np.flatnonzero(cut), n).tolist()
    out = ParseResult()
    for lo, hi in itertools.pairwise(bounds):
        if new_arrival[lo] and out.batches:
            yield out
            out = ParseResult()
        user_id, channel, source, manual = keys[int(group[lo])]
        run_ids = None if ids is None else ids[lo:hi]
        out.batches.append(
            PointBatch(
                user_id, channel, source, start[lo:hi], end[lo:hi], value[lo:hi], manual, run_ids
            )
        )
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
    accepted point, one message per arrival of ``in_event_time`` (at most ``CHUNK_POINTS``
    points): a REST ``Dataset`` event, or a list of them when the arrival holds several streams.
    The worker then adds exactly the arrivals ``lifeup score`` adds to its buffers. (A partly
    broken Health Connect record or aggregate response is sent whole, first, and its accepted
    points with it.) Stream ids are kept, so ranking is unchanged; a manual point keeps its
    ``user_input`` origin.
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
        message: list[dict[str, Any]] = []
        for batch in result.batches:
            sent = batch
            if batch.record_ids is not None:
                stream = (batch.user_id, int(batch.channel), batch.source, batch.manual)
                memory, sent, _ = revisions.revise(remembered.get(stream, b""), 1, batch)
                remembered[stream] = memory
            if len(sent):
                message.append(dataset_event(sent))
        if message:  # one arrival, one message (``in_event_time`` keeps it to CHUNK_POINTS)
            yield result.batches[0].user_id, message[0] if len(message) == 1 else message


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
