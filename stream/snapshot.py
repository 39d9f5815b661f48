"""The bytes of a user's buffer: what the worker's changelogged table holds per user.

Exact (a restored buffer goes on as the saved one would) and compact (no padding, no field
names). Little-endian; a blob is a ``u32`` length and its bytes. In order:

1. ``LUB1``; the grid (``5 x i32``); the user id (blob);
2. the ring's first bin, the watermark, the latest step point end (``3 x i64``);
3. the source table (``stream.source_table``): ``u16`` names, each a blob; the meta bytes (blob);
4. the ring (blob: header and records, ``stream.buffer``); the held point keys (blob,
   ``stream.point_keys``);
5. manual points per open window (``u16`` count, ``(i64 window, i32 points)`` each);
6. windows complete but not yet taken (``u16`` count, each ``_WINDOW_HEAD``, values ``f32``
   and mask bytes ``[3, bins]``);
7. step-point fingerprints (blob, ``stream.scoring.replay``).

Sections added since, each absent from snapshots written before it (read as empty, so a worker
restarted on a new version resumes from the old changelog):

8. replay marks (``u32`` count, ``(i64 window, i32 shift, i32 grams)`` each);
9. the carried tail of the last window (blob), then each pending window's context (two blobs);
10. the latest Health Connect records of each source (blob, ``stream.revisions``);
11. the buffer of late points (blob: a snapshot of its own, ``UserBuffer.late``);
12. the bins GPS saw moving in recent windows (blob, ``UserBuffer.moved_in``).

The functions read and write the buffer's private fields: this module is the buffer's other
half, kept apart so the bin arithmetic reads without the format around it.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt

from stream import source_table as st
from stream.buffer import UserBuffer
from stream.grid import GridSpec
from stream.windows import Window, WindowTotals

MAGIC: Final = b"LUB1"
_GRID: Final = struct.Struct("<5i")
_TIMES: Final = struct.Struct("<qqq")
_COUNT16: Final = struct.Struct("<H")
_COUNT32: Final = struct.Struct("<I")
_MANUAL: Final = struct.Struct("<qi")
_MARK: Final = struct.Struct("<qii")
_WINDOW_HEAD: Final = struct.Struct("<qqqdqi?")
_RESERVED: Final = -1  # the steps watermark's field before it existed


def dump(buffer: UserBuffer) -> bytes:
    """The snapshot of ``buffer``."""
    grid = buffer.grid
    parts = [
        MAGIC,
        _GRID.pack(grid.bin_s, grid.window_bins, grid.hop_bins, grid.lateness_s, grid.speed_gap_s),
        _blob(buffer.user_id.encode()),
        _TIMES.pack(buffer._base, buffer._wm, buffer._swm),
        _COUNT16.pack(len(buffer._names)),
    ]
    parts += [_blob(name.encode()) for name in buffer._names]
    parts += [_blob(bytes(buffer._meta)), _blob(bytes(buffer._buf)), _blob(bytes(buffer._keys))]
    manual = buffer._manual or {}
    parts.append(_COUNT16.pack(len(manual)))
    parts += [_MANUAL.pack(k, v) for k, v in manual.items()]
    pending = buffer._pending or []
    parts.append(_COUNT16.pack(len(pending)))
    parts += [_window_bytes(w) for w in pending]
    parts.append(_blob(buffer._prints))
    marks = [(w, s, n) for w, shifts in (buffer._repeats or {}).items() for s, n in shifts.items()]
    parts.append(_COUNT32.pack(len(marks)))
    parts += [_MARK.pack(*mark) for mark in marks]
    parts.append(_blob(buffer._tail))
    parts += [_blob(_context_bytes(w.before)) + _blob(_context_bytes(w.after)) for w in pending]
    parts.append(_blob(buffer._revisions or b""))
    late = buffer.late
    parts.append(_blob(b"" if late is None else dump(late)))
    parts.append(_blob(buffer._moved or b""))
    return b"".join(parts)


def load(data: bytes) -> UserBuffer:
    """The buffer ``dump`` saved (``ValueError`` if ``data`` is not a snapshot)."""
    view = memoryview(data)
    if bytes(view[:4]) != MAGIC:
        raise ValueError("not a LifeUp user buffer")
    at = 4
    grid = GridSpec(*_GRID.unpack_from(view, at))
    at += _GRID.size
    user, at = _unblob(view, at)
    buffer = UserBuffer(user.decode(), grid)
    buffer._base, buffer._wm, swm = _TIMES.unpack_from(view, at)
    # such a buffer held no window back for its steps
    buffer._swm = buffer._wm if swm == _RESERVED else swm
    at += _TIMES.size
    (n_names,) = _COUNT16.unpack_from(view, at)
    at += _COUNT16.size
    names = []
    for _ in range(n_names):
        raw, at = _unblob(view, at)
        names.append(sys.intern(raw.decode()))
    buffer._names = st.shared_names(tuple(names))
    meta, at = _unblob(view, at)
    buf, at = _unblob(view, at)
    keys, at = _unblob(view, at)
    buffer._meta, buffer._buf, buffer._keys = st.shared_meta(meta), bytearray(buf), keys
    (n_manual,) = _COUNT16.unpack_from(view, at)
    at += _COUNT16.size
    if n_manual:
        manual = {}
        for _ in range(n_manual):
            k, v = _MANUAL.unpack_from(view, at)
            at += _MANUAL.size
            manual[k] = v
        buffer._manual = manual
    (n_pending,) = _COUNT16.unpack_from(view, at)
    at += _COUNT16.size
    pending = []
    for _ in range(n_pending):
        window, at = _window_from(view, at, buffer.user_id, grid.window_bins)
        pending.append(window)
    buffer._pending = pending or None
    buffer._prints, at = _unblob(view, at)
    if at == len(view):  # written before point fingerprints: the former ones, another format
        buffer._prints = b""
        return buffer
    (n_marks,) = _COUNT32.unpack_from(view, at)
    at += _COUNT32.size
    if n_marks:
        repeats: dict[int, dict[int, int]] = {}
        for _ in range(n_marks):
            w, shift, n = _MARK.unpack_from(view, at)
            at += _MARK.size
            repeats.setdefault(w, {})[shift] = n
        buffer._repeats = repeats
    if at == len(view):  # written before window context
        return buffer
    buffer._tail, at = _unblob(view, at)
    for i, window in enumerate(pending):
        before, at = _unblob(view, at)
        after, at = _unblob(view, at)
        pending[i] = replace(window, before=_context_from(before), after=_context_from(after))
    if at == len(view):  # written before record revisions
        return buffer
    records, at = _unblob(view, at)
    buffer._revisions = records or None
    if at == len(view):  # written before late points were kept
        return buffer
    late, at = _unblob(view, at)
    buffer.late = load(late) if late else None
    if at == len(view):  # written before moving GPS was kept
        return buffer
    moved, at = _unblob(view, at)
    buffer._moved = moved or None
    return buffer


def _blob(data: bytes) -> bytes:
    return _COUNT32.pack(len(data)) + data


def _unblob(view: memoryview, at: int) -> tuple[bytes, int]:
    (size,) = _COUNT32.unpack_from(view, at)
    at += _COUNT32.size
    return bytes(view[at : at + size]), at + size


def _window_bytes(window: Window) -> bytes:
    t = window.totals
    head = _WINDOW_HEAD.pack(
        window.start_ns,
        window.end_ns,
        t.steps,
        t.distance_m,
        t.speed_samples,
        window.manual_points,
        window.repeats_earlier,
    )
    return head + window.values.astype("<f4").tobytes() + window.mask.tobytes()


def _window_from(view: memoryview, at: int, user_id: str, bins: int) -> tuple[Window, int]:
    start, end, steps, dist, samples, manual, repeats = _WINDOW_HEAD.unpack_from(view, at)
    at += _WINDOW_HEAD.size
    size = 3 * bins
    values = np.frombuffer(view, dtype="<f4", count=size, offset=at).reshape(3, bins).copy()
    at += 4 * size
    mask = np.frombuffer(view, dtype=np.bool_, count=size, offset=at).reshape(3, bins).copy()
    at += size
    totals = WindowTotals(steps=steps, distance_m=dist, speed_samples=samples)
    return Window(user_id, start, end, values, mask, totals, manual, repeats), at


def _context_bytes(context: npt.NDArray[np.float32] | None) -> bytes:
    return b"" if context is None else context.astype("<f4").tobytes()


def _context_from(data: bytes) -> npt.NDArray[np.float32] | None:
    return np.frombuffer(data, dtype="<f4").reshape(3, -1).copy() if data else None
