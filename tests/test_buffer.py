"""The buffer's rules one at a time, on points built by hand (and on the Takeout sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stream import source_table
from stream.buffer import UserBuffer
from stream.grid import GridSpec
from stream.parsing import iter_results
from stream.points import Channel, PointBatch
from stream.sources import source_rank

S = 1_000_000_000
M = 60 * S
H = 3600 * S
T0 = 1_709_301_600 * S  # 2024-03-01 14:00 UTC
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def batch(
    channel: Channel,
    source: str,
    starts: list[int],
    ends: list[int],
    values: list[float],
    manual: bool = False,
) -> PointBatch:
    return PointBatch(
        "u",
        channel,
        source,
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
        np.array(values, dtype=np.float64),
        manual,
    )


def steps(t: int, n: float, length: int = M, source: str = "a") -> PointBatch:
    return batch(Channel.STEPS, source, [t], [t + length], [n])


def test_steps_split_in_proportion_as_whole_numbers() -> None:
    buffer = UserBuffer("u")
    # 100 steps over [14:00:20, 14:02:50): 40 s, 60 s and 50 s of 150 s
    buffer.add(steps(T0 + 20 * S, 100, 150 * S), 1)
    (window,) = buffer.flush()
    assert window.values[0, :3].tolist() == [27.0, 40.0, 33.0]  # 26.67, 40, 33.33 rounded by rest
    assert window.totals.steps == 100
    assert window.mask[0, :3].all() and not window.mask[0, 3:].any()


def test_zero_length_delta_lies_wholly_in_its_bin() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0 + 5 * M + 30 * S, 12, 0), 1)
    buffer.add(batch(Channel.DISTANCE, "d", [T0 + 6 * M], [T0 + 6 * M], [9.5]), 1)
    (window,) = buffer.flush()
    assert window.values[0, 5] == 12 and window.values[0].sum() == 12
    assert window.values[1, 6] == np.float32(9.5) and window.mask[1].sum() == 1


def test_same_point_twice_counts_once_alone_or_in_a_batch() -> None:
    buffer = UserBuffer("u")
    assert buffer.add(steps(T0, 50), 1).accepted == 1
    assert buffer.add(steps(T0, 50), 1).duplicate == 1
    twice = batch(Channel.STEPS, "a", [T0 + M, T0 + M, T0], [T0 + 2 * M] * 2 + [T0 + M], [7, 7, 50])
    result = buffer.add(twice, 1)
    assert (result.accepted, result.duplicate) == (1, 2)
    assert buffer.totals().steps == 57


def test_better_source_wins_whatever_the_order() -> None:
    low, high = steps(T0, 80, source="phone"), steps(T0, 60, source="merge")
    first = UserBuffer("u")
    assert first.add(high, 5).accepted == 1
    assert first.add(low, 3).duplicate == 1  # wholly shadowed
    second = UserBuffer("u")
    assert second.add(low, 3).accepted == 1
    assert second.add(high, 5).accepted == 1  # replaces the phone's bin
    for buffer in (first, second):
        assert buffer.totals().steps == 60
        assert buffer.sources() == (["merge"], ["phone"])
        (window,) = buffer.flush()
        assert window.values[0, 0] == 60


def test_lower_source_still_fills_bins_the_better_one_left_empty() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0, 60, source="merge"), 5)
    result = buffer.add(
        batch(Channel.STEPS, "phone", [T0, T0 + M], [T0 + M, T0 + 2 * M], [80, 9]), 3
    )
    assert (result.accepted, result.duplicate) == (1, 1)
    assert buffer.totals().steps == 69
    assert buffer.sources() == (["merge", "phone"], [])


def test_window_emitted_once_when_watermark_passes_end_plus_lateness() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0 + 10 * M, 30), 1)
    buffer.add(steps(T0 + H + 13 * M, 5), 1)  # watermark 15:14 < 15:15
    assert buffer.pop_complete() == []
    buffer.add(steps(T0 + H + 14 * M, 5), 1)  # watermark 15:15: the 14:00 window is complete
    (window,) = buffer.pop_complete()
    assert (window.start_ns, window.end_ns) == (T0, T0 + H)
    assert window.totals.steps == 30
    assert buffer.pop_complete() == []
    (last,) = buffer.flush()
    assert last.start_ns == T0 + H and last.totals.steps == 10
    assert buffer.flush() == []


def test_points_in_emitted_windows_are_late_and_straddlers_keep_their_open_part() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0 + 10 * M, 30), 1)
    buffer.add(steps(T0 + H + 20 * M, 5), 1)
    assert len(buffer.pop_complete()) == 1
    assert buffer.add(steps(T0 + 59 * M, 9), 1).late == 1
    # 120 steps over 14:59-15:01: the half in the closed 14:00 window is dropped
    straddler = buffer.add(steps(T0 + 59 * M, 120, 2 * M), 1)
    assert straddler.accepted == 1
    (window,) = buffer.flush()
    assert window.values[0, 0] == 60 and window.totals.steps == 65


def test_out_of_order_within_lateness_updates_the_open_window() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0 + H + 5 * M, 5), 1)  # the first point is already in the next hour
    assert buffer.add(steps(T0 + 50 * M, 40), 1).accepted == 1  # 14:50 is within lateness
    buffer.add(steps(T0 + H + 30 * M, 1), 1)
    (window,) = buffer.pop_complete()
    assert window.start_ns == T0 and window.totals.steps == 40


def test_flush_makes_later_points_of_those_windows_late() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0 + 5 * M, 5), 1)
    assert len(buffer.flush()) == 1
    assert buffer.add(steps(T0 + 6 * M, 5), 1).late == 1
    assert buffer.add(steps(T0 + H + 6 * M, 5), 1).accepted == 1
    assert buffer.has_open_data


def test_speed_interpolated_across_short_gaps_only() -> None:
    buffer = UserBuffer("u")
    at = [T0 + 2 * M, T0 + 6 * M, T0 + 20 * M]  # gaps of 4 and 14 minutes
    buffer.add(batch(Channel.SPEED, "s", at, at, [1.6, 3.2, 2.0]), 1)
    (window,) = buffer.flush()
    np.testing.assert_allclose(window.values[2, 2:7], [1.6, 2.0, 2.4, 2.8, 3.2], rtol=1e-6)
    assert window.mask[2, 2:7].all()
    assert not window.mask[2, 7:20].any() and window.values[2, 7:20].sum() == 0
    assert window.mask[2, 20] and window.totals.speed_samples == 3


def test_speed_interpolated_across_a_window_edge() -> None:
    buffer = UserBuffer("u")
    at = [T0 + 58 * M, T0 + 61 * M, T0 + 100 * M]
    buffer.add(batch(Channel.SPEED, "s", at, at, [2.0, 3.5, 1.0]), 1)
    first, second = buffer.flush()
    np.testing.assert_allclose(first.values[2, 58:], [2.0, 2.5])
    np.testing.assert_allclose(second.values[2, :2], [3.0, 3.5])


def test_speed_not_bridged_to_a_spike() -> None:
    """A walk's samples and one GPS glitch of 12 m/s between them: the glitch keeps its own bin,
    the minutes on either side are not filled with speeds no one had (``SPEED_SPIKE``)."""
    buffer = UserBuffer("u")
    at = [T0 + 10 * M, T0 + 13 * M, T0 + 16 * M, T0 + 19 * M]
    buffer.add(batch(Channel.SPEED, "s", at, at, [1.3, 12.0, 1.4, 1.2]), 1)
    (window,) = buffer.flush()
    assert np.flatnonzero(window.mask[2]).tolist() == [10, 13, 16, 17, 18, 19]
    assert window.values[2, 13] == 12.0 and window.values[2, 17:19].max() < 1.4


def test_a_change_of_pace_that_lasts_is_bridged() -> None:
    """A walk, then a bus: the first fast sample has a fast neighbour, so it is no spike."""
    buffer = UserBuffer("u")
    at = [T0 + 10 * M, T0 + 13 * M, T0 + 16 * M, T0 + 19 * M]
    buffer.add(batch(Channel.SPEED, "s", at, at, [1.2, 9.0, 10.5, 1.5]), 1)
    (window,) = buffer.flush()
    assert window.mask[2, 10:20].all()
    np.testing.assert_allclose(window.values[2, 13:17], [9.0, 9.5, 10.0, 10.5], rtol=1e-6)


def test_speed_mean_of_the_best_source_per_bin() -> None:
    buffer = UserBuffer("u")
    t = T0 + 3 * M
    buffer.add(batch(Channel.SPEED, "gps", [t, t + 10 * S], [t, t + 10 * S], [2.0, 4.0]), 5)
    buffer.add(batch(Channel.SPEED, "phone", [t + 20 * S], [t + 20 * S], [9.0]), 3)
    (window,) = buffer.flush()
    assert window.values[2, 3] == 3.0 and window.totals.speed_samples == 2


def test_manual_points_counted_in_their_window() -> None:
    buffer = UserBuffer("u")
    buffer.add(batch(Channel.STEPS, "x:user_input", [T0 + M], [T0 + 2 * M], [500], manual=True), 7)
    buffer.add(steps(T0 + 3 * M, 10), 1)
    (window,) = buffer.flush()
    assert window.manual_points == 1


def test_state_stays_bounded_however_long_the_stream() -> None:
    buffer = UserBuffer("u")
    grid = buffer.grid
    cap = grid.window_bins + grid.lateness_s // grid.bin_s + 1
    emitted = 0
    held = []
    for minute in range(3 * 24 * 60):
        t = T0 + minute * M + 17 * S
        buffer.add(steps(t, 30), 1)
        buffer.add(batch(Channel.SPEED, "s", [t], [t], [1.2]), 1)
        emitted += len(buffer.pop_complete())
        held.append((buffer.held_bins, len(buffer.to_bytes())))
    assert max(h for h, _ in held) <= cap
    assert max(size for _, size in held) < 4_000
    assert emitted == 3 * 24 - 1


def test_a_jump_of_a_year_emits_the_old_window_and_holds_little() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0, 30), 1)
    buffer.add(steps(T0 + 365 * 24 * H, 30), 1)
    (window,) = buffer.pop_complete()
    assert window.start_ns == T0
    assert buffer.held_bins <= 60


def test_long_point_spread_over_hours_is_conserved() -> None:
    buffer = UserBuffer("u")
    buffer.add(steps(T0 + 7 * S, 10_001, 5 * H), 1)
    windows = buffer.pop_complete() + buffer.flush()
    assert [w.start_ns for w in windows] == [T0 + k * H for k in range(6)]
    assert sum(w.totals.steps for w in windows) == 10_001


def test_serialisation_round_trip_is_exact() -> None:
    buffer = UserBuffer("u", GridSpec(lateness_s=600))
    buffer.add(steps(T0 + 5 * M, 30, source="a"), 1)
    buffer.add(steps(T0 + 5 * M, 40, source="b"), 2)
    buffer.add(batch(Channel.SPEED, "s", [T0 + 9 * M], [T0 + 9 * M], [1.5]), 1)
    buffer.add(batch(Channel.STEPS, "m:user_input", [T0 + M], [T0 + M], [3], manual=True), 7)
    buffer.add(steps(T0 + H + 11 * M, 1), 1)  # completes the 14:00 window, left pending
    blob = buffer.to_bytes()
    copy = UserBuffer.from_bytes(blob)
    assert copy.to_bytes() == blob
    assert copy.grid == buffer.grid and copy.watermark_ns == buffer.watermark_ns
    assert copy.sources() == buffer.sources() and copy.totals() == buffer.totals()
    mine, theirs = buffer.pop_complete(), copy.pop_complete()
    assert len(mine) == len(theirs) == 1
    np.testing.assert_array_equal(mine[0].values, theirs[0].values)
    np.testing.assert_array_equal(mine[0].mask, theirs[0].mask)
    assert (mine[0].totals, mine[0].manual_points) == (theirs[0].totals, theirs[0].manual_points)
    assert copy.add(steps(T0 + 5 * M, 40, source="b"), 2).late == 1
    assert copy.add(steps(T0 + H + 11 * M, 1), 1).duplicate == 1


def test_users_share_identical_source_tables_but_never_each_others_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Source tables are shared between users (memory); marking a source shadowed or used for
    one user must not reach another, including once the shared store is full."""
    cap = source_table._SHARED_TABLES
    for full in (False, True):
        junk = range(cap if full else 0)
        monkeypatch.setattr(source_table, "_NAME_TABLES", {(str(i),): (str(i),) for i in junk})
        monkeypatch.setattr(source_table, "_META_TABLES", {b"%d" % i: b"%d" % i for i in junk})
        first, second, third = (UserBuffer(u) for u in ("u1", "u2", "u3"))
        for buffer in (first, second, third):
            buffer.add(steps(T0 + M, 10, source="a"), 1)
            buffer.add(steps(T0 + 2 * M, 10, source="b"), 2)
        first.add(steps(T0 + 2 * M, 30, source="a"), 1)  # outranked by b in that bin
        second.add(steps(T0 + M, 30, source="b"), 2)  # outranks a there
        assert first.sources() == (["a", "b"], [])
        assert second.sources() == (["b"], ["a"])
        assert third.sources() == (["a", "b"], [])
        assert UserBuffer.from_bytes(second.to_bytes()).sources() == (["b"], ["a"])
        assert (third._names is first._names) != full


