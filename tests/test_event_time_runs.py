"""``in_event_time`` replays files as a live feed's arrivals; the buffers must not depend on how
the inputs were ordered or cut, and no point of a file is late to another.

The reference for the arrivals is written plainly here: each user's points fall in the slice
between the window closes their end lies in, and a point longer than the lateness joins every
slice from the one closing the window of its start to its own into one arrival. Each arrival is
one message (``stream.pipeline.apply``), one batch per stream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID
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
    # duration: instants, minutes, long entries, an hour's and a day's total
    st.sampled_from([0, 30, 60, 61, 300, 1200, 3600, 5400, 86_400]),
    st.integers(0, 150),
)
_stream = st.tuples(st.integers(0, len(STREAMS) - 1), st.lists(_point, min_size=1, max_size=40))
_users = st.lists(st.lists(_stream, min_size=1, max_size=4), min_size=1, max_size=2)


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


def _arrivals(batches: list[PointBatch]) -> Iterable[ParseResult]:
    """The reference: the arrivals ``in_event_time`` stands for, point by point in Python."""
    grid = DEFAULT_GRID
    window, hop, lateness = grid.window_ns, grid.hop_ns, grid.lateness_ns
    Point = tuple[int, int, int, int, int, tuple[str, int, str, bool], float]
    by_user: dict[str, list[Point]] = defaultdict(list)
    for b in batches:
        stream = (b.user_id, int(b.channel), b.source, b.manual)
        for s, e, v in zip(b.start_ns.tolist(), b.end_ns.tolist(), b.value.tolist(), strict=True):
            own = (e - window - lateness) // hop  # the slice of its end
            reach = (s - window) // hop + 1  # the slice closing its start's window
            by_user[b.user_id].append((min(reach, own), own, reach, s, e, stream, v))
    for user_id in sorted(by_user):
        groups: list[list[Point]] = []
        reached = None
        for p in sorted(by_user[user_id], key=lambda p: (p[0], p[1])):
            if reached is None or p[0] > reached:
                groups.append([])
                reached = p[1]
            reached = max(reached, p[1])
            groups[-1].append(p)
        for group in groups:
            if len({p[1] for p in group}) > 1:  # slices a long point joins: one arrival
                yield _message(group)
                continue
            # one slice: the point ending first with what reaches the window it closes, then
            # the rest
            first = min(group, key=lambda p: (p[4], p[3], p[5]))
            head = [p for p in group if p is first or p[2] <= p[1]]
            rest = [p for p in group if not (p is first or p[2] <= p[1])]
            yield _message(head)
            if rest:
                yield _message(rest)


def _message(
    points: list[tuple[int, int, int, int, int, tuple[str, int, str, bool], float]],
) -> ParseResult:
    streams: dict[tuple[str, int, str, bool], list[tuple[int, int, float]]] = {}
    for *_, s, e, stream, v in points:
        streams.setdefault(stream, []).append((s, e, v))
    out = ParseResult()
    for (uid, channel, source, manual), pts in sorted(streams.items()):
        pts.sort(key=lambda p: (p[0], p[1]))
        out.batches.append(
            PointBatch(
                uid, Channel(channel), source,
                np.array([p[0] for p in pts], dtype=np.int64),
                np.array([p[1] for p in pts], dtype=np.int64),
                np.array([p[2] for p in pts], dtype=np.float64), manual,
            )
        )  # fmt: skip
    return out


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


def _same_windows(got: list[Window], want: list[Window]) -> None:
    def key(w: Window) -> tuple[str, int, bool]:
        return w.user_id, w.start_ns, w.after_close

    got = sorted(got, key=lambda w: w.user_id)  # users are independent; per user, emission order
    want = sorted(want, key=lambda w: w.user_id)
    assert [key(w) for w in got] == [key(w) for w in want]
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g.mask, w.mask)
        assert np.array_equal(g.values[0], w.values[0])  # whole steps: exact
        assert _close(g.values, w.values)
        assert _close(g.before, w.before) and _close(g.after, w.after)
        assert g.totals.steps == w.totals.steps and g.totals.speed_samples == w.totals.speed_samples
        assert abs(g.totals.distance_m - w.totals.distance_m) < 1e-6
        assert g.manual_points == w.manual_points


def _distinct(batches: list[PointBatch]) -> list[PointBatch]:
    """The batches without a second point of the same stream, start and end."""
    seen: set[tuple[str, int, str, int, int]] = set()
    out = []
    for b in batches:
        keep = []
        for i, (s, e) in enumerate(zip(b.start_ns.tolist(), b.end_ns.tolist(), strict=True)):
            key = (b.user_id, int(b.channel), b.source, s, e)
            if key not in seen:
                seen.add(key)
                keep.append(i)
        out.append(
            PointBatch(
                b.user_id, b.channel, b.source, b.start_ns[keep], b.end_ns[keep], b.value[keep],
                b.manual,
            )
        )  # fmt: skip
    return out


@settings(max_examples=150, deadline=None)
@given(users=_users)
def test_the_arrivals_are_the_slices_with_long_points_spanning_theirs(
    users: list[list[tuple[int, list[tuple[int, int, int]]]]],
) -> None:
    batches = _batches(users)
    arrivals = list(in_event_time([ParseResult(batches)], max_points=10**9))
    got_outcomes, got = _run(arrivals)
    want_outcomes, want = _run(_arrivals(batches))
    assert sum(len(b) for r in arrivals for b in r.batches) == sum(len(b) for b in batches)
    assert all(len({b.user_id for b in r.batches}) == 1 for r in arrivals)
    assert got_outcomes.as_labels() == want_outcomes.as_labels()
    assert got_outcomes.late == 0  # a file's points are never late to each other
    _same_windows(got, want)


@settings(max_examples=100, deadline=None)
@given(users=_users, cuts=st.lists(st.integers(0, 40), max_size=6), seed=st.integers(0, 2**16))
def test_a_replay_does_not_depend_on_how_its_inputs_were_ordered_or_cut(
    users: list[list[tuple[int, list[tuple[int, int, int]]]]], cuts: list[int], seed: int
) -> None:
    # a point sent twice with two values counts the first that arrives: the order does matter
    # there, by design, so each stream's points here differ in their times
    batches = _distinct(_batches(users))
    pieces = []  # every batch cut where ``cuts`` says, the pieces shuffled across inputs
    for b in batches:
        at = sorted({c for c in cuts if 0 < c < len(b)})
        for lo, hi in zip([0, *at], [*at, len(b)], strict=True):
            pieces.append(
                PointBatch(
                    b.user_id, b.channel, b.source, b.start_ns[lo:hi], b.end_ns[lo:hi],
                    b.value[lo:hi], b.manual,
                )
            )  # fmt: skip
    rng = np.random.default_rng(seed)
    shuffled = [ParseResult([pieces[i]]) for i in rng.permutation(len(pieces))]
    got_outcomes, got = _run(in_event_time(shuffled))
    want_outcomes, want = _run(in_event_time([ParseResult(batches)]))
    assert got_outcomes.as_labels() == want_outcomes.as_labels()
    _same_windows(got, want)


def test_a_day_of_steps_beside_a_day_of_distance_keeps_every_step() -> None:
    """A REST aggregate response's daily buckets: each day's distance point ends hours before
    its steps point (they carry the times of the first and last sample). Replayed by end, the
    distance used to close the day's hours before the steps came, and the steps there were lost
    (84 % of a real response's steps, counted neither late nor anywhere)."""
    day = 86_400
    points = {  # (start, end) seconds after T0, per day: steps 03:02-17:13, distance 05:53-14:28
        Channel.STEPS: [(d * day + 10_920, d * day + 62_000, 5_000.0 + d) for d in range(3)],
        Channel.DISTANCE: [(d * day + 21_180, d * day + 52_080, 3_000.0 + d) for d in range(3)],
    }
    source = {Channel.STEPS: PHONE, Channel.DISTANCE: METRES}
    batches = [
        PointBatch(
            "u", channel, source[channel],
            np.array([T0 + s * NS for s, _, _ in pts], dtype=np.int64),
            np.array([T0 + e * NS for _, e, _ in pts], dtype=np.int64),
            np.array([v for *_, v in pts]),
        )
        for channel, pts in points.items()
    ]  # fmt: skip
    outcomes, windows = _run(in_event_time([ParseResult(batches)]))
    assert outcomes.accepted == 6 and outcomes.late == 0
    assert sum(w.totals.steps for w in windows) == 15_003
    assert abs(sum(w.totals.distance_m for w in windows) - 9_003.0) < 1e-6
    # the same as the worker receiving the response as one message
    _, whole = _run([ParseResult(batches)])
    _same_windows(windows, whole)


def test_a_replay_of_interleaved_streams_comes_in_few_arrivals() -> None:
    """Three streams of a minute-by-minute walk over a day: two arrivals an hour (messages of
    ``lifeup publish``: the point closing the hour before, then the rest), each a batch per
    stream, not one per point."""
    minutes = np.arange(24 * 60, dtype=np.int64)
    start = T0 + minutes * 60 * NS
    batches = [
        PointBatch("u", channel, source, start, start + 55 * NS, np.full(minutes.shape, 90.0))
        for channel, source, _ in (STREAMS[0], STREAMS[1], STREAMS[3])
    ]
    arrivals = list(in_event_time([ParseResult(batches)]))
    assert len(arrivals) <= 2 * 25
    assert all(len(r.batches) <= 3 for r in arrivals)
    assert sum(len(b) for r in arrivals for b in r.batches) == 3 * len(minutes)
    cut = list(in_event_time([ParseResult(batches)], max_points=50))
    assert max(sum(len(b) for b in r.batches) for r in cut) == 50
