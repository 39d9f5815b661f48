"""Window context: the bins around a window that the buffer hands the plausibility checks.

Look-ahead is what the ring holds after the window when the watermark closes it; look-behind is
the previous window's tail, carried in the user's state (and through ``to_bytes``).
"""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import TAIL_BINS, UserBuffer
from stream.points import Channel, PointBatch
from stream.scoring.checks.movement import WALK_JUMP_SPEED
from stream.scoring.context import F32, fill_speed, reach
from stream.scoring.plausibility import PlausibilityScorer
from stream.windows import Window
from tests.scoring_cases import normal_walk, walk, window

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


# --- the checks on a window with its context -------------------------------------------


def with_context(core: Window, before: F32 | None = None, after: F32 | None = None) -> Window:
    return replace(core, before=before, after=after)


def rows(steps: list[float], distance: list[float] | None = None) -> F32:
    """A ``[3, k]`` context: steps, distance (NaN: none sent), no speed sample."""
    n = len(steps)
    out = np.full((3, n), np.nan, dtype=np.float32)
    out[0] = steps
    if distance is not None:
        out[1] = distance
    return out


def reasons(w: Window) -> tuple[str, ...]:
    return PlausibilityScorer().score([w])[0].reasons


def test_a_cheat_crossing_the_hour_is_judged_whole_by_the_window_it_starts_in() -> None:
    steps = np.zeros(60)
    steps[57:] = 225.0  # three minutes at the window's end (the 3-minute limit is 240)...
    core = window(steps)
    assert "cadence_above_human_limit" not in reasons(core)
    ahead = rows([225.0] * 12)  # ...and twelve more in the look-ahead: 15 above 210
    assert "cadence_above_human_limit" in reasons(with_context(core, after=ahead))


def test_a_cheat_crossing_the_hour_is_judged_whole_by_the_window_it_ends_in() -> None:
    steps = np.zeros(60)
    steps[:2] = 150.0
    core = window(steps)
    behind = rows([np.nan] * 5 + [150.0] * 25)  # a mechanical 25 minutes before
    assert "cadence_without_variation" not in reasons(core)
    assert "cadence_without_variation" in reasons(with_context(core, before=behind))


def test_a_neighbours_cheat_that_does_not_reach_into_the_window_is_not_its_finding() -> None:
    core = normal_walk(3)
    ahead = rows([0.0, 0.0] + [300.0] * 14, [0.0, 0.0] + [9000.0] * 14)
    behind = rows([150.0] * 28 + [0.0, 0.0])
    assert reasons(with_context(core, behind, ahead)) == ()


def test_a_steady_cadence_while_gps_sees_the_phone_move_is_a_runner() -> None:
    steps = walk(5, 45, 150.0, 0.001)
    still = window(steps)
    running = window(steps, steps * 1.1, np.where(steps > 0, 2.8, np.nan))
    assert "cadence_without_variation" in reasons(still)
    assert "cadence_without_variation" not in reasons(running)


def test_a_car_speed_sample_in_the_middle_of_a_walk_is_a_teleport() -> None:
    steps = walk()
    speed = np.full(60, np.nan)
    speed[20] = WALK_JUMP_SPEED + 5.0
    assert "gps_teleport" in reasons(window(steps, steps * 0.72, speed))
    speed[20] = WALK_JUMP_SPEED - 10.0  # fast, yet not beyond what a glitchy GPS says on a walk
    assert "gps_teleport" not in reasons(window(steps, steps * 0.72, speed))


def test_look_ahead_speed_is_interpolated_like_the_window() -> None:
    values = np.zeros((1, 3, 8), dtype=np.float32)
    masks = np.zeros((1, 3, 8), dtype=np.bool_)
    values[0, 2, [1, 4, 7]] = [2.0, 3.5, 2.0]
    masks[0, 2, [1, 4]] = True
    masks[0, 2, 7] = True
    fill_speed(values, masks, gap=3)
    np.testing.assert_allclose(values[0, 2, 1:8], [2.0, 2.5, 3.0, 3.5, 3.0, 2.5, 2.0])
    assert not masks[0, 2, 0]
    jump = np.zeros((1, 3, 8), dtype=np.float32)  # a glitch between two walking samples
    jump_mask = np.zeros((1, 3, 8), dtype=np.bool_)
    jump[0, 2, [1, 4, 7]] = [1.3, 12.0, 1.4]
    jump_mask[0, 2, [1, 4, 7]] = True
    fill_speed(jump, jump_mask, gap=3)
    assert np.flatnonzero(jump_mask[0, 2]).tolist() == [1, 4, 7]  # as the buffer leaves it
    fill_speed(values[:, :, :2], masks[:, :, :2], gap=3)  # nothing to fill: unchanged
    gap_too_long = np.zeros((1, 3, 8), dtype=np.float32)
    gap_mask = np.zeros((1, 3, 8), dtype=np.bool_)
    gap_mask[0, 2, [0, 7]] = True
    fill_speed(gap_too_long, gap_mask, gap=3)
    assert gap_mask[0, 2].sum() == 2


