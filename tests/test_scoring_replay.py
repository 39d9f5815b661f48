"""Replay fingerprints of step points: a walk sent again (shifted by any time, cut into messages
any way) is found; the same walk through another stream, other walks, flat or slow streams and
real users' months are not."""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.scoring import replay
from stream.windows import Window
from tests.scoring_cases import DATA, fitabase_or_skip, simulated_normal

NS = 1_000_000_000
T0 = 1_709_280_000 * NS
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def _walk(n: int, seed: int) -> tuple[I64, I64, F64]:
    """Google Fit-like step points: 10-60 s long, short pauses between, 90-130 steps/min."""
    rng = np.random.default_rng(seed)
    dur = rng.integers(10_000, 60_000, n) * 1_000_000
    gap = rng.integers(0, 20_000, n) * 1_000_000
    start = T0 + np.cumsum(dur + gap) - dur
    value = np.rint(dur / 60e9 * rng.uniform(90, 130, n))
    return start.astype(np.int64), (start + dur).astype(np.int64), value


def _grams(v: F64) -> int:
    """Grams a walk of ``_walk``'s points makes: one per point from the fourth on, where the
    four counts are not all alike (a timed gram leaves two records: its timing, its shape)."""
    q = np.rint(v)
    return sum(np.ptp(q[i - 3 : i + 1]) >= replay.MIN_SPREAD for i in range(3, q.shape[0]))


def _by_shift(shifts: I64) -> dict[int, int]:
    """Repeated grams per shift, as ``replay.replayed`` reads them."""
    found, times = np.unique(shifts, return_counts=True)
    return dict(zip(found.tolist(), times.tolist(), strict=True))


def _one_by_one(blob: bytes, entry: int, s: I64, e: I64, v: F64) -> tuple[list[int], bytes]:
    hits = []
    for i in range(s.shape[0]):
        shift, blob = replay.observe_one(blob, entry, int(s[i]), int(e[i]), float(v[i]))
        if shift >= 0:
            hits.append(i)
    return hits, blob


