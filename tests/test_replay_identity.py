"""The replay fingerprints are bit-identical to the implementation they were optimised from.

``_Before`` below is ``stream.scoring.replay`` as of commit 7710d98 (plain Python, verbatim but for
the names it imports; since then its tail keeps durations and gaps rather than their hashes, a
gram of phone-timed points leaves the counts out and a shape besides, and a repeat leaves a record
so that its copies in other streams are near it), kept as the oracle: the compiled batch and
single-point paths must give the same hits, shifts and state blobs on any input, including the
awkward ones (counts above the 16-bit cap or with halves to round, zero and negative durations,
overlapping and unsorted points, several sources past ``MAX_TAILS``, a history at ``RECENT_LIMIT``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.hashing import MASK, mix
from stream.scoring import replay
from stream.scoring.replay import (
    _QMAX,
    _RECORD,
    _SEED_C,
    _SEED_D,
    _SEED_G,
    _SEED_S,
    _SEED_T,
    _TAG_MOD,
    GRAM,
    MAX_TAILS,
    MIN_RATE,
    MIN_SPREAD,
    MIN_STEPS,
    MINUTE_NS,
    MS,
    NEAR_MIN,
    NS,
    REC,
    RECENT_LIMIT,
    TAIL,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# ---------------------------------------------------------------- the oracle (before)


def _tails(blob: bytes) -> tuple[int, int]:
    """(tail count, offset of the history)."""
    n = blob[0] if blob else 0
    return n, 1 + n * TAIL.size


def _with_tail(blob: bytes, entry: int, tail: bytes | None, history: bytes | None) -> bytes:
    """The blob with ``entry``'s tail replaced (None: dropped) and, if given, a new history."""
    n, off = _tails(blob)
    kept = [
        blob[1 + i * TAIL.size : 1 + (i + 1) * TAIL.size]
        for i in range(n)
        if blob[1 + i * TAIL.size] != entry
    ]
    if tail is not None:
        kept.append(tail)
    kept = kept[-MAX_TAILS:]
    rest = blob[off:] if history is None else history
    return bytes((len(kept),)) + b"".join(kept) + rest


def _find_tail(blob: bytes, entry: int) -> tuple[int, ...]:
    """``entry``'s tail fields (``TAIL``), zeros when it has none."""
    n, _ = _tails(blob)
    for i in range(n):
        at = 1 + i * TAIL.size
        if blob[at] == entry:
            fields: tuple[int, ...] = TAIL.unpack_from(blob, at)
            return fields
    return (entry, *([0] * 11))


def _walking(q: int, dur: int) -> bool:
    """A point that can be part of a gram: enough steps, a duration, at least a slow walk."""
    return q >= MIN_STEPS and dur > 0 and q * (60 * NS) >= MIN_RATE * dur