def test_a_shaker_switched_on_in_the_last_seconds_of_the_hour_is_in_that_hours_bout() -> None:
    steps = np.zeros(60)
    steps[59] = 40.0  # its first, partial minute
    core = window(steps)
    ahead = rows([215.0] * 16)  # then sixteen minutes above 210
    assert "cadence_above_human_limit" in reasons(with_context(core, after=ahead))
    quiet = window(np.zeros(60))  # nothing in the window: the next hour's bout is not its own
    assert reasons(with_context(quiet, after=ahead)) == ()


def test_quiet_edges_are_judged_without_context_with_the_same_answer() -> None:
    from stream.scoring.context import stack_context
    from stream.scoring.features import stack_windows
    from stream.scoring.plausibility import check_ratios

    cases = [
        with_context(normal_walk(seed), rows([150.0] * 30), rows([300.0] * 16)) for seed in range(4)
    ]
    edge = walk(0, 60, 120.0)
    cases.append(with_context(window(edge, edge * 0.7), rows([230.0] * 30), rows([230.0] * 16)))
    values, masks = stack_windows(cases)
    before, after = stack_context(cases)
    manual, repeats = np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.bool_)
    split = check_ratios(values, masks, manual, repeats, before=before, after=after)
    from stream.scoring.context import extend

    assert extend(values, masks, before, after)[2] == before.shape[2]
    for i in range(5):  # each row alone, context or not, as the batch judged it
        one = check_ratios(
            values[i : i + 1],
            masks[i : i + 1],
            manual[:1],
            repeats[:1],
            before=before[i : i + 1],
            after=after[i : i + 1],
        )
        np.testing.assert_allclose(split[i], one[0])
    assert split[4, 0] >= 1.0 > split[:4, 0].max()  # the active edge joined the 230s


def test_a_snapshot_written_before_window_context_still_loads() -> None:
    buffer = UserBuffer("u")
    feed(buffer, 0, [100 + i % 5 for i in range(80)])
    blob = buffer.to_bytes()
    # the newer sections: no Health Connect records, late points or moving minutes kept
    records = struct.pack("<I", 0) * 3
    assert blob.endswith(struct.pack("<I", len(buffer._tail)) + buffer._tail + records)
    older = blob[: -(4 + len(buffer._tail) + len(records))]  # the format before: no tail
    restored = UserBuffer.from_bytes(older)
    assert [w.before for w in restored.flush()] == [None]
    assert [w.before is not None for w in UserBuffer.from_bytes(blob).flush()] == [True]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), min_size=3, max_size=40),
    st.integers(0, 39),
    st.integers(1, 20),
    st.integers(0, 3),
)
def test_reach_keeps_the_window_and_only_runs_joined_to_it(
    bits: list[bool], lo: int, width: int, gap: int
) -> None:
    active = np.array([bits], dtype=np.bool_)
    bins = active.shape[1]
    lo = min(lo, bins - 1)
    hi = min(lo + width, bins)
    got = reach(active, lo, hi, gap)[0]
    assert not (got & ~active[0]).any()  # never invents activity
    assert (got[lo:hi] == active[0, lo:hi]).all()  # the window's own bins, all of them
    # a kept bin outside the window is joined to it: no pause longer than ``gap`` in between
    for i in np.flatnonzero(got).tolist():
        a, b = (i, lo) if i < lo else (hi - 1, i)
        if a < b and not (lo <= i < hi):
            run = active[0, a : b + 1]
            pauses = np.diff(np.flatnonzero(run)) - 1
            assert (pauses <= gap).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 50)), min_size=2, max_size=30), st.integers(1, 6))
def test_filled_speed_lies_between_its_known_neighbours(
    samples: list[float | None], gap: int
) -> None:
    values = np.zeros((1, 3, len(samples)), dtype=np.float32)
    masks = np.zeros((1, 3, len(samples)), dtype=np.bool_)
    for i, x in enumerate(samples):
        if x is not None:
            values[0, 2, i], masks[0, 2, i] = x, True
    known = masks[0, 2].copy()
    before = values[0, 2].copy()
    fill_speed(values, masks, gap)
    speed = values[0, 2]
    np.testing.assert_array_equal(speed[known], before[known])  # samples are kept
    at = np.flatnonzero(known)
    for i in np.flatnonzero(masks[0, 2] & ~known).tolist():
        p, q = at[at < i].max(), at[at > i].min()
        assert q - p <= gap
        lo, hi = sorted((before[p], before[q]))
        assert lo - 1e-4 <= speed[i] <= hi + 1e-4
