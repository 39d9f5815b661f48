"""A user's source table: which streams reported to the buffer, and which of them outranks which.

Entry 0 is "no source" (a bin's holder byte 0: nothing touched it); each (source, channel)
reported gets the next entry, up to ``MAX_SOURCE_ENTRIES``. The table is two immutable values,
so a user's buffer holds two references and users of the same phone app share one copy:

- ``names``: the source id of each entry;
- ``meta``: ``ENT`` bytes per entry (``ENTRY``): priority (1 = lowest, from the rank and the
  source id, ``prioritised``), channel, manual, flags (``USED``, ``SHADOWED``), rank.

A source's long points (``stream.buffer.LONG_POINT_NS``) are deposited under a twin entry, the
channel byte ``LONG_STEPS`` or ``LONG_DISTANCE``, with the same priority: counted as the
source's, not measured minute by minute (``measured``). Which source wins a bin is
``stream.sources``' ranking; the buffer applies it with these priorities.
"""

from __future__ import annotations

import struct
import sys
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from stream.points import Channel

ENTRY: Final = struct.Struct("<BBBBi")
ENT: Final = ENTRY.size
USED: Final = 1
SHADOWED: Final = 2
MAX_SOURCE_ENTRIES: Final = 255
"""Sources one user's table holds, one entry per source and channel (a source's long points
take a second): about 85 phones' or apps' streams of all three channels. Honest users have a
handful; a table filled with made-up sources would leave LifeUp blind to the next ones, so
their points are refused, visibly (``AddResult.refused``)."""
LONG_STEPS: Final = 3
LONG_DISTANCE: Final = 4
NO_NAMES: Final = ("",)
NO_SOURCE: Final = bytes(ENT)  # the table of a user before any source: entry 0, "no source"
_STEPS: Final = int(Channel.STEPS)

# Tables (names and their meta bytes) are immutable and, for users of the same phone app,
# identical: one copy serves them all, as ``sys.intern`` does for strings. The number of distinct
# tables kept is capped, so a stream of one-off source ids cannot grow it without bound; past the
# cap a table is simply not shared.
_SHARED_TABLES: Final = 4096
_T = TypeVar("_T", tuple[str, ...], bytes)
_NAME_TABLES: dict[tuple[str, ...], tuple[str, ...]] = {}
_META_TABLES: dict[bytes, bytes] = {}


def _shared(store: dict[_T, _T], table: _T) -> _T:
    """The copy of ``table`` that ``store`` holds, else ``table`` (kept while there is room)."""
    shared = store.get(table)
    if shared is not None:
        return shared
    if len(store) < _SHARED_TABLES:
        store[table] = table
    return table


def shared_names(names: tuple[str, ...]) -> tuple[str, ...]:
    return _shared(_NAME_TABLES, names)


def shared_meta(meta: bytes) -> bytes:
    return _shared(_META_TABLES, meta)


def find(names: tuple[str, ...], meta: bytes, channel: int, source: str) -> int:
    """The entry of (channel, source); 0 when it has none."""
    i = 0
    while True:
        try:
            i = names.index(source, i + 1)
        except ValueError:
            return 0
        if meta[i * ENT + 1] == channel:
            return i


def register(
    names: tuple[str, ...], meta: bytes, channel: int, source: str, rank: int, manual: bool
) -> tuple[tuple[str, ...], bytes, int]:
    """The table with (channel, source) in it, and its entry; the table unchanged and entry 0
    once it is full."""
    entry = find(names, meta, channel, source)
    if entry:
        return names, meta, entry
    if len(names) > MAX_SOURCE_ENTRIES:
        return names, meta, 0
    new_names = shared_names((*names, sys.intern(source)))
    clamped = max(min(rank, 2**31 - 1), -(2**31))
    new_meta = prioritised(new_names, meta + ENTRY.pack(0, channel, 1 if manual else 0, 0, clamped))
    return new_names, new_meta, len(names)


def twin_of(names: tuple[str, ...], meta: bytes, entry: int) -> tuple[tuple[str, ...], bytes, int]:
    """The table with ``entry``'s twin (its long points) in it, and the twin's entry; ``entry``
    itself once the table is full."""
    at = entry * ENT
    kind = LONG_STEPS if meta[at + 1] == _STEPS else LONG_DISTANCE
    rank = ENTRY.unpack_from(meta, at)[4]
    names, meta, twin = register(names, meta, kind, names[entry], rank, bool(meta[at + 2]))
    return names, meta, twin if twin else entry


def prioritised(names: tuple[str, ...], meta: bytes) -> bytes:
    """``meta`` with priority bytes from (rank, source id): a total order of sources, so ties
    never depend on arrival order; a source's entries (its twin) share one priority."""
    entries = range(1, len(names))
    ranks = [ENTRY.unpack_from(meta, i * ENT)[4] for i in entries]
    order = sorted(entries, key=lambda i: (ranks[i - 1], names[i]))
    out = bytearray(meta)
    prio = 0
    last: tuple[int, str] | None = None
    for i in order:
        key = (ranks[i - 1], names[i])
        if key != last:
            prio, last = prio + 1, key
        out[i * ENT] = prio
    return shared_meta(bytes(out))


def flagged(meta: bytes, entry: int, bit: int) -> bytes:
    """``meta`` with ``entry`` marked ``USED`` or ``SHADOWED`` (rarely new: no copy if set)."""
    at = entry * ENT + 3
    if meta[at] & bit:
        return meta
    return shared_meta(meta[:at] + bytes((meta[at] | bit,)) + meta[at + 1 :])


def measured(meta: bytes, holders: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Bins a point measured, from their holders in one channel (steps or distance): a source
    counted there, and not only with its long points (the twin entry)."""
    out: npt.NDArray[np.bool_] = holders != 0
    kinds = meta[1::ENT]  # entry 0 ("no source") has channel byte 0
    if max(kinds) >= LONG_STEPS:  # windows are built often, twins are rare
        out &= np.frombuffer(kinds, dtype=np.uint8)[holders] < LONG_STEPS
    return out


def flagged_entries(names: tuple[str, ...], meta: bytes, bit: int) -> set[int]:
    """The entries marked with ``bit``."""
    return {i for i in range(1, len(names)) if meta[i * ENT + 3] & bit}
