"""The pure maths of the per-user buffer: bins a point touches, apportionment, speed gaps.

Kept apart from ``stream.buffer`` (which owns state and lifecycle) so each rule can be read and
tested on its own. Times are int64 Unix nanoseconds; a bin is ``[b * bin_ns, (b + 1) * bin_ns)``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Above this many steps in one point, step * overlap could overflow int64: use exact Python ints.
EXACT_INT_LIMIT: Final = (1 << 62) // (1 << 37)


def point_bins(start: I64, end: I64, bin_ns: int, speed: bool) -> tuple[I64, I64]:
    """First and last bin of each point.

    A delta covers the bins its ``[start, end)`` overlaps (a bin that only touches ``end`` gets
    nothing); a zero-length delta lies wholly in the bin of its instant. A speed sample is one
    observation, placed at the bin of its midpoint: a sample averaged over a span describes its
    middle, and counting it once keeps ``speed_samples`` equal to the samples received.
    """
    if speed:
        mid = (start + end) >> 1
        first = mid // bin_ns
        return first, first
    return start // bin_ns, np.maximum(end - 1, start) // bin_ns


def point_bins_one(start: int, end: int, bin_ns: int, speed: bool) -> tuple[int, int]:
    """``point_bins`` for one point, in Python ints (the single-event hot path)."""
    if speed:
        first = ((start + end) >> 1) // bin_ns
        return first, first
    return start // bin_ns, (end - 1 if end > start else start) // bin_ns


def expand(first: I64, last: I64) -> tuple[I64, I64]:
    """(point index, bin) for every bin every point touches, grouped by point, bins ascending."""
    counts = last - first + 1
    total = int(counts.sum())
    point = np.repeat(np.arange(first.shape[0], dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return point, first[point] + offsets


def overlap_ns(start: I64, end: I64, bins: I64, bin_ns: int) -> I64:
    """Nanoseconds of ``[start, end)`` inside each bin (pairs as from ``expand``)."""
    lo = np.maximum(start, bins * bin_ns)
    hi = np.minimum(end, (bins + 1) * bin_ns)
    return hi - lo


def apportion_counts(total: I64, point: I64, overlap: I64, duration: I64) -> I64:
    """Whole steps per (point, bin) pair in proportion to overlap, summing exactly to each total.

    Largest-remainder (Hamilton) apportionment: each bin gets the floor of its exact share, and
    the steps left over go one each to the bins with the largest remainders, ties to the earlier
    bin. Every bin count is a whole number and no step is created or lost, whatever the split.
    ``point`` must be non-decreasing (as ``expand`` makes it); ``duration`` is per pair, > 0.
    """
    n_points = int(point[-1]) + 1 if point.shape[0] else 0
    if total.shape[0] and int(np.abs(total).max()) > EXACT_INT_LIMIT:
        num_o = total.astype(object) * overlap.astype(object)
        quota = np.array(num_o // duration.astype(object), dtype=np.int64)
        remainder = np.array(num_o % duration.astype(object), dtype=np.float64)
    else:
        num = total * overlap
        quota = num // duration
        remainder = (num % duration).astype(np.float64)
    given = np.bincount(point, weights=quota, minlength=n_points).astype(np.int64)
    deficit = _per_point_totals(total, point, n_points) - given
    if not deficit.any():
        return quota
    pairs = np.arange(point.shape[0], dtype=np.int64)
    order = np.lexsort((pairs, -remainder, point))
    first_pair = np.searchsorted(point, np.arange(n_points))
    rank = pairs - first_pair[point[order]]
    extra = order[rank < deficit[point[order]]]
    quota[extra] += 1
    return quota


def _per_point_totals(total: I64, point: I64, n_points: int) -> I64:
    """Each point's own total, from the per-pair copy of it."""
    out = np.zeros(n_points, dtype=np.int64)
    out[point] = total
    return out


def split_two(
    first: I64, last: I64, start: I64, end: I64, value: F64, bin_ns: int, whole: bool
) -> tuple[I64, I64, F64]:
    """(point, bin, share) for points over one or two bins: the common case of unaligned
    one-minute deltas, without ``expand``. Same arithmetic as the general path."""
    two = last > first
    duration = np.maximum(end - start, 1)
    cut = last * bin_ns
    a = np.where(two, cut - start, duration)
    b = np.where(two, end - cut, 0)
    if whole:
        steps = np.rint(value).astype(np.int64)
        qa, ra = np.divmod(steps * a, duration)
        qb, rb = np.divmod(steps * b, duration)
        extra = steps - qa - qb
        qa += extra * (ra >= rb)
        qb += extra * (ra < rb)
        share_a, share_b = qa.astype(np.float64), qb.astype(np.float64)
    else:
        share_a, share_b = value * (a / duration), value * (b / duration)
    index = np.arange(first.shape[0], dtype=np.int64)
    point = np.concatenate((index, index[two]))
    bins = np.concatenate((first, last[two]))
    return point, bins, np.concatenate((share_a, share_b[two]))


