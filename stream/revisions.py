"""Health Connect records updated in place: which of a record's versions count.

A Health Connect record keeps its ``metadata.id`` when its app updates it, and the Changes API
sends it again, changed; the usual update is an open interval growing as the day goes on
(08:00-08:15, 800 steps, then 08:00-08:30, 1,500). Point identity (stream, start, end) would
count both. The ``REVISED_RECORDS`` latest records of each source are remembered (in the
user's buffer, ``UserBuffer.revise``): a record seen again grown (same start, later end, no
fewer steps or metres) is counted by its growth alone: a point from the old end, or, when only
the count grew (an hour's record with fixed bounds, updated as the hour goes on), a point over
the record's own span. Any other version of it (the same again, an older one, a correction
down) is a duplicate, and the version counted stands: subtracting a superseded version would
need its minutes, and a better source may since have taken them. Points without an id, and
revisions of records no longer remembered, pass unchanged.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from stream.points import PointBatch

REVISED_RECORDS: Final = 4
"""Records remembered per source: an app updating the current hour's record while writing the
next one's is followed. ``RECORD.size`` (35) bytes each, only for sources that send ids."""
RECORD: Final = struct.Struct("<BqqqdH")
"""A remembered record: source entry, record id hash, start, end, value, and how many times its
count grew within the same bounds (each such growth is a point of its own: ``_same_span``)."""


_MAX_BUMPS: Final = 1_000  # growths within one span; beyond, a record's versions are duplicates


def _same_span(start: int, bumps: int) -> int:
    """The start of the ``bumps``-th growth of a record within its own span: a point's identity
    is its stream, start and end (``stream.buffer``), so each growth starts that many
    nanoseconds later than the record, to be a point of its own and not a duplicate of it (the
    steps then fall in the record's bins as they would, bar a nanosecond)."""
    return start + bumps


def revise(memory: bytes, entry: int, batch: PointBatch) -> tuple[bytes, PointBatch, int]:
    """The remembered records after ``batch`` (of source table entry ``entry``), the batch to
    add, and how many of its points are duplicates (dropped from it)."""
    assert batch.record_ids is not None
    others: list[bytes] = []
    known: dict[int, tuple[int, int, float, int]] = {}  # id -> (start, end, value, bumps)
    for at in range(0, len(memory), RECORD.size):
        if memory[at] == entry:
            _, rid, start, end, value, bumps = RECORD.unpack_from(memory, at)
            known[rid] = (start, end, value, bumps)
        else:
            others.append(memory[at : at + RECORD.size])
    starts: list[int] = batch.start_ns.tolist()
    ends: list[int] = batch.end_ns.tolist()
    values: list[float] = batch.value.tolist()
    rids: list[int] = batch.record_ids.tolist()
    kept: list[int] = []
    grown: dict[int, tuple[int, float]] = {}  # index -> (new start, growth)
    changed = False
    # oldest version first, whatever the order inside the message
    for i in sorted(range(len(starts)), key=lambda i: (ends[i], starts[i])):
        rid, start, end, value = rids[i], starts[i], ends[i], values[i]
        if not rid:
            kept.append(i)
            continue
        seen = known.get(rid)
        bumps = 0
        if seen is None:
            kept.append(i)
        elif start == seen[0] and end > seen[1] and value >= seen[2]:
            kept.append(i)
            grown[i] = (seen[1], value - seen[2])
            bumps = seen[3]
        elif start == seen[0] and end == seen[1] and value > seen[2] and seen[3] < _MAX_BUMPS:
            kept.append(i)
            bumps = seen[3] + 1
            grown[i] = (_same_span(start, bumps), value - seen[2])
        else:
            continue  # a version already counted, one older than it, or a correction down
        known[rid] = (start, end, value, bumps)
        changed = True
    if changed:
        latest = sorted(known.items(), key=lambda r: r[1][1])[-REVISED_RECORDS:]
        memory = b"".join(others + [RECORD.pack(entry, rid, *record) for rid, record in latest])
    dropped = len(starts) - len(kept)
    if not dropped and not grown:
        return memory, batch, 0
    kept.sort()
    revised = PointBatch(
        batch.user_id,
        batch.channel,
        batch.source,
        np.array([grown[i][0] if i in grown else starts[i] for i in kept], np.int64),
        np.array([ends[i] for i in kept], np.int64),
        np.array([grown[i][1] if i in grown else values[i] for i in kept], np.float64),
        batch.manual,
        np.array([rids[i] for i in kept], np.int64),
    )
    return memory, revised, dropped
