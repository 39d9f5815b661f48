"""Replayed activity: an earlier walk sent again with shifted timestamps, found by point n-grams.

A replay re-sends the same points shifted in time, by whole minutes or not: their values,
durations and the gaps between them survive any shift, while how they fall into minute bins
does not. So the fingerprint is of the points themselves: every run of ``GRAM`` consecutive
walking points of one source (each at least ``MIN_STEPS`` steps at a pace of at least
``MIN_RATE`` steps/min, values not all alike) hashes its values, durations and inner gaps to 30
bits. A gram already in the user's recent history, first seen at another time, is a repeat; a
window holding ``MIN_MATCHES`` repeats is a replay. Four walking points whose exact counts,
durations and gaps repeat do not happen by chance (walkers vary by several steps a minute), three
such grams in one hour even less; a gram seen within ``NEAR_MIN`` minutes is the
same walk reported through another stream (Google Fit's derived copies), not a replay. A repeat
leaves a record of its own, so that its copies in the other streams are near it and the walk
counts once however many streams carry it (else one chance match of a 30-bit hash, in the three
streams a phone writes, made three repeats at one shift: a replay).

A phone's own points carry its timing to the hundredth of a second (45.88 s, 66.20 s, 26.42 s in
the Takeout sample), and that timing is as much the walk's as its counts are. So a gram of four
*timed* points (``_timed``: none lasting whole seconds, no two within ``TIMED_APART`` of each
other) hashes their durations and gaps alone: a replay that jitters its counts by a step or two
still repeats it. Points on whole seconds (minute buckets, a simulator's cells) or of near-equal
durations (a watch's minutes jittered by a millisecond) carry too little timing, and keep their
counts in the gram. Timed grams leave a second record, their *shape* (``_shape``): the counts
with each duration and gap as a ratio to the first duration, in bins of 2 %: a replay played 5 or
10 % slower or faster keeps it, and its shift then drifts by a minute in ten or twenty, which
``replayed`` allows (two neighbouring shifts count as one).

This replaces fingerprints of 8 whole-minute bins of a window: those missed every replay shifted
by a fraction of a minute, and the points catch the whole-minute shifts as well.

Per-user state is one ``bytes`` blob the buffer keeps and serialises: a count byte, a tail of
the last ``GRAM - 1`` walking points per source (``TAIL``: so that single-point messages form
grams across messages), then the history, 6 bytes a record (hash, start minute modulo
``_TAG_MOD``; a timed gram leaves two), at most ``RECENT_LIMIT``, oldest dropped. A batch (a
Dataset, a Takeout body) continues its source's tail when it starts after it, so a walk gives the
same grams however it was cut into messages, as long as a source's points arrive in time order.
"""

from __future__ import annotations

import math
import struct
from typing import Final

import numpy as np
import numpy.typing as npt

from stream.hashing import MASK, mix

GRAM: Final = 4
MIN_STEPS: Final = 10
MIN_RATE: Final = 30  # steps per minute: a slow walk; pottering about breaks the run
MIN_SPREAD: Final = 2  # steps between the largest and smallest value of a gram
MIN_MATCHES: Final = 3
RECENT_LIMIT: Final = 4_096  # records (24 KiB): weeks of walking for an active user
NEAR_MIN: Final = 30  # a walk's own rhythm repeating, or a copy: not a replay
MINUTE_NS: Final = 60 * 1_000_000_000
MAX_TAILS: Final = 4  # sources of step points followed at once

NS: Final = 1_000_000_000
MS: Final = 1_000_000
_TAG_MOD: Final = 65_521  # minutes (45 days), prime: no whole number of days looks like no shift
_SEED_C: Final = 0x243F6A8
_SEED_D: Final = 0x13198A2E
_SEED_G: Final = 0x2409382
_SEED_T: Final = 0x299F31D0  # a timing gram's start: never equal to a counted gram by design
_SEED_S: Final = 0x3707344  # a shape's start
TIMED_APART: Final = 1_000  # ms: durations closer than this are one duration jittered
SHAPE_BINS: Final = 50.0  # per unit of log ratio: bins of 2 %
_NO_GAP: Final = 1 << 29  # the bin of a zero gap (a log ratio's bin is never near it)
_QMAX: Final = 65_535
_EXACT: Final = float(2**53)  # below this, numpy's rint rounds as Python's round does

TAIL: Final = struct.Struct("<BBq3I3I3H")
"""Per source: entry, points held (0-3), last end (ns), then per point its duration and the gap
before it (``_ms``), and its value (oldest first)."""
_REC: Final = struct.Struct("<IH")
REC: Final = _REC.size  # 6 bytes
_RECORD: Final = np.dtype([("h", "<u4"), ("t", "<u2")])

