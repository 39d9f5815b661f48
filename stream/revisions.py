"""Health Connect records updated in place: which of a record's versions count.

A Health Connect record keeps its ``metadata.id`` when its app updates it, and the Changes API
sends it again, changed; the usual update is an open interval growing as the day goes on
(08:00-08:15, 800 steps, then 08:00-08:30, 1,500). Point identity (stream, start, end) would
count both. The ``REVISED_RECORDS`` latest records of each source are remembered (in the
user's buffer, ``UserBuffer.revise``): a record seen again grown (same start, later end, no
fewer steps or metres) is counted by its growth alone, as a point from the old end; any other
version of it (the same again, an older one, a correction) is a duplicate, and the version
counted stands. Subtracting a superseded version would need every point's value kept, and a
better source may since have taken its minutes. Points without an id, and revisions of records
no longer remembered, pass unchanged.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from stream.points import PointBatch

REVISED_RECORDS: Final = 4
"""Records remembered per source: an app updating the current hour's record while writing the
next one's is followed. ``RECORD.size`` (33) bytes each, only for sources that send ids."""
RECORD: Final = struct.Struct("<Bqqqd")
"""A remembered record: source entry, record id hash, start, end, value."""


def revise(memory: bytes, entry: int, batch: PointBatch) -> tuple[bytes, PointBatch, int]:
    """The remembered records after ``batch`` (of source table entry ``entry``), the batch to
    add, and how many of its points are duplicates (dropped from it)."""
    assert batch.record_ids is not None
    others: list[bytes] = []
    known: dict[int, tuple[int, int, float]] = {}  # record id -> (start, end, value)
    for at in range(0, len(memory), RECORD.size):
        if memory[at] == entry:
            _, rid, start, end, value = RECORD.unpack_from(memory, at)
            known[rid] = (start, end, value)
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
        if seen is None:
            kept.append(i)
        elif start == seen[0] and end > seen[1] and value >= seen[2]:
            kept.append(i)
            grown[i] = (seen[1], value - seen[2])
        else:
            continue  # a version already counted, or one older than it
        known[rid] = (start, end, value)
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
