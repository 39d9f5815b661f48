"""Window context: the bins around a window that the buffer hands the plausibility checks.

Look-ahead is what the ring holds after the window when the watermark closes it; look-behind is
the previous window's tail, carried in the user's state (and through ``to_bytes``).
"""

from __future__ import annotations

import numpy as np

from stream.buffer import TAIL_BINS, UserBuffer
from stream.points import Channel, PointBatch
from stream.windows import Window

MIN_NS = 60 * 1_000_000_000
T0 = 1_709_301_600 * 1_000_000_000  # an hour start (UTC)


def steps_batch(first_min: int, counts: list[int]) -> PointBatch:
    start = T0 + (first_min + np.arange(len(counts), dtype=np.int64)) * MIN_NS
    return PointBatch(
        "u", Channel.STEPS, "raw:steps:phone", start, start + MIN_NS, np.array(counts, float)
    )


def feed(buffer: UserBuffer, first_min: int, counts: list[int]) -> list[Window]:
    buffer.add(steps_batch(first_min, counts), 0)
    return buffer.pop_complete()


def test_look_ahead_holds_the_bins_after_the_window() -> None:
    buffer = UserBuffer("u")
    counts = [100 + i for i in range(80)]  # minutes 0..79: one window and 20 minutes of the next
    windows = feed(buffer, 0, counts)
    assert len(windows) == 1
    after = windows[0].after
    assert after is not None
    held = after[0][~np.isnan(after[0])]
    assert held.tolist() == counts[60 : 60 + held.size]
    assert held.size >= 15  # the lateness


def test_look_behind_is_the_previous_windows_tail_and_survives_a_snapshot() -> None:
    buffer = UserBuffer("u")
    feed(buffer, 0, [90 + i % 7 for i in range(80)])
    restored = UserBuffer.from_bytes(buffer.to_bytes())
    second = restored.flush()
    assert [w.start_ns for w in second] == [T0 + 60 * MIN_NS]
    before = second[0].before
    assert before is not None and before.shape == (3, TAIL_BINS)
    assert before[0].tolist() == [90 + i % 7 for i in range(60 - TAIL_BINS, 60)]
    assert np.isnan(before[1]).all()  # no distance was sent


def test_no_look_behind_across_a_gap_or_after_a_quiet_tail() -> None:
    buffer = UserBuffer("u")
    feed(buffer, 0, [100] * 10)  # quiet after minute 10: nothing carried
    windows = feed(buffer, 60, [100] * 10) + buffer.flush()
    assert [w.before is None for w in windows] == [True, True]
    buffer = UserBuffer("u")
    feed(buffer, 0, [100] * 60)
    windows = feed(buffer, 180, [100] * 10) + buffer.flush()  # hour 2 skipped: not adjacent
    assert windows[-1].start_ns == T0 + 180 * MIN_NS and windows[-1].before is None


def test_pending_windows_keep_their_context_through_a_snapshot() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps_batch(0, [120] * 140), 0)  # two windows complete, not yet handed over
    restored = UserBuffer.from_bytes(buffer.to_bytes())
    got, want = restored.pop_complete(), buffer.pop_complete()
    assert len(want) == 2
    for a, b in zip(got, want, strict=True):
        for name in ("before", "after"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x, y)
    assert want[1].before is not None and want[0].after is not None