def _history(blob: bytes) -> bytes:
    return blob[replay._tails(blob)[1] :]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    shift_ns=st.integers(-(10**15), 10**15),
)
def test_batches_single_points_and_any_cut_give_the_same_grams(
    n: int, seed: int, cuts: list[int], shift_ns: int
) -> None:
    s, e, v = _walk(n, seed)
    _, single = _one_by_one(b"", 1, s, e, v)
    blob = b""
    bounds = [0, *sorted(c for c in cuts if c < n), n]
    for lo, hi in pairwise(bounds):
        perm = np.random.default_rng(lo).permutation(hi - lo) + lo  # any order inside a batch
        *_, blob = replay.observe_many(blob, 1, s[perm], e[perm], v[perm])
    assert _history(blob) == _history(single)
    # the same walk later, by any shift beyond a minute: every gram of it repeats
    grams = _grams(v)
    minutes = (abs(shift_ns) // replay.MINUTE_NS) % replay._TAG_MOD
    if replay.NEAR_MIN + 2 < minutes < replay._TAG_MOD - replay.NEAR_MIN - 2:
        hits, _, _ = replay.observe_many(single, 1, s + shift_ns, e + shift_ns, v)
        again, _ = _one_by_one(single, 1, s + shift_ns, e + shift_ns, v)
        assert len(hits) == len(again) == grams


def test_a_replay_shifted_by_a_fraction_of_a_minute_or_whole_days_is_found() -> None:
    s, e, v = _walk(30, 1)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    assert _grams(v) >= 20
    for shift in (86_400 * NS, 2 * 86_400 * NS + 60 * NS, 5 * 3_600 * NS + 17_345_678_901):
        hits, _, _ = replay.observe_many(blob, 1, s + shift, e + shift, v)
        assert len(hits) == _grams(v)
    # part of it, sent one point at a time from another source
    part = slice(8, 16)
    shift = 3 * 86_400 * NS + 7_000_000_123
    hits1, _ = _one_by_one(blob, 9, s[part] + shift, e[part] + shift, v[part])
    assert len(hits1) == 8 - replay.GRAM + 1


def test_repeats_make_a_replay_only_when_they_share_one_shift() -> None:
    s, e, v = _walk(12, 7)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    _, shifts, _ = replay.observe_many(blob, 1, s + 7_654_321_987_654, e + 7_654_321_987_654, v)
    assert shifts.shape[0] >= replay.MIN_MATCHES and np.ptp(shifts) <= 1
    assert replay.replayed(_by_shift(shifts))
    # a steady walker's counts repeating by chance: the same number of grams, scattered in time
    assert not replay.replayed(dict.fromkeys(range(100, 100 + 10 * shifts.shape[0], 10), 1))


def test_the_same_walk_through_another_stream_at_the_same_time_is_no_replay() -> None:
    s, e, v = _walk(30, 2)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    hits, _, blob = replay.observe_many(blob, 2, s, e, v)  # Google Fit's merged copy of the points
    assert len(hits) == 0
    assert replay.history_size(blob) == replay.history_size(
        replay.observe_many(b"", 1, s, e, v)[-1]
    )


def test_a_repeat_through_three_streams_counts_once() -> None:
    """One gram repeating (a chance match of its hash, or four points copied) in the three
    streams a phone writes the same points to is one repeat, not three at one shift."""
    s, e, v = _walk(30, 14)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    piece = slice(10, 14)  # four points: one gram
    day = 86_400 * NS
    hits = 0
    for entry in (1, 2, 3):
        got, _, blob = replay.observe_many(blob, entry, s[piece] + day, e[piece] + day, v[piece])
        hits += len(got)
    assert hits == 1
    # single points, each stream in turn, likewise
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    ones = 0
    for i in range(piece.start, piece.stop):
        for entry in (1, 2, 3):
            shift, blob = replay.observe_one(blob, entry, int(s[i] + day), int(e[i] + day), v[i])
            ones += shift >= 0
    assert ones == 1


def test_other_walks_flat_slow_and_short_streams_make_no_repeats() -> None:
    s, e, v = _walk(40, 3)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    s2, e2, v2 = _walk(40, 4)
    assert len(replay.observe_many(blob, 1, s2 + 86_400 * NS, e2 + 86_400 * NS, v2)[0]) == 0
    minute = np.arange(30, dtype=np.int64) * 60 * NS + T0
    flat = np.full(30, 110.0)  # machine-flat counts: injected, not a walk to fingerprint
    assert replay.history_size(replay.observe_many(b"", 1, minute, minute + 60 * NS, flat)[-1]) == 0
    slow = np.arange(30, dtype=np.float64) % 7 + 20  # pottering about at ~20 steps/min
    assert replay.history_size(replay.observe_many(b"", 1, minute, minute + 60 * NS, slow)[-1]) == 0
    three = slice(0, replay.GRAM - 1)
    assert replay.history_size(replay.observe_many(b"", 1, s[three], e[three], v[three])[-1]) == 0


def test_a_pause_breaks_the_run_between_messages() -> None:
    s, e, v = _walk(6, 5)
    v[3] = 2.0  # standing still in the middle: no gram spans it
    _, blob = _one_by_one(b"", 1, s, e, v)
    assert replay.history_size(blob) == 0


def test_history_is_bounded_and_keeps_the_newest() -> None:
    s, e, v = _walk(replay.RECENT_LIMIT + 200, 6)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    assert replay.history_size(blob) == replay.RECENT_LIMIT
    late = slice(s.shape[0] - 50, s.shape[0])
    shift = 86_400 * NS
    assert len(replay.observe_many(blob, 1, s[late] + shift, e[late] + shift, v[late])[0]) > 0


def _flagged(windows: tuple[Window, ...] | list[Window]) -> list[Window]:
    return [w for w in windows if w.repeats_earlier]


@lru_cache(maxsize=1)
def _all_fitabase() -> tuple[Window, ...]:
    """Every real user's months untouched, through the pipeline (the buffer fingerprints)."""
    from model_export import realdata
    from model_export.windowing import windows_of

    return tuple(windows_of(realdata.normal_events(realdata.load_fitabase(DATA))))


def test_no_replays_in_phone_timed_simulated_weeks() -> None:
    """Grams of timing alone on a week of phone-timed days: no walk repeats another."""
    from model_export.simulate import simulate
    from model_export.windowing import windows_of

    data = simulate(6, 7, 78, cheats=False, legit_unusual=True, phone_timing=True)
    windows = list(windows_of(data.events))
    assert sum(w.totals.steps > 300 for w in windows) > 100
    assert _flagged(windows) == []


def test_no_replays_in_real_months_cut_as_a_phone_cuts_them() -> None:
    """The 22 Fitabase users' real minutes re-cut into points of irregular length with 10 ms
    boundaries (``render.deltas(phone_timing=True)``): most of their grams are timing alone,
    and over a month of real walking none repeats another walk."""
    fitabase_or_skip()
    from model_export import realdata
    from model_export.realdata import STEP_SOURCE, to_events
    from model_export.sim.render import deltas
    from model_export.sim.types import RawPoint
    from model_export.windowing import windows_of

    windows: list[Window] = []
    timed = runs = 0
    for i, user in enumerate(realdata.load_fitabase(DATA)):
        cells = np.repeat(np.nan_to_num(user.steps) / 12.0, 12)  # 5 s cells
        active = np.flatnonzero(cells > 0)
        cut = np.flatnonzero(np.diff(active) > 1)
        rng = np.random.default_rng(i)
        points: list[RawPoint] = []
        firsts, lasts = np.r_[active[:1], active[cut + 1]], np.r_[active[cut], active[-1:]] + 1
        for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True):
            t0 = user.start_ns + a * 5 * NS
            for s, e, v in deltas(rng, cells[a:b], t0, 35.0, True, phone_timing=True):
                points.append(RawPoint("steps", s, e, v, STEP_SOURCE))
        ms = [(p.end_ns - p.start_ns) // 1_000_000 for p in points]
        timed += sum(replay._timed(*ms[k : k + 4]) for k in range(len(ms) - 3))
        runs += max(len(ms) - 3, 0)
        windows += windows_of([m for _, m in to_events(user, points)])
    assert timed > 0.5 * runs
    assert sum(w.totals.steps > 300 for w in windows) > 3000
    assert _flagged(windows) == []


def test_no_replays_in_simulated_or_real_months() -> None:
    assert _flagged(simulated_normal()) == []
    fitabase_or_skip()
    real = _all_fitabase()
    assert len({w.user_id for w in real}) >= 20
    assert _flagged(real) == []


def test_a_replay_crossing_the_hour_counts_its_neighbours_grams() -> None:
    assert replay.replayed_near({40: 1}, {40: 2}, {}, walks_on=False)  # its last grams
    assert replay.replayed_near({40: 1}, {}, {41: 2}, walks_on=False)  # shift off by one
    assert not replay.replayed_near({40: 1}, {90: 5}, {}, walks_on=False)  # another shift
    assert not replay.replayed_near({}, {}, {40: 5}, walks_on=False)  # the next hour's alone
    assert replay.replayed_near({}, {}, {40: 5}, walks_on=True)  # ...unless the walk runs on


def test_a_replay_starting_minutes_before_the_hour_flags_both_windows() -> None:
    from stream.buffer import UserBuffer
    from stream.points import Channel, PointBatch

    rng = np.random.default_rng(3)
    minute = 60 * NS
    walk_start = T0 + 10 * 3600 * NS + 10 * minute  # a 30-minute walk at 10:10
    start = walk_start + np.arange(30, dtype=np.int64) * minute
    value = np.rint(rng.uniform(95, 125, 30))
    shift = 86_400 * NS + 47 * minute  # sent again the next day from 10:57
    buffer = UserBuffer("u")
    windows = []
    for offset in (0, shift):
        batch = PointBatch(
            "u", Channel.STEPS, "raw:steps", start + offset, start + offset + minute, value
        )
        buffer.add(batch, 0)
        windows += buffer.pop_complete()
    windows += buffer.flush()
    flagged = [(w.start_ns - T0) // (3600 * NS) for w in windows if w.repeats_earlier]
    assert flagged == [24 + 10, 24 + 11]


def test_a_walk_ending_at_the_hour_is_not_part_of_a_replay_starting_minutes_after() -> None:
    """Walking in the last minute of an hour marks it with a replay in the next hour only when
    the walking goes on into that hour's first minute (a replay crossing the hour): an honest
    walk that stops at :59, with a replay from :08, leaves its hour unmarked."""
    from stream.buffer import UserBuffer
    from stream.points import Channel, PointBatch

    rng = np.random.default_rng(4)
    minute = 60 * NS
    start = T0 + 10 * 3600 * NS + 10 * minute + np.arange(30, dtype=np.int64) * minute
    value = np.rint(rng.uniform(95, 125, 30))
    day = 86_400 * NS
    honest = T0 + day + 10 * 3600 * NS + np.arange(50, 60, dtype=np.int64) * minute  # to 11:00
    buffer = UserBuffer("u")
    windows = []
    for batch in (
        PointBatch("u", Channel.STEPS, "raw:steps", start, start + minute, value),
        PointBatch("u", Channel.STEPS, "raw:steps", honest, honest + minute, np.full(10, 90.0)),
        PointBatch(  # the first walk again, from 11:08
            "u", Channel.STEPS, "raw:steps", start + day + 58 * minute,
            start + day + 59 * minute, value,
        ),
    ):  # fmt: skip
        buffer.add(batch, 0)
        windows += buffer.pop_complete()
    windows += buffer.flush()
    flagged = [(w.start_ns - T0) // (3600 * NS) for w in windows if w.repeats_earlier]
    assert flagged == [24 + 11]


def _noisy(v: F64, seed: int) -> F64:
    """Every count moved by one or two steps, as a replay tool that hides its copy would."""
    rng = np.random.default_rng(seed)
    out: F64 = v + rng.choice([-2.0, -1.0, 1.0, 2.0], v.shape[0])
    return out


def test_a_phone_timed_walk_replayed_with_noisy_counts_is_found() -> None:
    s, e, v = _walk(30, 11)  # 10 ms timing, as a phone's own points carry it
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    shift = 86_400 * NS + 3_000_000_000
    hits, shifts, _ = replay.observe_many(blob, 1, s + shift, e + shift, _noisy(v, 1))
    assert len(hits) >= replay.MIN_MATCHES
    assert replay.replayed(_by_shift(shifts))
    # another walk of the same phone, by timing alone, repeats nothing
    s2, e2, v2 = _walk(30, 12)
    assert len(replay.observe_many(blob, 1, s2 + shift, e2 + shift, v2)[0]) == 0


def _stretched(t0: int, s: I64, e: I64, factor: float, shift: int) -> tuple[I64, I64]:
    """Every time stretched about ``t0`` (the walk's start), then shifted."""
    return (
        (t0 + shift + ((s - t0) * factor).astype(np.int64)).astype(np.int64),
        (t0 + shift + ((e - t0) * factor).astype(np.int64)).astype(np.int64),
    )


def test_a_phone_timed_walk_replayed_slower_or_faster_is_found() -> None:
    s, e, v = _walk(40, 13)
    *_, blob = replay.observe_many(b"", 1, s, e, v)
    for factor in (1.05, 1.10, 1 / 1.07):
        s2, e2 = _stretched(int(s[0]), s, e, factor, 86_400 * NS + 3_000_000_000)
        hits, shifts, _ = replay.observe_many(blob, 1, s2, e2, v)
        assert len(hits) >= 0.6 * _grams(v)  # the timed grams' shapes
        assert replay.replayed(_by_shift(shifts))
        # with other counts, the same stretched timing is no copy
        other = np.rint(v * 1.3)
        assert len(replay.observe_many(blob, 1, s2, e2, other)[0]) == 0


def test_points_on_whole_seconds_or_of_one_jittered_duration_keep_their_counts() -> None:
    """Minute buckets, and a watch's minutes jittered by a millisecond or two, carry too little
    timing to tell walks apart: their grams keep the counts, so two walks of such points match
    only where their counts do (a noisy replay of them is not found: the documented gap)."""
    minute = np.arange(40, dtype=np.int64) * 60 * NS + T0
    rng = np.random.default_rng(5)
    for jitter in (np.zeros(40, dtype=np.int64), rng.integers(-2, 3, 40) * 1_000_000):
        end = minute + 60 * NS + jitter
        walk = rng.integers(95, 125, 40).astype(np.float64)
        *_, blob = replay.observe_many(b"", 1, minute, end, walk)
        other = rng.integers(95, 125, 40).astype(np.float64)
        day = 86_400 * NS
        assert len(replay.observe_many(blob, 1, minute + day, end + day, other)[0]) == 0
        assert len(replay.observe_many(blob, 1, minute + day, end + day, _noisy(walk, 2))[0]) == 0
        assert len(replay.observe_many(blob, 1, minute + day, end + day, walk)[0]) > 0


def test_the_real_takeout_walk_replayed_with_noisy_counts_is_marked() -> None:
    """The Takeout sample's phone, its 80 minutes sent again a day later with every count moved
    by a step or two: the hours of the copy are marked, the original's are not."""
    from stream.buffer import UserBuffer
    from stream.parsing import iter_results
    from stream.parsing.order import in_event_time
    from stream.points import Channel, PointBatch
    from stream.sources import source_rank

    takeout = DATA / "google-fit-takeout"
    if not takeout.is_dir():
        pytest.skip(f"no Takeout sample at {takeout}")
    batches = [
        b for r in in_event_time(list(iter_results([str(takeout)], user="me"))) for b in r.batches
    ]
    day = 86_400 * NS
    copies = [
        PointBatch(b.user_id, b.channel, b.source, b.start_ns + day, b.end_ns + day,
                   _noisy(b.value, i) if b.channel == Channel.STEPS else b.value)
        for i, b in enumerate(batches)
    ]  # fmt: skip
    buffer = UserBuffer("me")
    for b in batches + copies:
        buffer.add(b, source_rank(b.channel, b.source))
    windows = buffer.pop_complete() + buffer.flush()
    original = [w for w in windows if w.start_ns < int(batches[0].start_ns[0]) + day // 2]
    replayed = [w for w in windows if w not in original and w.totals.steps > 0]
    assert original and not any(w.repeats_earlier for w in original)
    assert replayed and all(w.repeats_earlier for w in replayed)
    # and played 8 % slower two days later, counts untouched: the hour holding the walk is
    # marked (the sample's first hour holds no run of four walking points, only pottering at
    # 12-40 steps a minute; the noisy copy's is marked because its last minute runs into the
    # replayed next, which stretched by 8 % it no longer does)
    t0 = min(int(b.start_ns.min()) for b in batches)
    slower = [
        PointBatch(b.user_id, b.channel, b.source,
                   *_stretched(t0, b.start_ns, b.end_ns, 1.08, 2 * day), b.value)
        for b in batches
    ]  # fmt: skip
    for b in slower:
        buffer.add(b, source_rank(b.channel, b.source))
    late = [w for w in buffer.pop_complete() + buffer.flush() if w.totals.steps > 0]
    assert max(late, key=lambda w: w.totals.steps).repeats_earlier
