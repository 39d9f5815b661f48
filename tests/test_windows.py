"""Windows as the buffer hands them to scorers: shape, alignment, mask and totals."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID, GridSpec
from stream.points import Channel, PointBatch

S = 1_000_000_000
M = 60 * S
T0 = 1_709_301_600 * S  # 2024-03-01 14:00 UTC


def _walk(buffer: UserBuffer, minutes: range, offset_s: int = 23) -> None:
    for minute in minutes:
        t = T0 + minute * M + offset_s * S
        for channel, value, end in (
            (Channel.STEPS, 90.0, t + M),
            (Channel.DISTANCE, 70.0, t + M),
            (Channel.SPEED, 1.3, t),
        ):
            batch = PointBatch(
                buffer.user_id,
                channel,
                "src",
                np.array([t], dtype=np.int64),
                np.array([end], dtype=np.int64),
                np.array([value]),
            )
            buffer.add(batch, 1)


def test_windows_are_hours_of_float32_channels_with_masks() -> None:
    buffer = UserBuffer("w")
    _walk(buffer, range(30, 150))
    windows = buffer.pop_complete() + buffer.flush()
    assert [w.start for w in windows] == [datetime(2024, 3, 1, h, tzinfo=UTC) for h in (14, 15, 16)]
    for w in windows:
        assert w.values.shape == (3, DEFAULT_GRID.window_bins) and w.values.dtype == np.float32
        assert w.mask.shape == w.values.shape and w.mask.dtype == np.bool_
        assert (
            w.end_ns - w.start_ns == DEFAULT_GRID.window_ns
            and w.start_ns % DEFAULT_GRID.window_ns == 0
        )
        assert np.isfinite(w.values).all()
        assert (w.values[~w.mask] == 0).all()
        assert w.totals.steps == int(w.values[0].sum())
        assert abs(w.totals.distance_m - float(w.values[1].astype(np.float64).sum())) < 1e-3
        assert w.user_id == "w"
    middle = windows[1]
    assert middle.mask.all()  # walked the whole hour: every bin covered, speed every minute
    assert middle.totals.steps == 60 * 90 and middle.totals.speed_samples == 60


def test_window_totals_add_up_to_the_user_totals() -> None:
    buffer = UserBuffer("w")
    _walk(buffer, range(0, 200, 3), offset_s=41)
    windows = buffer.pop_complete() + buffer.flush()
    totals = buffer.totals()
    assert sum(w.totals.steps for w in windows) == totals.steps == 67 * 90
    assert sum(w.totals.speed_samples for w in windows) == totals.speed_samples == 67
    assert abs(sum(w.totals.distance_m for w in windows) - totals.distance_m) < 1e-9


def test_window_length_and_bin_width_follow_the_grid() -> None:
    grid = GridSpec(bin_s=30, window_bins=20, hop_bins=20, lateness_s=60, speed_gap_s=90)
    buffer = UserBuffer("w", grid)
    _walk(buffer, range(0, 25))
    windows = buffer.pop_complete() + buffer.flush()
    assert all(w.values.shape == (3, 20) for w in windows)
    assert [w.start_ns - T0 for w in windows] == [k * 600 * S for k in range(3)]
    assert sum(w.totals.steps for w in windows) == 25 * 90
