"""``in_event_time`` cuts a replay into long runs; the buffers must not be able to tell.

The reference is the order it stands for: every point alone, by end time (ties: start, then
stream), each added and its windows popped before the next. The runs (a slice of event time
between two window closes, one run per stream, the point that closes windows alone) must give
the same windows: the same hours, steps, masks, manual counts and late points; distance and
speed equal up to float rounding (a run sums a bin's points vectorised, one at a time sums them
in sequence).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import UserBuffer
from stream.parsing import in_event_time
from stream.pipeline import Outcomes, apply
from stream.points import Channel, ParseResult, PointBatch
from stream.windows import Window

NS = 1_000_000_000
T0 = 1_772_398_800 * NS  # an hour boundary
PHONE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
WATCH = "raw:com.google.step_count.delta:com.fitbit.FitbitMobile:watch"
METRES = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"
SPEED = "derived:com.google.speed:com.google.android.gms:merge_speed"
STREAMS = [
    (Channel.STEPS, PHONE, False),
    (Channel.STEPS, WATCH, False),
    (Channel.STEPS, "user_input", True),
    (Channel.DISTANCE, METRES, False),
    (Channel.SPEED, SPEED, False),
]

_point = st.tuples(
    st.integers(0, 5 * 3600),  # start, seconds after T0
    st.sampled_from([0, 30, 60, 61, 300, 1200, 5400]),  # duration: instants to long entries
    st.integers(0, 150),
)
_stream = st.tuples(st.integers(0, len(STREAMS) - 1), st.lists(_point, min_size=1, max_size=40))


def _batches(users: list[list[tuple[int, list[tuple[int, int, int]]]]]) -> list[PointBatch]:
    batches = []
    for u, streams in enumerate(users):
        for which, points in streams:
            channel, source, manual = STREAMS[which]
            start = np.array([T0 + s * NS for s, _, _ in points], dtype=np.int64)
            length = [0 if channel is Channel.SPEED else d for _, d, _ in points]
            end = start + np.array(length, dtype=np.int64) * NS
            scale = {Channel.STEPS: 1.0, Channel.DISTANCE: 0.77, Channel.SPEED: 0.013}[channel]
            value = np.array([v * scale for *_, v in points], dtype=np.float64)
            batches.append(PointBatch(f"u{u}", channel, source, start, end, value, manual))
    return batches


def _one_at_a_time(batches: list[PointBatch]) -> Iterable[ParseResult]:
    """Every point alone, in the event-time order ``in_event_time`` stands for."""
    keyed = sorted(
        (int(b.end_ns[i]), int(b.start_ns[i]), (b.user_id, int(b.channel), b.source), n, i)
        for n, b in enumerate(batches)
        for i in range(len(b))
    )
    for *_, n, i in keyed:
        b = batches[n]
        one = PointBatch(
            b.user_id, b.channel, b.source, b.start_ns[i : i + 1], b.end_ns[i : i + 1],
            b.value[i : i + 1], b.manual,
        )  # fmt: skip
        yield ParseResult([one], in_event_time=True)


def _run(results: Iterable[ParseResult]) -> tuple[Outcomes, list[Window]]:
    buffers: dict[str, UserBuffer] = {}
    total = Outcomes()
    windows: list[Window] = []
    for result in results:
        got, ws = apply(result, buffers)
        total.add(got)
        windows.extend(ws)
    for buffer in buffers.values():
        windows.extend(buffer.flush())
    return total, windows


def _close(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-4, equal_nan=True))


@settings(max_examples=150, deadline=None)
@given(users=st.lists(st.lists(_stream, min_size=1, max_size=4), min_size=1, max_size=2))
def test_long_runs_give_the_windows_of_one_point_at_a_time(
    users: list[list[tuple[int, list[tuple[int, int, int]]]]],
) -> None:
    batches = _batches(users)
    runs = list(in_event_time([ParseResult(batches)]))
    got_outcomes, got = _run(runs)
    want_outcomes, want = _run(_one_at_a_time(batches))

    # every point once, and every point accounted for
    assert sum(len(b) for r in runs for b in r.batches) == sum(len(b) for b in batches)
    assert got_outcomes.late == want_outcomes.late
    handled = got_outcomes.accepted + got_outcomes.duplicate + got_outcomes.late
    assert handled == sum(len(b) for b in batches)

    # the same windows, emitted in the same order per user (users are independent)
    def key(w: Window) -> tuple[str, int, bool]:
        return w.user_id, w.start_ns, w.after_close

    got.sort(key=lambda w: w.user_id)
    want.sort(key=lambda w: w.user_id)
    assert [key(w) for w in got] == [key(w) for w in want]
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g.mask, w.mask)
        assert np.array_equal(g.values[0], w.values[0])  # whole steps: exact
        assert _close(g.values, w.values)
        assert _close(g.before, w.before) and _close(g.after, w.after)
        assert g.totals.steps == w.totals.steps and g.totals.speed_samples == w.totals.speed_samples
        assert abs(g.totals.distance_m - w.totals.distance_m) < 1e-6
        assert g.manual_points == w.manual_points


def test_a_replay_of_interleaved_streams_comes_in_few_runs() -> None:
    """Three streams of a minute-by-minute walk over a day: a handful of runs an hour, not one
    per point (each cost a buffer call)."""
    minutes = np.arange(24 * 60, dtype=np.int64)
    start = T0 + minutes * 60 * NS
    batches = [
        PointBatch("u", channel, source, start, start + 55 * NS, np.full(minutes.shape, 90.0))
        for channel, source, _ in (STREAMS[0], STREAMS[1], STREAMS[3])
    ]
    runs = [b for r in in_event_time([ParseResult(batches)]) for b in r.batches]
    assert len(runs) <= 25 * 4  # per hour: the point closing the hour before, then each stream
    assert sum(len(b) for b in runs) == 3 * len(minutes)