I64 = npt.NDArray[np.int64]


# ---------------------------------------------------------------------- state blob


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


def replayed(shifts: dict[int, int]) -> bool:
    """Whether grams repeated by one shift are enough for a replay: chance repeats of a steady
    walker's counts come from scattered times, a replay's all from the same (the shift in whole
    minutes may differ by one between points, as their starts round differently)."""
    return any(n + shifts.get(s + 1, 0) >= MIN_MATCHES for s, n in shifts.items())


def replayed_near(
    seen: dict[int, int], behind: dict[int, int], ahead: dict[int, int], walks_on: bool
) -> bool:
    """A replay crossing the hour: the window holds a repeated gram whose shift, counted with
    the grams of the window before and the window after (those that have arrived), is a
    replay; or the next window's grams are a replay and this window's walking runs into it
    (its last minute has steps: the first grams of a replay starting at :57 end after the
    hour)."""
    for s, n in seen.items():
        total = n + seen.get(s + 1, 0)
        for other in (behind, ahead):
            total += other.get(s, 0) + other.get(s + 1, 0)
        if total >= MIN_MATCHES:
            return True
    return walks_on and replayed(ahead)


def history_size(blob: bytes) -> int:
    """Grams in the history."""
    _, off = _tails(blob)
    return max(len(blob) - off, 0) // REC


# ---------------------------------------------------------------------- single points


_WALK_NS: Final = 60 * NS // MIN_RATE  # the longest a step may take at a slow walk
assert _WALK_NS * MIN_RATE == 60 * NS


def _walking(q: int, dur: int) -> bool:
    """A point that can be part of a gram: enough steps, a duration, at least a slow walk.

    ``q * 60 s >= MIN_RATE * dur`` without the product: for ``dur > 0`` it reads ``q >
    (dur - 1) // _WALK_NS`` exactly, and a factor beyond 2**30 would take mypyc's bignum path
    on every point."""
    return q >= MIN_STEPS and dur > 0 and (dur - 1) // _WALK_NS < q