def test_from_bytes_refuses_other_data() -> None:
    with pytest.raises(ValueError):
        UserBuffer.from_bytes(b"not a buffer")


def test_overlapping_windows_share_their_bins() -> None:
    grid = GridSpec(window_bins=60, hop_bins=30)
    buffer = UserBuffer("u", grid)
    for minute in range(0, 120, 7):
        buffer.add(steps(T0 + minute * M, minute + 1), 1)
    windows = buffer.flush()
    starts = [w.start_ns for w in windows]
    assert starts == [T0 - 30 * M + k * 30 * M for k in range(len(starts))]
    by_start = {w.start_ns: w for w in windows}
    for w in windows:
        later = by_start.get(w.start_ns + 30 * M)
        if later is not None:
            np.testing.assert_array_equal(w.values[:, 30:], later.values[:, :30])


@pytest.mark.skipif(not (DATA / "google-fit-takeout").is_dir(), reason="no ../shared/data")
def test_takeout_sample_counts_each_step_once() -> None:
    buffer = UserBuffer("takeout")
    for result in iter_results([str(DATA / "google-fit-takeout")], user="takeout"):
        for b in result.batches:
            buffer.add(b, source_rank(b.channel, b.source))
    windows = buffer.pop_complete() + buffer.flush()
    totals = buffer.totals()
    assert totals.steps == 2_091  # three step streams carry the same steps
    # 37 samples per stream; the phone's 14:25 sample has no merge_speed twin in its minute (the
    # merge re-timed it to 14:37), so the per-bin rule keeps it: 38
    assert totals.speed_samples == 38
    assert abs(totals.distance_m - 970.6) < 0.1
    assert sum(w.totals.steps for w in windows) == 2_091
    used, shadowed = buffer.sources()
    assert any("estimated_steps" in s for s in used)
    assert any("merge_step_deltas" in s for s in shadowed)


