"""Replayed walks: the buffer remembers a user's walking fingerprints across windows."""

from __future__ import annotations

import numpy as np

from stream.buffer import UserBuffer
from stream.grid import NS_PER_S
from stream.points import Channel, PointBatch
from stream.windows import Window

HOUR = 3600 * NS_PER_S
MIN = 60 * NS_PER_S
T0 = 1_709_280_000 * NS_PER_S  # 2024-03-01T08:00:00Z, on the hour


def _walk(user: str, start_ns: int, steps: list[int]) -> PointBatch:
    starts = start_ns + np.arange(len(steps), dtype=np.int64) * MIN
    return PointBatch(
        user_id=user,
        channel=Channel.STEPS,
        source="derived:com.google.step_count.delta:com.google.android.gms:estimated_steps",
        start_ns=starts,
        end_ns=starts + MIN,
        value=np.asarray(steps, dtype=np.float64),
    )


def _windows(buffer: UserBuffer, batch: PointBatch) -> list[Window]:
    buffer.add(batch, 100)
    return buffer.pop_complete() + buffer.flush()


def test_a_walk_sent_again_a_day_later_is_marked_and_the_first_is_not() -> None:
    rng = np.random.default_rng(7)
    walk = rng.integers(95, 125, size=25).tolist()
    buffer = UserBuffer("u-replay")
    first = _windows(buffer, _walk("u-replay", T0 + 10 * MIN, walk))
    # survive the changelog round trip between the walk and its replay
    buffer = UserBuffer.from_bytes(buffer.to_bytes())
    again = _windows(buffer, _walk("u-replay", T0 + 24 * HOUR + 17 * MIN, walk))
    assert [w.repeats_earlier for w in first] == [False]
    assert [w.repeats_earlier for w in again] == [True]


def test_a_different_walk_is_not_a_replay() -> None:
    rng = np.random.default_rng(8)
    buffer = UserBuffer("u-walker")
    first = _windows(buffer, _walk("u-walker", T0, rng.integers(95, 125, size=25).tolist()))
    second = _windows(
        buffer, _walk("u-walker", T0 + 24 * HOUR, rng.integers(95, 125, size=25).tolist())
    )
    assert not any(w.repeats_earlier for w in first + second)