def _ms(ns: int) -> int:
    """A duration or gap as the tail keeps it: milliseconds, to 30 bits as ``mix`` reads them
    (a walking point lasts at most 36 hours, 2**27 ms)."""
    return (ns // MS) & MASK


def _code(q: int, u: int) -> int:
    """A point's own fingerprint: its count (capped by the caller at ``_QMAX``) and duration
    (ms)."""
    return mix(mix(_SEED_C, q), u)


def _link(c: int, g: int) -> int:
    """A point's fingerprint joined to the gap before it (ms)."""
    return mix(mix(_SEED_D, c), g)


def _apart(a: int, b: int) -> bool:
    return a - b >= TIMED_APART or b - a >= TIMED_APART


def _timed(u1: int, u2: int, u3: int, u4: int) -> bool:
    """Four durations (ms) that tell a walk by themselves: none on a whole second, no two within
    ``TIMED_APART``. Written out pairwise (a compiled expression, no tuple)."""
    return (
        u1 % 1000 != 0
        and u2 % 1000 != 0
        and u3 % 1000 != 0
        and u4 % 1000 != 0
        and _apart(u1, u2)
        and _apart(u1, u3)
        and _apart(u1, u4)
        and _apart(u2, u3)
        and _apart(u2, u4)
        and _apart(u3, u4)
    )


def _gram(
    u1: int, u2: int, u3: int, u4: int, g2: int, g3: int, g4: int,
    q1: int, q2: int, q3: int, q4: int, timed: bool,
) -> int:  # fmt: skip
    """Four walking points (durations ``u``, the gaps ``g`` before the last three, counts ``q``):
    the first one's code, then the other three linked to their gaps; ``timed`` (``_timed``
    durations), the same without the counts."""
    if timed:
        return mix(
            mix(mix(mix(_SEED_T, _code(0, u1)), _link(_code(0, u2), g2)), _link(_code(0, u3), g3)),
            _link(_code(0, u4), g4),
        )
    c1 = _code(q1, u1)
    d2 = _link(_code(q2, u2), g2)
    d3 = _link(_code(q3, u3), g3)
    return mix(mix(mix(mix(_SEED_G, c1), d2), d3), _link(_code(q4, u4), g4))


def _bin(x: int, u1: int) -> int:
    """``x`` (ms) as a ratio to the first duration, in ``SHAPE_BINS`` log bins (``x > 0``)."""
    return round(math.log(x / u1) * SHAPE_BINS) & MASK


def _shape(
    u1: int, u2: int, u3: int, u4: int, g2: int, g3: int, g4: int,
    q1: int, q2: int, q3: int, q4: int,
) -> int:  # fmt: skip
    """A timed gram's shape: its counts, and its durations and gaps relative to the first
    duration (``_bin``), which survive a replay stretched in time."""
    h = mix(mix(mix(mix(_SEED_S, q1), q2), q3), q4)
    h = mix(mix(mix(h, _bin(u2, u1)), _bin(u3, u1)), _bin(u4, u1))
    for g in (g2, g3, g4):
        h = mix(h, _bin(g, u1) if g else _NO_GAP)
    return h


def _spread(q1: int, q2: int, q3: int, q4: int) -> bool:
    """Values not all alike. Pairwise ``min``/``max`` (mypyc compiles only the two-argument
    forms; four arguments box every value for the builtin)."""
    return max(max(q1, q2), max(q3, q4)) - min(min(q1, q2), min(q3, q4)) >= MIN_SPREAD


def _shift(tag: int, ref: int) -> int:
    """Minutes between a gram and its earlier copy; -1 when too near to be a replay."""
    shift = (tag - ref) % _TAG_MOD
    return shift if NEAR_MIN < shift < _TAG_MOD - NEAR_MIN else -1


def observe_one(blob: bytes, entry: int, start: int, end: int, value: float) -> tuple[int, bytes]:
    """One step point of source ``entry``: the shift (minutes modulo ``_TAG_MOD``) by which the
    gram it ends repeats the history (-1: it does not), and the new blob: the single-point
    event's hot path, so the tail is read and rewritten in place rather than through
    ``observe_many``'s loop (the steps, ``_walking`` to ``_shift``, are the same functions)."""
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
    timed = _timed(u1, u2, u3, u)
    key = _gram(u1, u2, u3, u, g2, g3, g, q1, q2, q3, q, timed)
    off = 1 + blob[0] * TAIL.size
    tag = (start // MINUTE_NS) % _TAG_MOD
    found = _lookup(blob, off, key, tag)
    new = key.to_bytes(4, "little") + tag.to_bytes(2, "little")
    if found == _NEW and timed:
        shape = _shape(u1, u2, u3, u, g2, g3, g, q1, q2, q3, q)
        found = _lookup(blob, off, shape, tag)
        new += shape.to_bytes(4, "little") + tag.to_bytes(2, "little")
    if found == _NEAR:
        return -1, blob
    over = len(blob) - off + len(new) - RECENT_LIMIT * REC
    if over > 0:
        return max(found, -1), blob[:off] + blob[off + over :] + new
    return max(found, -1), blob + new


def _tail_offset(blob: bytes, entry: int, n: int) -> int:
    """Where ``entry``'s tail starts in the blob (0: it has none)."""
    for i in range(n):
        at = 1 + i * TAIL.size
        if blob[at] == entry:
            return at
    return 0


# ---------------------------------------------------------------------- batches


def observe_many(
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
    starts: list[int] = start.tolist()
    if _ascending(starts):  # the usual batch (a Dataset is in time order): no reordering
        ends: list[int] = end.tolist()
        counts = _rounded(value)
        index: list[int] = list(range(n))
    else:
        order = np.argsort(start, kind="stable")
        starts = start[order].tolist()
        ends = end[order].tolist()
        counts = _rounded(value[order])
        index = order.tolist()
    tail = _find_tail(blob, entry)
    held, last_end = tail[1], tail[2]
    u1, u2, u3, g1, g2, g3, q1, q2, q3 = tail[3:12]
    _, off = _tails(blob)
    fresh: dict[int, list[int]] = {}  # the records this batch adds: hash -> tags
    grams: list[int] = []
    tags: list[int] = []
    shapes: list[int] = []  # each gram's shape (-1: not timed)
    ends_gram: list[int] = []  # the index of the point each gram ends with
    added: list[int] = []  # the new records' hashes ...
    added_tags: list[int] = []  # ... and tags
    hits: list[int] = []
    shifts: list[int] = []
    for i in range(n):
        st, en = starts[i], ends[i]
        q = counts[i]
        dur = en - st
        if not _walking(q, dur):
            held = 0  # a pause ends the run
            continue
        q = min(q, _QMAX)
        u = _ms(dur)
        if held and st >= last_end:
            g = _ms(st - last_end)
            h = h2 = -1
            if held >= GRAM - 1 and _spread(q1, q2, q3, q):
                timed = _timed(u1, u2, u3, u)
                h = _gram(u1, u2, u3, u, g2, g3, g, q1, q2, q3, q, timed)
                if timed:
                    h2 = _shape(u1, u2, u3, u, g2, g3, g, q1, q2, q3, q)
            held = held + 1 if held < GRAM - 1 else held
            u1, u2, u3, g1, g2, g3, q1, q2, q3 = u2, u3, u, g2, g3, g, q2, q3, q
        else:
            h = h2 = -1
            held = 1
            u1, u2, u3, g1, g2, g3, q1, q2, q3 = 0, 0, u, 0, 0, 0, 0, 0, q
        last_end = en
        if h >= 0:
            grams.append(h)
            shapes.append(h2)
            tags.append((st // MINUTE_NS) % _TAG_MOD)
            ends_gram.append(index[i])
    # one vectorised membership test against the history instead of a scan of it per gram
    known = _in_history(blob, off, grams + shapes)
    for k in range(len(grams)):
        h, h2, tag = grams[k], shapes[k], tags[k]
        found = _lookup(blob, off if known[k] else -1, h, tag, fresh.get(h))
        shaped = found == _NEW and h2 >= 0  # as ``observe_one``: a shape only for a new gram
        if shaped:
            found = _lookup(blob, off if known[len(grams) + k] else -1, h2, tag, fresh.get(h2))
        if found == _NEAR:
            continue
        for x in (h, h2) if shaped else (h,):
            fresh.setdefault(x, []).append(tag)
            added.append(x)
            added_tags.append(tag)
        if found >= 0:
            hits.append(ends_gram[k])
            shifts.append(found)
    new_tail = (
        TAIL.pack(entry, held, last_end, u1, u2, u3, g1, g2, g3, q1, q2, q3) if held else None
    )
    history = None
    if added:
        history = (blob[off:] + _records(added, added_tags))[-RECENT_LIMIT * REC :]
    blob = _with_tail(blob, entry, new_tail, history)
    if not hits:
        return none, none, blob
    return np.array(hits, dtype=np.int64), np.array(shifts, dtype=np.int64), blob


def _ascending(values: list[int]) -> bool:
    return all(values[i] >= values[i - 1] for i in range(1, len(values)))  # a compiled loop


def _rounded(value: npt.NDArray[np.float64]) -> list[int]:
    """``round`` of each count (half to even), in one numpy call where that is exact."""
    if value.shape[0] and float(np.maximum.reduce(np.abs(value))) < _EXACT:
        found: list[int] = np.rint(value).astype(np.int64).tolist()
        return found
    return [round(v) for v in value.tolist()]  # NaN and infinities raise, as round does


def _records(grams: list[int], tags: list[int]) -> bytes:
    """History records (``REC`` bytes each) of these grams."""
    records = np.empty(len(grams), dtype=_RECORD)
    records["h"] = grams
    records["t"] = tags
    return records.tobytes()


def _in_history(blob: bytes, off: int, grams: list[int]) -> list[bool]:
    """Which grams the history holds (a hash match; ``_lookup`` then reads the records);
    -1 (no shape) is never held."""
    count = max(len(blob) - off, 0) // REC
    if not grams or count == 0:
        return [False] * len(grams)
    history = np.sort(np.frombuffer(blob, dtype=_RECORD, count=count, offset=off)["h"])
    wanted = np.array(grams, dtype=np.int64)
    at = np.minimum(np.searchsorted(history, wanted), count - 1)
    found: list[bool] = (history[at] == wanted).tolist()  # sort + search: 25x np.isin here
    return found


_NEW: Final = -2
_NEAR: Final = -1


def _lookup(blob: bytes, off: int, key: int, tag: int, added: list[int] | None = None) -> int:
    """How a gram at ``tag`` stands to the records of its hash, the history's and then those a
    batch has ``added`` since (their tags): ``_NEW`` (none), ``_NEAR`` (one within
    ``NEAR_MIN``: the same walk through another stream, which the first stream's record already
    counted, or a walk's own rhythm), else the shift to the oldest. A repeat leaves a record
    too, so that its copies in the other streams are near it."""
    raw = key.to_bytes(4, "little")
    at = blob.find(raw, off) if off >= 0 else -1  # negative: the batch knows it holds none
    if at < 0 and not added:
        return _NEW  # the usual case, without a list
    refs: list[int] = []
    while at >= 0:
        if (at - off) % REC == 0:
            refs.append(int.from_bytes(blob[at + 4 : at + 6], "little"))
        at = blob.find(raw, at + 1)
    if added:
        refs += added
    for ref in refs:
        if _shift(tag, ref) < 0:
            return _NEAR
    return _shift(tag, refs[0]) if refs else _NEW