def test_a_batch_spanning_days_is_applied_window_by_window() -> None:
    """A Takeout file of two days arrives as one batch: windows close chunk by chunk, the ring
    stays small, and the result equals the same points sent one by one."""
    starts = [T0 + k * 10 * M + 13 * S for k in range(2 * 24 * 6)]
    whole = UserBuffer("u")
    whole.add(batch(Channel.STEPS, "a", starts, [t + 3 * M for t in starts], [33] * len(starts)), 1)
    one_by_one = UserBuffer("u")
    for t in starts:
        one_by_one.add(steps(t, 33, 3 * M), 1)
    assert whole.held_bins <= 76
    got = whole.pop_complete() + whole.flush()
    expected = one_by_one.pop_complete() + one_by_one.flush()
    assert len(got) == len(expected) == 48
    for a, b in zip(got, expected, strict=True):
        assert a.start_ns == b.start_ns
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.mask, b.mask)
    assert sum(w.totals.steps for w in got) == 33 * len(starts)


def test_a_delta_longer_than_a_week_is_late_and_costs_nothing() -> None:
    buffer = UserBuffer("u")
    assert buffer.add(steps(T0 - 400 * 24 * H, 10**6, 400 * 24 * H), 1).late == 1
    week = batch(Channel.STEPS, "a", [T0 - 8 * 24 * H, T0], [T0, T0 + M], [5_000, 40])
    assert (buffer.add(week, 1).accepted, buffer.held_bins) == (1, 1)
    assert [w.totals.steps for w in buffer.flush()] == [40]


def test_absurd_step_counts_saturate_instead_of_crashing() -> None:
    buffer = UserBuffer("u")
    huge = 5 * 10**12
    assert buffer.add(steps(T0 + 17 * S, huge), 1).accepted == 1  # two bins, scalar path
    spread = [T0 + H + k * M + 17 * S for k in range(3)]
    many = batch(Channel.STEPS, "a", spread, [t + M for t in spread], [float(huge)] * 3)
    assert buffer.add(many, 1).accepted == 3  # vector path
    assert buffer.add(steps(T0 + 20 * S, 7, 0), 1).accepted == 1
    windows = buffer.flush()
    assert all((w.values[0] >= 0).all() for w in windows)
    assert [w.totals.steps for w in windows] == [2 * (2**31 - 1), 4 * (2**31 - 1)]
