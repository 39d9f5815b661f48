"""Invariants of the buffer's pure maths (``stream.interpolation``), property-tested."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream import interpolation as ip

BIN = 60_000_000_000
T0 = 1_709_301_600_000_000_000


@st.composite
def deltas(draw: st.DrawFn, max_bins: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 20))
    starts = [T0 + draw(st.integers(0, 10 * BIN)) for _ in range(n)]
    ends = [s + draw(st.integers(0, max_bins * BIN)) for s in starts]
    steps = [draw(st.integers(0, 100_000)) for _ in range(n)]
    return np.array(starts), np.array(ends), np.array(steps, dtype=np.float64)


@settings(max_examples=200, deadline=None)
@given(deltas())
def test_steps_apportioned_whole_and_conserved(points: tuple[np.ndarray, ...]) -> None:
    start, end, value = points
    first, last = ip.point_bins(start, end, BIN, speed=False)
    point, bins = ip.expand(first, last)
    overlap = np.where((end == start)[point], 1, ip.overlap_ns(start[point], end[point], bins, BIN))
    duration = np.maximum((end - start)[point], 1)
    share = ip.apportion_counts(value.astype(np.int64)[point], point, overlap, duration)
    assert (np.bincount(point, weights=share, minlength=len(start)) == value).all()
    exact = value[point] * overlap / duration
    assert (np.abs(share - exact) < 1 + 1e-9).all()  # each bin within one step of its share
    assert (overlap > 0).all() and (bins >= first[point]).all() and (bins <= last[point]).all()


@settings(max_examples=200, deadline=None)
@given(deltas(max_bins=1), st.booleans())
def test_two_bin_path_equals_the_general_path(points: tuple[np.ndarray, ...], whole: bool) -> None:
    start, end, value = points
    first, last = ip.point_bins(start, end, BIN, speed=False)
    point, bins, share = ip.split_two(first, last, start, end, value, BIN, whole)
    order = np.lexsort((bins, point))
    g_point, g_bins = ip.expand(first, last)
    overlap = ip.overlap_ns(start[g_point], end[g_point], g_bins, BIN)
    overlap = np.where((end == start)[g_point], 1, overlap)
    duration = np.maximum((end - start)[g_point], 1)
    general: np.ndarray
    if whole:
        general = ip.apportion_counts(value.astype(np.int64)[g_point], g_point, overlap, duration)
    else:
        general = ip.apportion_amounts(value[g_point], overlap, duration)
    assert (point[order] == g_point).all() and (bins[order] == g_bins).all()
    assert (share[order] == general).all()
    for i in range(len(start)):
        if end[i] > start[i]:
            one = ip.split_one(
                int(start[i]), int(end[i]), float(value[i]), int(first[i]), int(last[i]), BIN, whole
            )
            assert one == general[g_point == i].tolist()


def _spike(at: np.ndarray, values: np.ndarray, i: int, gap: int) -> bool:
    """Sample ``i`` is above ``SPEED_SPIKE`` times both its neighbours (it has two, each within
    ``gap`` bins)."""
    if i == 0 or i == len(values) - 1 or at[i] - at[i - 1] > gap or at[i + 1] - at[i] > gap:
        return False
    around = max(values[i - 1], values[i + 1], ip.SPEED_SPIKE_FLOOR)
    return bool(values[i] > ip.SPEED_SPIKE * around)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-10, 70), min_size=0, max_size=30, unique=True),
    st.integers(1, 10),
    st.data(),
)
def test_speed_never_invented_across_long_gaps(positions: list[int], gap: int, data) -> None:
    at = np.array(sorted(positions), dtype=np.int64)
    values = np.array([data.draw(st.floats(0, 40)) for _ in at], dtype=np.float64)
    speed, mask = ip.interpolate_speed(at, values, 60, gap)
    known = set(at.tolist())
    for k in range(60):
        before = at[at <= k]
        after = at[at >= k]
        bracketed = before.size and after.size and (after[0] - before[-1] <= gap)
        if bracketed:  # ...and neither of the two samples a spike (``SPEED_SPIKE``)
            i, j = int(np.flatnonzero(at == before[-1])[0]), int(np.flatnonzero(at == after[0])[0])
            bracketed = not (_spike(at, values, i, gap) or _spike(at, values, j, gap))
        assert mask[k] == bool(k in known or bracketed)
        if not mask[k]:
            assert speed[k] == 0
        elif k not in known:
            lo, hi = sorted((values[at == before[-1]][0], values[at == after[0]][0]))
            assert lo - 1e-5 <= speed[k] <= hi + 1e-5


def _one_gap_at_a_time(
    positions: np.ndarray, values: np.ndarray, n_bins: int, gap_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """The interpolation as first written, gap by gap: the reference for the vectorised one."""
    out = np.zeros(n_bins, dtype=np.float32)
    mask = np.zeros(n_bins, dtype=np.bool_)
    inside = (positions >= 0) & (positions < n_bins)
    out[positions[inside]] = values[inside]
    mask[positions[inside]] = True
    if positions.shape[0] < 2:
        return out, mask
    spike = ip.spikes(positions, values, gap_bins)
    steps = np.diff(positions)
    near = (steps > 1) & (steps <= gap_bins) & ~spike[:-1] & ~spike[1:]
    for i in np.flatnonzero(near):
        left, right = int(positions[i]), int(positions[i + 1])
        lo, hi = max(left + 1, 0), min(right, n_bins)
        if lo >= hi:
            continue
        k = np.arange(lo, hi, dtype=np.float64)
        v0, v1 = float(values[i]), float(values[i + 1])
        out[lo:hi] = v0 + (v1 - v0) * (k - left) / (right - left)
        mask[lo:hi] = True
    return out, mask


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-20, 200), min_size=0, max_size=80, unique=True),
    st.sampled_from([60, 120, 180]),
    st.integers(1, 12),
    st.data(),
)
def test_speed_interpolation_is_bit_identical_to_one_gap_at_a_time(
    positions: list[int], n_bins: int, gap: int, data: st.DataObject
) -> None:
    at = np.array(sorted(positions), dtype=np.int64)
    values = np.array([data.draw(st.floats(0, 60)) for _ in at], dtype=np.float64)
    speed, mask = ip.interpolate_speed(at, values, n_bins, gap)
    want_speed, want_mask = _one_gap_at_a_time(at, values, n_bins, gap)
    assert np.array_equal(mask, want_mask)
    assert speed.tobytes() == want_speed.tobytes()