def split_one(
    start: int, end: int, value: float, first: int, last: int, bin_ns: int, whole: bool
) -> list[float]:
    """One point's shares of bins ``first..last`` (``end > start``), in plain Python; the same
    arithmetic as ``apportion_counts`` (``whole``: steps) and ``apportion_amounts``."""
    duration = end - start
    overlaps = [min(end, (b + 1) * bin_ns) - max(start, b * bin_ns) for b in range(first, last + 1)]
    if not whole:
        return [value * (o / duration) for o in overlaps]
    total = round(value)
    quota = [total * o // duration for o in overlaps]
    left = total - sum(quota)
    if left:
        remainders = [total * o % duration for o in overlaps]
        ranked = sorted(range(len(quota)), key=lambda i: (-remainders[i], i))
        for i in ranked[:left]:
            quota[i] += 1
    return [float(q) for q in quota]


def apportion_amounts(total: F64, overlap: I64, duration: I64) -> F64:
    """Metres per (point, bin) pair in proportion to overlap (float64: sums agree to ~1e-15)."""
    return total * (overlap / duration)


SPEED_SPIKE: Final = 3.0
"""A sample faster than this many times both its neighbours (each taken as at least
``SPEED_SPIKE_FLOOR``, both within the speed gap) is a spike: a GPS glitch of one fix. It keeps
its own bin but is not joined by a line to its neighbours, which would span minutes at a speed
no one had; a change of pace that lasts (a bus pulling away) has a second fast sample and is
joined as before. Neighbours beyond the gap are never joined anyway, and one may arrive after
the window closed: they do not decide."""
SPEED_SPIKE_FLOOR: Final = 1.0  # m/s


def spikes(positions: I64, values: F64, gap_bins: int) -> npt.NDArray[np.bool_]:
    """Which samples (at sorted, distinct ``positions``) are spikes (``SPEED_SPIKE``): a sample
    without a neighbour within ``gap_bins`` on either side never is."""
    out = np.zeros(values.shape[0], dtype=np.bool_)
    if values.shape[0] >= 3:
        near = np.diff(positions) <= gap_bins
        around = np.maximum(np.maximum(values[:-2], values[2:]), SPEED_SPIKE_FLOOR)
        out[1:-1] = near[:-1] & near[1:] & (values[1:-1] > SPEED_SPIKE * around)
    return out


def interpolate_speed(
    positions: I64, values: F64, n_bins: int, gap_bins: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Speed on ``n_bins`` bins from samples at sorted, distinct bin ``positions``.

    Positions may lie outside ``[0, n_bins)``: samples just before or after the window let its
    edges be interpolated like its middle. Between two samples at most ``gap_bins`` apart,
    neither a spike (``spikes``), the speed is linear in time; across a longer gap nothing is
    known, so the bins stay missing (mask False, value 0) rather than invented. Outside the
    first and last sample: missing.
    """
    out = np.zeros(n_bins, dtype=np.float32)
    mask = np.zeros(n_bins, dtype=np.bool_)
    inside = (positions >= 0) & (positions < n_bins)
    out[positions[inside]] = values[inside]
    mask[positions[inside]] = True
    if positions.shape[0] < 2:
        return out, mask
    steps = np.diff(positions)
    bridged = (steps > 1) & (steps <= gap_bins)
    if not np.count_nonzero(bridged):  # samples every minute: nothing to bridge
        return out, mask
    spike = spikes(positions, values, gap_bins)
    gaps = np.flatnonzero(bridged & ~spike[:-1] & ~spike[1:])
    if gaps.shape[0] == 0:
        return out, mask
    # every bridged gap at once (samples a few minutes apart leave dozens in a window); per bin
    # the same float64 operations, in the same order, as one gap at a time
    left, right = positions[gaps], positions[gaps + 1]
    lo, hi = np.maximum(left + 1, 0), np.minimum(right, n_bins)
    width = np.maximum(hi - lo, 0)
    gap_of = np.repeat(np.arange(gaps.shape[0]), width)
    bins = np.arange(gap_of.shape[0]) - np.repeat(np.cumsum(width) - width, width) + lo[gap_of]
    v0, v1 = values[gaps][gap_of], values[gaps + 1][gap_of]
    at_left = left[gap_of]
    k = bins.astype(np.float64)
    out[bins] = v0 + (v1 - v0) * (k - at_left) / (right[gap_of] - at_left)
    mask[bins] = True
    return out, mask