def _ms(ns: int) -> int:
    """A duration or gap in milliseconds, to the 30 bits ``mix`` reads."""
    return (ns // MS) & MASK


def _code(q: int, u: int) -> int:
    """A point's own fingerprint: its count (capped by the caller at ``_QMAX``) and duration."""
    return mix(mix(_SEED_C, q), u)


def _link(c: int, g: int) -> int:
    """A point's fingerprint joined to the gap before it."""
    return mix(mix(_SEED_D, c), g)


def _timed(ms: list[int]) -> bool:
    """Durations (ms) that tell a walk by themselves: none a whole second, no two within 1 s."""
    return all(u % 1000 for u in ms) and all(
        abs(a - b) >= 1000 for i, a in enumerate(ms) for b in ms[i + 1 :]
    )


def _gram(points: list[tuple[int, int, int]]) -> list[int]:
    """Four walking points (count, duration, gap before it, in ms): the first one's code, then
    the other three linked to their gaps; with ``_timed`` durations, the counts left out, and
    then the shape: the counts, and durations and gaps in 2 % log bins of the first duration."""
    timed = _timed([u for _, u, _ in points])
    h = _SEED_T if timed else _SEED_G
    for i, (q, dur, gap) in enumerate(points):
        c = _code(0 if timed else q, dur)
        h = mix(h, c if i == 0 else _link(c, gap))
    if not timed:
        return [h]
    u1 = points[0][1]
    shape = _SEED_S
    for q, _, _ in points:
        shape = mix(shape, q)
    for _, u, _ in points[1:]:
        shape = mix(shape, round(math.log(u / u1) * 50) & MASK)
    for _, _, g in points[1:]:
        shape = mix(shape, round(math.log(g / u1) * 50) & MASK if g else 1 << 29)
    return [h, shape]


def _spread(q1: int, q2: int, q3: int, q4: int) -> bool:
    return max(q1, q2, q3, q4) - min(q1, q2, q3, q4) >= MIN_SPREAD


def _shift(tag: int, ref: int) -> int:
    """Minutes between a gram and its earlier copy; -1 when too near to be a replay."""
    shift = (tag - ref) % _TAG_MOD
    return shift if NEAR_MIN < shift < _TAG_MOD - NEAR_MIN else -1


def before_observe_one(
    blob: bytes, entry: int, start: int, end: int, value: float
) -> tuple[int, bytes]:
    """One step point of source ``entry``: the shift (minutes modulo ``_TAG_MOD``) by which the
    gram it ends repeats the history (-1: it does not), and the new blob: the single-point
    event's hot path, so the tail is read and rewritten in place rather than through
    the batch loop (the steps, ``_walking`` to ``_shift``, are the same functions)."""
    q = round(value)
    dur = end - start
    n = blob[0] if blob else 0
    at = 1 if n and blob[1] == entry else _tail_offset(blob, entry, n)
    if not _walking(q, dur):
        if at and blob[at + 1]:  # a pause ends the run
            return -1, blob[: at + 1] + b"\0" + blob[at + 2 :]
        return -1, blob
    q = min(q, _QMAX)
    u = _ms(dur)
    held = 0
    if at:
        _, held, last_end, u1, u2, u3, _g1, g2, g3, q1, q2, q3 = TAIL.unpack_from(blob, at)
    if held and start >= last_end:
        g = _ms(start - last_end)
        tail = TAIL.pack(
            entry, held + 1 if held < GRAM - 1 else held, end, u2, u3, u, g2, g3, g, q2, q3, q
        )
    else:
        held = 0
        tail = TAIL.pack(entry, 1, end, 0, 0, u, 0, 0, 0, 0, 0, q)
    if at:
        blob = blob[:at] + tail + blob[at + TAIL.size :]
    else:
        if n >= MAX_TAILS:  # forget the first source followed
            blob = (
                bytes((n,))
                + blob[1 + TAIL.size : 1 + n * TAIL.size]
                + tail
                + blob[1 + n * TAIL.size :]
            )
        else:
            blob = bytes((n + 1,)) + blob[1 : 1 + n * TAIL.size] + tail + blob[1 + n * TAIL.size :]
    if held < GRAM - 1 or not _spread(q1, q2, q3, q):
        return -1, blob
    keys = _gram([(q1, u1, 0), (q2, u2, g2), (q3, u3, g3), (q, u, g)])
    off = 1 + blob[0] * TAIL.size
    tag = (start // MINUTE_NS) % _TAG_MOD
    found, new = _judge(blob[off:], keys, tag)
    if found == _NEAR:
        return -1, blob
    for key in new:
        if len(blob) - off >= RECENT_LIMIT * REC:
            blob = blob[:off] + blob[off + REC :]
        blob += key.to_bytes(4, "little") + tag.to_bytes(2, "little")
    return max(found, -1), blob


_NEW, _NEAR = -2, -1


def _judge(records: bytes, keys: list[int], tag: int) -> tuple[int, list[int]]:
    """A gram's keys (its hash, then its shape) against the records: the first key's standing,
    the second's only when the first is new (``_NEW``, ``_NEAR`` or the shift to the oldest
    record), and the keys that get a record."""
    new: list[int] = []
    found = _NEW
    for key in keys:
        new.append(key)
        tags = [
            int.from_bytes(records[at + 4 : at + 6], "little")
            for at in range(0, len(records), REC)
            if records[at : at + 4] == key.to_bytes(4, "little")
        ]
        if any(_shift(tag, t) < 0 for t in tags):
            return _NEAR, new
        if tags:
            return _shift(tag, tags[0]), new
    return found, new


def _tail_offset(blob: bytes, entry: int, n: int) -> int:
    """Where ``entry``'s tail starts in the blob (0: it has none)."""
    for i in range(n):
        at = 1 + i * TAIL.size
        if blob[at] == entry:
            return at
    return 0


# ---------------------------------------------------------------------- batches


def before_observe_many(
    blob: bytes, entry: int, start: I64, end: I64, value: npt.NDArray[np.float64]
) -> tuple[I64, I64, bytes]:
    """Step points of one source, in any order: the indices (into the arrays) of the points that
    end a gram repeating the history, the shift of each (as ``observe_one``), and the new blob.
    Equals feeding ``observe_one`` the points in time order: the same walk of grams, with the
    source's tail and the batch's new grams kept in locals and the blob rebuilt once (a loop of
    machine-word arithmetic once compiled, cheaper than numpy's per-call overhead at these
    sizes)."""
    n = start.shape[0]
    none = np.zeros(0, dtype=np.int64)
    if n == 0:
        return none, none, blob
    order = np.argsort(start, kind="stable")
    starts: list[int] = start[order].tolist()
    ends: list[int] = end[order].tolist()
    counts: list[float] = value[order].tolist()
    index: list[int] = order.tolist()
    tail = _find_tail(blob, entry)
    held, last_end = tail[1], tail[2]
    u1, u2, u3, g1, g2, g3, q1, q2, q3 = tail[3:12]
    _, off = _tails(blob)
    grams: list[list[int]] = []
    tags: list[int] = []
    ends_gram: list[int] = []  # the index of the point each gram ends with
    added: list[bytes] = []
    hits: list[int] = []
    shifts: list[int] = []
    for i in range(n):
        st, en = starts[i], ends[i]
        q = round(counts[i])
        dur = en - st
        if not _walking(q, dur):
            held = 0  # a pause ends the run
            continue
        q = min(q, _QMAX)
        u = _ms(dur)
        if held and st >= last_end:
            g = _ms(st - last_end)
            h: list[int] = []
            if held >= GRAM - 1 and _spread(q1, q2, q3, q):
                h = _gram([(q1, u1, 0), (q2, u2, g2), (q3, u3, g3), (q, u, g)])
            held = held + 1 if held < GRAM - 1 else held
            u1, u2, u3, g1, g2, g3, q1, q2, q3 = u2, u3, u, g2, g3, g, q2, q3, q
        else:
            h = []
            held = 1
            u1, u2, u3, g1, g2, g3, q1, q2, q3 = 0, 0, u, 0, 0, 0, 0, 0, q
        last_end = en
        if h:
            grams.append(h)
            tags.append((st // MINUTE_NS) % _TAG_MOD)
            ends_gram.append(index[i])
    for k in range(len(grams)):
        found, new = _judge(blob[off:] + b"".join(added), grams[k], tags[k])
        if found == _NEAR:
            continue
        added += [key.to_bytes(4, "little") + tags[k].to_bytes(2, "little") for key in new]
        if found >= 0:
            hits.append(ends_gram[k])
            shifts.append(found)
    new_tail = (
        TAIL.pack(entry, held, last_end, u1, u2, u3, g1, g2, g3, q1, q2, q3) if held else None
    )
    history = None
    if added:
        history = (blob[off:] + b"".join(added))[-RECENT_LIMIT * REC :]
    return (
        np.array(hits, dtype=np.int64),
        np.array(shifts, dtype=np.int64),
        _with_tail(blob, entry, new_tail, history),
    )


# ---------------------------------------------------------------- inputs

WALK_NS = 60 * NS
T0 = 1_709_280_000 * NS


@st.composite
def step_points(draw: st.DrawFn, max_n: int = 60) -> tuple[I64, I64, F64]:
    """Walk-like points with every awkward case mixed in, often repeating earlier counts and
    durations so that grams repeat (the hits are what the marks come from)."""
    n = draw(st.integers(0, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dur = rng.choice([0, 1, 30, 45, 60, 60, 60, 90, 600], n) * NS + rng.integers(-2, 3, n) * MS
    phone = rng.random(n) < draw(st.sampled_from([0.0, 0.5, 1.0]))  # a phone's 10 ms timing
    dur[phone] = rng.integers(300, 9_000, int(np.count_nonzero(phone))) * 10 * MS
    dur[rng.random(n) < 0.03] *= -1  # end before start
    gap = rng.choice([0, 0, 0, 5, 60, 3600], n) * NS
    start = T0 + np.cumsum(np.abs(dur) + gap)
    start[rng.random(n) < 0.1] -= rng.integers(0, 5, 1) * WALK_NS  # overlaps, out of order
    value = rng.choice([0.0, 9.0, 10.0, 29.5, 30.5, 60.0, 80.0, 80.0, 100.0, 120.5, 1e5, 7e11], n)
    value = value + rng.choice([0.0, 0.0, 1.0, 2.0, 0.5], n)
    motif = rng.random(n) < 0.5  # the same few points over and over: grams that repeat
    value[motif] = np.resize([80.0, 90.0, 100.0, 85.0], n)[motif]
    dur[motif] = WALK_NS
    end = start + dur
    return start.astype(np.int64), end.astype(np.int64), value.astype(np.float64)


def _history_blob(grams: int, seed: int) -> bytes:
    """A blob whose history already holds ``grams`` records (some of them the motif's)."""
    rng = np.random.default_rng(seed)
    records = np.zeros(grams, dtype=_RECORD)
    records["h"] = rng.integers(0, 1 << 30, grams)
    records["t"] = rng.integers(0, _TAG_MOD, grams)
    return b"\0" + records.tobytes()


def _assert_same(got: tuple[I64, I64, bytes], want: tuple[I64, I64, bytes]) -> None:
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()
    assert got[2] == want[2]


# ---------------------------------------------------------------- tests


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(st.tuples(st.integers(1, 6), step_points()), min_size=1, max_size=6),
    history=st.sampled_from([0, 10, RECENT_LIMIT - 5, RECENT_LIMIT]),
    seed=st.integers(0, 1000),
    shift_min=st.integers(-(10**6), 10**6),
)
def test_batches_give_the_oracles_hits_shifts_and_blob(
    batches: list[tuple[int, tuple[I64, I64, F64]]], history: int, seed: int, shift_min: int
) -> None:
    new = old = _history_blob(history, seed) if history else b""
    for entry, (s, e, v) in batches:
        for shift in (0, shift_min * MINUTE_NS + seed * MS):  # the walk, then sent again
            got = replay.observe_many(new, entry, s + shift, e + shift, v)
            want = before_observe_many(old, entry, s + shift, e + shift, v)
            _assert_same(got, want)
            new, old = got[2], want[2]


@settings(max_examples=100, deadline=None)
@given(
    points=step_points(max_n=40),
    entries=st.lists(st.integers(1, MAX_TAILS + 2), min_size=1, max_size=40),
    history=st.sampled_from([0, RECENT_LIMIT]),
)
def test_single_points_give_the_oracles_shift_and_blob(
    points: tuple[I64, I64, F64], entries: list[int], history: int
) -> None:
    s, e, v = points
    new = old = _history_blob(history, 7) if history else b""
    for repeat in range(2):  # the second pass repeats every gram of the first
        for i in range(s.shape[0]):
            entry = entries[i % len(entries)]
            start, end = int(s[i]) + repeat * 86_400 * NS, int(e[i]) + repeat * 86_400 * NS
            got = replay.observe_one(new, entry, start, end, float(v[i]))
            want = before_observe_one(old, entry, start, end, float(v[i]))
            assert got == want
            new, old = got[1], want[1]


def test_the_oracle_comparison_sees_repeats() -> None:
    """The inputs above do make hits (else the comparison would prove little)."""
    s = T0 + np.arange(12, dtype=np.int64) * WALK_NS
    v = np.resize([80.0, 90.0, 100.0, 85.0, 95.0], 12)
    _, _, blob = before_observe_many(b"", 1, s, s + WALK_NS, v)
    hits, shifts, _ = replay.observe_many(blob, 1, s + 86_400 * NS, s + 86_400 * NS + WALK_NS, v)
    assert len(hits) == len(shifts) > 0
