"""The buffer against a batch computation with pandas on the full, sorted, de-duplicated data.

Whatever the arrival order, duplication and source mix, the windows the buffer emits must be the
windows this reference computes; totals must be conserved exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.buffer import LONG_DISTANCE_POINT_NS, LONG_POINT_NS, UserBuffer
from stream.grid import GridSpec
from stream.interpolation import SPEED_SPIKE, SPEED_SPIKE_FLOOR
from stream.points import Channel, PointBatch, SinglePoint
from stream.windows import Window

S = 1_000_000_000
T0 = 1_709_301_600 * S  # 2024-03-01 14:00 UTC, on the hour
RANKS = {"a": 1, "b": 2, "c": 2}  # b and c tie: the id orders them, so c wins over b


@dataclass(frozen=True)
class P:
    channel: int
    source: str
    start: int
    end: int
    value: float


@st.composite
def points(draw: st.DrawFn, span_s: int = 4 * 3600, max_len_s: int = 600) -> P:
    channel = draw(st.sampled_from([0, 0, 1, 2]))
    source = draw(st.sampled_from(sorted(RANKS)))
    start = T0 + draw(st.integers(0, span_s)) * S + draw(st.integers(0, S - 1))
    if channel == 2:
        length = draw(st.sampled_from([0, 0, 0, 1, 30])) * S
        value = draw(st.floats(0, 12, allow_nan=False))
    else:
        length = draw(st.integers(0, max_len_s)) * S + draw(st.integers(0, 999))
        if channel == 0:
            value = float(draw(st.integers(0, 400)))
        else:
            value = draw(st.floats(0, 2_000, allow_nan=False))
    return P(channel, source, start, start + length, value)


# ---------------------------------------------------------------- the reference


def _apportion(p: P, bin_ns: int) -> list[tuple[int, float]]:
    """(bin, share) of one point, written independently of stream.interpolation."""
    if p.channel == 2:
        return [(((p.start + p.end) // 2) // bin_ns, p.value)]
    if p.end == p.start:
        return [(p.start // bin_ns, p.value)]
    bins = range(p.start // bin_ns, (p.end - 1) // bin_ns + 1)
    overlaps = [min(p.end, (b + 1) * bin_ns) - max(p.start, b * bin_ns) for b in bins]
    duration = p.end - p.start
    if p.channel == 1:
        return [(b, p.value * o / duration) for b, o in zip(bins, overlaps, strict=True)]
    steps = int(p.value)
    floors = [steps * o // duration for o in overlaps]
    remainders = [steps * o % duration for o in overlaps]
    left = steps - sum(floors)
    by_remainder = sorted(range(len(floors)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return list(zip(bins, (float(f) for f in floors), strict=True))


def _long(p: P) -> bool:
    """A step or distance point spread over minutes it did not measure one by one."""
    if p.channel == 0:
        return p.end - p.start >= LONG_POINT_NS
    return p.channel == 1 and p.end - p.start >= LONG_DISTANCE_POINT_NS


def unique_keys(data: list[P]) -> list[P]:
    """One point per identity (channel, source, start, end): a second value for the same
    identity is a re-delivery the buffer ignores, so the generated data never holds one."""
    by_key = {(p.channel, p.source, p.start, p.end): p for p in reversed(data)}
    return sorted(by_key.values(), key=lambda p: (p.start, p.end, p.channel, p.source))


def reference(all_points: list[P], grid: GridSpec) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Window start (ns) -> (values [3, bins], mask [3, bins]) from the whole data at once."""
    bin_ns, wb = grid.bin_ns, grid.window_bins
    unique = sorted(set(all_points), key=lambda p: (p.start, p.end, p.channel, p.source))
    rows = [
        (p.channel, p.source, RANKS[p.source], b, share, _long(p))
        for p in unique
        for b, share in _apportion(p, bin_ns)
    ]
    columns = ["channel", "source", "rank", "bin", "share", "long"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return {}
    frame["priority"] = list(zip(frame["rank"], frame["source"], strict=True))
    best = frame.groupby(["channel", "bin"])["priority"].transform("max")
    won = frame[frame["priority"] == best]
    sums = won.groupby(["channel", "bin"])["share"].agg(["sum", "mean"])
    lo = int(frame["bin"].min()) // wb * wb
    hi = (int(frame["bin"].max()) // wb + 1) * wb
    grid_index = pd.RangeIndex(lo, hi)
    values = np.zeros((3, hi - lo))
    mask = np.zeros((3, hi - lo), dtype=bool)
    covered = np.zeros((2, hi - lo), dtype=bool)
    for channel in (0, 1):
        if channel in sums.index.get_level_values(0):
            series = sums.loc[channel]["sum"].reindex(grid_index)
            values[channel] = series.fillna(0).to_numpy()
            covered[channel] = mask[channel] = series.notna().to_numpy()
    for channel in (0, 1):  # measured: a point of the winner not long
        if channel in sums.index.get_level_values(0):
            fine = won[(won["channel"] == channel) & ~won["long"]].groupby("bin")["share"].count()
            mask[channel] = fine.reindex(grid_index).notna().to_numpy()
    if 2 in sums.index.get_level_values(0):
        speed = sums.loc[2]["mean"].reindex(grid_index)
        at = pd.Series(np.where(speed.notna(), grid_index, np.nan), index=grid_index)
        gap = (at.bfill() - at.ffill()).to_numpy()
        filled = speed.interpolate(method="index", limit_area="inside").to_numpy()
        gap_bins = grid.speed_gap_s // grid.bin_s
        # a sample more than SPEED_SPIKE times both its neighbours is not joined to them
        samples = speed.dropna()
        sides = pd.concat([samples.shift(1), samples.shift(-1)], axis=1)
        where = pd.Series(samples.index, index=samples.index)
        far = (where.diff() > gap_bins) | (where.diff(-1) < -gap_bins)  # a neighbour too far
        sides[far.to_numpy()] = np.nan
        around = sides.max(axis=1, skipna=False).clip(lower=SPEED_SPIKE_FLOOR)  # ends: NaN
        spike = (samples > SPEED_SPIKE * around).reindex(grid_index)
        ends_spike = (spike.ffill() | spike.bfill()).fillna(False).to_numpy(dtype=bool)
        known = speed.notna().to_numpy() | ((gap <= gap_bins) & ~ends_spike)
        values[2] = np.where(known, filled, 0.0)
        mask[2] = known
    windows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    has_data = covered.any(axis=0) | speed_present(sums, grid_index)
    for w0 in range(lo, hi, wb):
        part = slice(w0 - lo, w0 - lo + wb)
        if has_data[part].any():
            windows[w0 * bin_ns] = (values[:, part], mask[:, part])
    return windows


def speed_present(sums: pd.DataFrame, grid_index: pd.RangeIndex) -> np.ndarray:
    if 2 not in sums.index.get_level_values(0):
        return np.zeros(len(grid_index), dtype=bool)
    return sums.loc[2]["mean"].reindex(grid_index).notna().to_numpy()


# ---------------------------------------------------------------- driving the buffer


def batches_of(arrivals: list[P], rng: random.Random) -> list[PointBatch]:
    """Consecutive arrivals of one channel and source, sometimes grouped into one batch."""
    out: list[PointBatch] = []
    group: list[P] = []

    def close() -> None:
        if len(group) == 1 and rng.random() < 0.5:  # the parser's scalar single point
            g = group.pop()
            out.append(SinglePoint("u", Channel(g.channel), g.source, g.start, g.end, g.value))
        if group:
            g = group[0]
            out.append(
                PointBatch(
                    "u",
                    Channel(g.channel),
                    g.source,
                    np.array([p.start for p in group], dtype=np.int64),
                    np.array([p.end for p in group], dtype=np.int64),
                    np.array([p.value for p in group], dtype=np.float64),
                )
            )
            group.clear()

    for p in arrivals:
        if group and ((group[0].channel, group[0].source) != (p.channel, p.source)):
            close()
        group.append(p)
        if rng.random() < 0.5:
            close()
    close()
    return out


def run_buffer(
    batches: list[PointBatch], grid: GridSpec, rng: random.Random, snapshots: bool
) -> tuple[list[Window], UserBuffer]:
    buffer = UserBuffer("u", grid)
    emitted: list[Window] = []
    for batch in batches:
        buffer.add(batch, RANKS[batch.source])
        emitted.extend(buffer.pop_complete())
        if snapshots and rng.random() < 0.2:
            blob = buffer.to_bytes()
            buffer = UserBuffer.from_bytes(blob)
            assert buffer.to_bytes() == blob
    emitted.extend(buffer.flush())
    return emitted, buffer


def assert_same(emitted: list[Window], expected: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
    starts = [w.start_ns for w in emitted]
    assert starts == sorted(starts), "windows out of order"
    assert len(set(starts)) == len(starts), "a window emitted twice"
    assert starts == sorted(expected)
    for window in emitted:
        values, mask = expected[window.start_ns]
        np.testing.assert_array_equal(window.mask, mask)
        np.testing.assert_array_equal(window.values[0], values[0].astype(np.float32))
        np.testing.assert_allclose(window.values[1], values[1], rtol=1e-6, atol=1e-4)
        np.testing.assert_allclose(window.values[2], values[2], rtol=1e-5, atol=1e-5)
        assert window.totals.steps == int(values[0].sum())
        assert abs(window.totals.distance_m - values[1].sum()) <= 1e-9 * max(1.0, values[1].sum())


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(points(max_len_s=2_400), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_any_arrival_order_equals_reference(data: list[P], seed: int) -> None:
    """Lateness longer than the data: nothing is late, so every order must give the reference."""
    rng = random.Random(seed)
    data = unique_keys(data)
    grid = GridSpec(lateness_s=10 * 86_400)
    arrivals = data + rng.sample(data, k=len(data) // 3)  # duplicates
    rng.shuffle(arrivals)
    emitted, buffer = run_buffer(batches_of(arrivals, rng), grid, rng, snapshots=True)
    assert_same(emitted, reference(data, grid))
    assert buffer.totals().steps == sum(w.totals.steps for w in emitted)


@SETTINGS
@given(st.lists(points(), min_size=1, max_size=80), st.integers(0, 2**32 - 1))
def test_windows_emitted_by_event_time_equal_reference(data: list[P], seed: int) -> None:
    """Default grid, arrivals out of order by at most 5 minutes: windows close as the watermark
    passes them, none is late, and each equals the reference."""
    rng = random.Random(seed)
    data = unique_keys(data)
    grid = GridSpec()
    arrivals = data + rng.sample(data, k=len(data) // 4)
    arrivals.sort(key=lambda p: p.end + rng.randrange(0, 300 * S))
    emitted, _ = run_buffer(batches_of(arrivals, rng), grid, rng, snapshots=True)
    assert_same(emitted, reference(data, grid))


@SETTINGS
@given(st.lists(points(max_len_s=3 * 3600), min_size=1, max_size=40), st.integers(0, 2**32 - 1))
def test_totals_conserved_exactly(data: list[P], seed: int) -> None:
    """Long points spread over many bins: with one source every step and metre lands somewhere."""
    rng = random.Random(seed)
    grid = GridSpec(lateness_s=10 * 86_400)
    by_key = {(p.channel, p.start, p.end): P(p.channel, "a", p.start, p.end, p.value) for p in data}
    single = sorted(by_key.values(), key=repr)
    rng.shuffle(single)
    emitted, _ = run_buffer(batches_of(single, rng), grid, rng, snapshots=False)
    steps = sum(int(p.value) for p in single if p.channel == 0)
    metres = sum(p.value for p in single if p.channel == 1)
    assert sum(w.totals.steps for w in emitted) == steps
    got = sum(w.totals.distance_m for w in emitted)
    assert abs(got - metres) <= 1e-9 * max(1.0, metres)
    assert sum(w.totals.speed_samples for w in emitted) == sum(p.channel == 2 for p in single)


@SETTINGS
@given(st.lists(points(), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_single_point_scalar_equals_array_batch(data: list[P], seed: int) -> None:
    """A ``SinglePoint`` (scalars) leaves exactly the state a one-point ``PointBatch`` leaves."""
    rng = random.Random(seed)
    arrivals = data + rng.sample(data, k=len(data) // 3)
    rng.shuffle(arrivals)
    scalar, arrays = UserBuffer("u"), UserBuffer("u")
    for p in arrivals:
        one = SinglePoint("u", Channel(p.channel), p.source, p.start, p.end, p.value)
        got = scalar.add(one, RANKS[p.source])
        want = arrays.add(
            PointBatch("u", one.channel, one.source, one.start_ns, one.end_ns, one.value),
            RANKS[p.source],
        )
        assert got == want
        assert scalar.to_bytes() == arrays.to_bytes()
    assert [w.start_ns for w in scalar.flush()] == [w.start_ns for w in arrays.flush()]


def _flush_window_by_window(buffer: UserBuffer) -> list[Window]:
    """White-box: the flush as it was before ``_emit_ring``, one window at a time."""
    out = buffer.pop_complete()
    while buffer._ring_has_data():
        buffer._emit_or_skip()
    buffer._clear()
    out.extend(buffer.pop_complete())
    return out


@SETTINGS
@given(
    st.lists(points(), min_size=1, max_size=60),
    st.lists(points(span_s=8 * 3600), min_size=1, max_size=20),
    st.integers(0, 2**32 - 1),
)
def test_flush_all_windows_at_once_equals_window_by_window(
    data: list[P], later: list[P], seed: int
) -> None:
    """The vectorised flush emits the same windows and leaves the same state (speed context,
    totals, emitted boundary) as emitting one window at a time; later points then agree too."""
    rng = random.Random(seed)
    grid = GridSpec(lateness_s=10 * 86_400)
    batches = batches_of(unique_keys(data), rng)
    ring, loop = UserBuffer("u", grid), UserBuffer("u", grid)
    for batch in batches:
        ring.add(batch, RANKS[batch.source])
        loop.add(batch, RANKS[batch.source])
    got, want = ring.flush(), _flush_window_by_window(loop)
    assert [(w.start_ns, w.totals, w.manual_points, w.repeats_earlier) for w in got] == [
        (w.start_ns, w.totals, w.manual_points, w.repeats_earlier) for w in want
    ]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.mask, b.mask)
    assert ring.to_bytes() == loop.to_bytes()
    for batch in batches_of(unique_keys(later), rng):
        assert ring.add(batch, RANKS[batch.source]) == loop.add(batch, RANKS[batch.source])
    got, want = ring.flush(), _flush_window_by_window(loop)
    assert [w.totals for w in got] == [w.totals for w in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
    assert ring.to_bytes() == loop.to_bytes()
