"""Replayed walks: the buffer remembers a user's walking fingerprints across windows."""

from __future__ import annotations

import numpy as np

from stream.buffer import UserBuffer
from stream.grid import NS_PER_S
from stream.points import Channel, PointBatch, SinglePoint
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


SOURCE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
MERGED = "derived:com.google.step_count.delta:com.google.android.gms:merge_step_deltas"


def _fit_points(seed: int, n: int) -> tuple[list[int], list[int], list[float]]:
    """A walk as a phone records it: points of 10-60 s, short pauses between, off the minute."""
    rng = np.random.default_rng(seed)
    starts, ends, values = [], [], []
    t = T0 + 10 * MIN + 13_250_000_000
    for _ in range(n):
        dur = int(rng.integers(10_000, 60_000)) * 1_000_000
        starts.append(t)
        ends.append(t + dur)
        values.append(float(round(dur / 60e9 * rng.uniform(90, 130))))
        t += dur + int(rng.integers(0, 15_000)) * 1_000_000
    return starts, ends, values


def _singles(
    buffer: UserBuffer, source: str, points: tuple[list[int], list[int], list[float]]
) -> None:
    for s, e, v in zip(*points, strict=True):
        buffer.add(SinglePoint(buffer.user_id, Channel.STEPS, source, s, e, v), 100)


def _as_batch(
    user: str, source: str, points: tuple[list[int], list[int], list[float]], by: int
) -> PointBatch:
    s, e, v = (np.asarray(x) for x in points)
    return PointBatch(user, Channel.STEPS, source, s + by, e + by, v.astype(np.float64))


def test_a_walk_of_single_points_replayed_by_any_shift_as_one_batch_is_marked() -> None:
    points = _fit_points(11, 40)
    buffer = UserBuffer("u-fit")
    _singles(buffer, SOURCE, points)
    _singles(buffer, MERGED, points)  # Google Fit's merged copy of the same points: no replay
    first = buffer.pop_complete() + buffer.flush()
    buffer = UserBuffer.from_bytes(buffer.to_bytes())
    shift = 2 * 24 * HOUR + 5 * HOUR + 37_123_456_789  # not a whole number of minutes
    again = _windows(buffer, _as_batch("u-fit", SOURCE, points, shift))
    assert first and not any(w.repeats_earlier for w in first)
    assert again and all(w.repeats_earlier for w in again)


def test_marks_of_an_open_window_survive_the_changelog() -> None:
    points = _fit_points(12, 30)
    buffer = UserBuffer("u-fit")
    _windows(buffer, _as_batch("u-fit", SOURCE, points, 0))
    shift = 24 * HOUR + 600_000_000
    s, e, v = points
    replayed = ([x + shift for x in s], [x + shift for x in e], v)
    half = len(s) // 2
    _singles(buffer, SOURCE, tuple(x[:half] for x in replayed))  # type: ignore[arg-type]
    buffer = UserBuffer.from_bytes(buffer.to_bytes())
    _singles(buffer, SOURCE, tuple(x[half:] for x in replayed))  # type: ignore[arg-type]
    windows = buffer.pop_complete() + buffer.flush()
    assert windows and all(w.repeats_earlier for w in windows)


def test_a_two_hour_manual_entry_counts_in_both_hours() -> None:
    buffer = UserBuffer("u-typed")
    typed = PointBatch(
        "u-typed",
        Channel.STEPS,
        "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input",
        np.array([T0 + 30 * MIN], dtype=np.int64),
        np.array([T0 + 150 * MIN], dtype=np.int64),
        np.array([12_000.0]),
        manual=True,
    )
    buffer.add(typed, 0)
    buffer = UserBuffer.from_bytes(buffer.to_bytes())
    windows = buffer.pop_complete() + buffer.flush()
    assert [(w.start_ns - T0) // HOUR for w in windows] == [0, 1, 2]
    assert [w.manual_points for w in windows] == [1, 1, 1]
    ends_on_the_hour = UserBuffer("u-typed")
    single = SinglePoint(
        "u-typed", Channel.STEPS, typed.source, T0 + 30 * MIN, T0 + 120 * MIN, 9_000.0, manual=True
    )
    ends_on_the_hour.add(single, 0)
    windows = ends_on_the_hour.flush()
    assert [w.manual_points for w in windows] == [1, 1]
