"""Points that arrive after the hours they belong to were emitted, and what is still judged of them.

The buffer holds only open windows, so a point whose hours have closed is counted ``late`` and
its part there dropped (``stream.buffer``): a window is scored once, with what had arrived. Two
kinds of late point still carry a finding that needs nothing else of the hour, and each closed
hour they reach is emitted again holding only them (``Window.after_close``):

- **manual entries** (``manual_entry``): yesterday's walk typed in this morning;
- **steps** that are not a coarse bucket (REST ``:aggregated``): a wearable syncing hours later,
  or an app backfilling steps it "counted" earlier, the way injected steps often arrive. Alone,
  they are judged by the step checks only (``stream.scoring.plausibility.AFTER_CLOSE_CHECKS``:
  a cadence no human reaches or holds that steadily, counts repeating like a motor's), which
  hold whatever the hour's other data said; the distance checks and the model would judge an
  hour that lacks what arrived on time. A coarse bucket is left out: spread evenly over its
  hour it looks like a motor, and on time it would have been shadowed by finer sources.

The hour's first verdict stands when it alerted; otherwise an alerting after-close verdict is
its alert (``stream.scoring.retro.first_verdicts``; the worker reads its recent alerts).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stream import interpolation as ip
from stream.buffer import MAX_POINT_S, UserBuffer
from stream.grid import GridSpec
from stream.points import Channel, PointBatch
from stream.scoring.context import AFTER_BINS, BEFORE_BINS
from stream.sources import COARSE, source_tier
from stream.windows import Window, after_close

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]


def judged_late(batch: PointBatch) -> bool:
    """Whether ``batch``'s points are still judged in hours that closed before they arrived."""
    if batch.manual:
        return True
    return batch.channel == Channel.STEPS and source_tier(batch.channel, batch.source) != COARSE


def closed_windows(buffer: UserBuffer, parts: list[PointBatch], grid: GridSpec) -> list[Window]:
    """The after-close windows of one stream's points in one arrival (``parts``: the batches of
    one user, channel, source and manual flag; see the module), judged against ``buffer``
    before any of them is added to it. Each window sees the stream's own bins around it as
    its context (``Window.before``/``after``), as on time it would see the ring's: a late day
    of a shaker is judged across its hours, not hour by hour. Callers ask
    ``UserBuffer.reaches_closed`` first (one comparison, compiled), as nearly no batch reaches
    a closed hour."""
    batch = parts[0] if len(parts) == 1 else _joined(parts)
    if not judged_late(batch) or not buffer.reaches_closed(batch):
        return []
    reached = buffer.closed_windows(batch)
    if not reached:
        return []
    starts = sorted(reached)
    wb, bin_ns = grid.window_bins, grid.bin_ns
    lo = starts[0] // bin_ns - BEFORE_BINS
    steps, covered = np.zeros(0), np.zeros(0, dtype=np.bool_)
    if batch.channel == Channel.STEPS:
        hi = starts[-1] // bin_ns + wb + AFTER_BINS
        steps, covered = step_bins(batch.start_ns, batch.end_ns, batch.value, lo, hi, grid)
    out: list[Window] = []
    for start in starts:
        at = start // bin_ns - lo
        manual = reached[start] if batch.manual else 0
        if not steps.shape[0]:
            row, mask = np.zeros(wb), np.zeros(wb, dtype=np.bool_)
            out.append(after_close(batch.user_id, start, start + grid.window_ns, row, mask, manual))
            continue
        out.append(
            after_close(
                batch.user_id,
                start,
                start + grid.window_ns,
                steps[at : at + wb],
                covered[at : at + wb],
                manual,
                _context(steps[at - BEFORE_BINS : at], covered[at - BEFORE_BINS : at]),
                _context(
                    steps[at + wb : at + wb + AFTER_BINS], covered[at + wb : at + wb + AFTER_BINS]
                ),
            )
        )
    return out


def _context(steps: F64, covered: Bool) -> F32 | None:
    """``Window.before``/``after`` of steps alone: NaN where no point covers a bin, and for the
    other channels; None when no point covers any."""
    if not covered.any():
        return None
    side = np.full((3, steps.shape[0]), np.nan, dtype=np.float32)
    side[0] = np.where(covered, steps, np.nan)
    return side


def _joined(parts: list[PointBatch]) -> PointBatch:
    """One batch of the points of several batches of one stream."""
    first = parts[0]
    return PointBatch(
        first.user_id,
        first.channel,
        first.source,
        np.concatenate([b.start_ns for b in parts]),
        np.concatenate([b.end_ns for b in parts]),
        np.concatenate([b.value for b in parts]),
        first.manual,
    )


def step_bins(
    start_ns: I64, end_ns: I64, value: F64, lo_bin: int, hi_bin: int, grid: GridSpec
) -> tuple[F64, Bool]:
    """Steps per bin of ``[lo_bin, hi_bin)`` of the points alone, spread as the buffer spreads
    them (whole steps by largest remainder, ``stream.interpolation``), and which bins a point
    covers. A point sent twice counts once, as the buffer's keys would have it; points longer
    than the buffer accepts are left out, as it drops them whole."""
    bin_ns = grid.bin_ns
    pairs, at = np.unique(np.stack([start_ns, end_ns]), axis=1, return_index=True)
    start_ns, end_ns = pairs[0], pairs[1]
    total = np.rint(value[at]).astype(np.int64)
    first, last = ip.point_bins(start_ns, end_ns, bin_ns, speed=False)
    keep = last - first < MAX_POINT_S // grid.bin_s
    start_ns, end_ns, total = start_ns[keep], end_ns[keep], total[keep]
    point, bins = ip.expand(first[keep], last[keep])
    instant = end_ns <= start_ns  # lies wholly in the bin of its instant
    spans = ip.overlap_ns(start_ns[point], end_ns[point], bins, bin_ns)
    overlap = np.where(instant[point], 1, spans)
    duration = np.where(instant, 1, end_ns - start_ns)[point]
    counts = ip.apportion_counts(total[point], point, overlap, duration).astype(np.float64)
    inside = (bins >= lo_bin) & (bins < hi_bin)
    steps = np.zeros(hi_bin - lo_bin)
    np.add.at(steps, bins[inside] - lo_bin, counts[inside])
    covered = np.zeros(hi_bin - lo_bin, dtype=np.bool_)
    covered[bins[inside] - lo_bin] = True
    return steps, covered
