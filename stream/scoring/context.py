"""A window seen with its neighbours' bins: what lets a cheat crossing the hour be judged whole.

Windows are tumbling UTC hours, so a cheat from 10:50 to 11:30 leaves the 10:00 window ten
minutes of it, too few for any check that needs a stretch. The buffer hands each window its
context (``Window.before``: the previous window's last bins, carried in the user's state;
``Window.after``: the bins the ring held after it when it closed). The checks run on the
extended row ``before | window | after`` and keep only findings that touch the window itself:
a stretch or a run of minutes counts when its bout (active minutes, pausing at most a minute)
has a minute in the window. So a window is never flagged for a neighbour's cheat that does not
reach into it.

The look-ahead is what had arrived when the window closed, so it depends on arrival order: the
worker and ``lifeup score`` read events in the same order and agree; a request scored whole
sees complete look-ahead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stream.interpolation import spikes
from stream.windows import Window

F32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]
BEFORE_BINS = 30  # the buffer carries this many (``stream.buffer.TAIL_BINS``)
AFTER_BINS = 16  # the lateness and one bin: all the ring can hold after a window


def stack_context(windows: Sequence[Window]) -> tuple[F32, F32]:
    """``before [batch, 3, BEFORE_BINS]`` (right-aligned) and ``after [batch, 3, AFTER_BINS]``
    (left-aligned), NaN where nothing is known. Zero-width when no window has any."""
    befores = [w.before for w in windows]
    afters = [w.after for w in windows]
    return _stack_side(befores, BEFORE_BINS, True), _stack_side(afters, AFTER_BINS, False)


def _stack_side(parts: list[F32 | None], width: int, right: bool) -> F32:
    """One side of ``stack_context``: arrays of one width are copied in one assignment (the
    buffer gives every before one width and every after another), not one per window."""
    n = len(parts)
    known = [part for part in parts if part is not None]
    if not known:
        return np.full((n, 3, 0), np.nan, dtype=np.float32)
    out = np.full((n, 3, width), np.nan, dtype=np.float32)
    rows = [i for i, part in enumerate(parts) if part is not None] if len(known) < n else None
    try:
        block = np.concatenate(known)  # fails unless every part has the same width
    except ValueError:  # mixed widths (windows not from the buffer): one copy per width
        at = [i for i, part in enumerate(parts) if part is not None] if rows is None else rows
        for have in {part.shape[1] for part in known}:
            pairs = [(i, part) for i, part in zip(at, known, strict=True) if part.shape[1] == have]
            _place(out, [i for i, _ in pairs], np.concatenate([p for _, p in pairs]), right)
        return out
    _place(out, rows, block, right)
    return out


def _place(out: F32, rows: list[int] | None, block: F32, right: bool) -> None:
    """Copies ``block`` (``[len(rows) * 3, have]``) into ``rows`` of ``out`` (all when None),
    right-aligned (the bins before a window) or left-aligned (after it)."""
    width, have = out.shape[2], block.shape[1]
    k = min(width, have)
    if not k:
        return
    parts = block.reshape(-1, 3, have)
    index = slice(None) if rows is None else rows
    if right:
        out[index, :, width - k :] = parts[:, :, have - k :]
    else:
        out[index, :, :k] = parts[:, :, :k]


def extend(values: F32, masks: Bool, before: F32, after: F32) -> tuple[F32, Bool, int, int]:
    """The extended rows and where the window lies in them (``lo``, ``hi``)."""
    lo = before.shape[2]
    hi = lo + values.shape[2]
    if np.isinf(before).any() or np.isinf(after).any():  # nan_to_num's finite stand-ins
        ext_values = np.concatenate(
            [np.nan_to_num(before, nan=0.0), values, np.nan_to_num(after, nan=0.0)], axis=2
        ).astype(np.float32, copy=False)
        ext_masks = np.concatenate([~np.isnan(before), masks, ~np.isnan(after)], axis=2)
        return ext_values, ext_masks, lo, hi
    # finite context: each NaN test made once, serving both the values and the masks
    unknown_before, unknown_after = np.isnan(before), np.isnan(after)
    zero = np.float32(0.0)
    ext_values = np.concatenate(
        [np.where(unknown_before, zero, before), values, np.where(unknown_after, zero, after)],
        axis=2,
    ).astype(np.float32, copy=False)
    ext_masks = np.concatenate([~unknown_before, masks, ~unknown_after], axis=2)
    return ext_values, ext_masks, lo, hi


def needs_context(values: F32, masks: Bool, before: F32, after: F32, speed_edge: int) -> Bool:
    """Rows where the context can change a finding: it holds data, and the window's first or
    last two bins are active (a run can only join through them), or it has speed near an edge
    (interpolation reaches ``speed_edge`` bins in)."""
    known = ~np.isnan(before).all(axis=(1, 2)) | ~np.isnan(after).all(axis=(1, 2))
    active = (values[:, :2, :2] > 0).any(axis=(1, 2)) | (values[:, :2, -2:] > 0).any(axis=(1, 2))
    speed = masks[:, 2, :speed_edge].any(axis=1) | masks[:, 2, -speed_edge:].any(axis=1)
    out: Bool = np.asarray(known & (active | speed), dtype=np.bool_)
    return out


def runs(active: Bool, gap: int = 1) -> tuple[Bool, npt.NDArray[np.int32]]:
    """``(bridged, ids)``: the active bins and the pauses of at most ``gap`` bins between two
    of them; and per bin the number (from 1, growing along the rows and across them) of the
    last run of bridged bins begun at or before it."""
    left = active.copy()
    right = active.copy()
    for j in range(1, gap + 1):
        left[:, j:] |= active[:, :-j]
        right[:, :-j] |= active[:, j:]
    bridged = left & right
    begins = bridged.copy()
    begins[:, 1:] &= ~bridged[:, :-1]
    ids = np.cumsum(begins.ravel(), dtype=np.int32).reshape(active.shape)
    return bridged, ids


def reach(active: Bool, lo: int, hi: int, gap: int = 1) -> Bool:
    """Active bins in ``[lo, hi)`` and those joined to them by runs of active bins (runs may
    pause ``gap`` bins: a walker waits at a light). Vectorised: runs get global ids."""
    bins = active.shape[1]
    if lo == 0 and hi == bins:
        return active
    some = active.any(axis=1)
    if not some.all():  # most rows of a sparse finding have nothing to join
        joined = np.zeros_like(active)
        if some.any():
            joined[some] = reach(active[some], lo, hi, gap)
        return joined
    bridged, ids = runs(active, gap)
    # ids grow along each row, so the runs touching [lo, hi) are a range of ids per row: from
    # the run holding bin lo (else the next to begin) to the last to begin before hi
    first = ids[:, lo] + ~bridged[:, lo]
    last = ids[:, hi - 1]
    out: Bool = active & (ids >= first[:, None]) & (ids <= last[:, None])
    return out


def fill_speed(values: F32, masks: Bool, gap: int, rows: Bool | None = None) -> None:
    """Interpolates speed, in place, across bins between known values at most ``gap`` bins
    apart, neither a spike (``stream.interpolation.spikes``, among the known bins of its row),
    as the buffer does inside a window: the look-ahead holds raw samples only. Worked out on the
    known bins alone: each pair of consecutive ones in a row, 2 to ``gap`` bins apart, fills the
    bins between them. Only in ``rows`` when given."""
    bins = masks.shape[2]
    known = masks[:, 2, :] if rows is None else masks[:, 2, :] & rows[:, None]
    at = np.flatnonzero(known)
    if at.size < 2:
        return
    step = np.diff(at)
    pair = (step > 1) & (step <= gap) & (at[1:] // bins == at[:-1] // bins)
    if not pair.any():
        return
    row, col = np.divmod(at, bins)
    apart = at + row * (gap + 1)  # bins of two rows are never neighbours
    spike = spikes(apart, values[row, 2, col].astype(np.float64), gap)
    pair &= ~spike[:-1] & ~spike[1:]
    if not pair.any():
        return
    p, q = at[:-1][pair], at[1:][pair]
    lengths = q - p - 1
    first = np.repeat(p, lengths)
    pos = (
        first + 1 + np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    rows, cols = np.divmod(pos, bins)
    pc = first - rows * bins
    qc = np.repeat(q, lengths) - rows * bins
    speed = values[:, 2, :]
    share = (cols - pc) / (qc - pc)
    speed[rows, cols] = speed[rows, pc] + share * (speed[rows, qc] - speed[rows, pc])
    masks[rows, 2, cols] = True
