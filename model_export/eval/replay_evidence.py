"""Evidence for a tolerant replay rule: how alike two 10-minute stretches of one user's steps get.

For every stretch of 10 consecutive minutes of at least 40 steps, the nearest other stretch of
the same user at least an hour away (optionally time-stretched by 0.90-1.10) by mean absolute
difference over the stretch's mean. Clean data (every Fitabase user, simulated normal days) says
how alike honest walks get; the replay variants say how alike a replay stays to its original.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from model_export.eval.variant_evidence import MIN_NS, Series

F64 = npt.NDArray[np.float64]
L = 10  # minutes per compared stretch (``set_length`` changes it)
FACTORS = tuple(round(f, 2) for f in np.arange(0.90, 1.101, 0.02) if abs(f - 1) > 1e-9)


def segments(steps: F64, t0_min: int) -> tuple[F64, npt.NDArray[np.int64]]:
    active = (steps >= 40).astype(np.float64)
    c = np.concatenate([[0.0], np.cumsum(active)])
    starts = np.flatnonzero(c[L:] - c[:-L] >= L)
    x = np.stack([steps[a : a + L] for a in starts]) if starts.size else np.zeros((0, L))
    return x, starts + t0_min


def stretched(steps: F64, f: float) -> F64:
    """The series played ``f`` times slower: minute m holds the original's [m/f, (m+1)/f)."""
    c = np.concatenate([[0.0], np.cumsum(steps)])
    n = int(steps.shape[0] * f)
    edges = np.arange(n + 1) / f
    cum = np.interp(edges, np.arange(c.shape[0]), c)
    return np.diff(cum)


def nearest(x: F64, tx: npt.NDArray[np.int64], y: F64, ty: npt.NDArray[np.int64]) -> F64:
    """Per row of x, min over rows of y at least 60 min away of mean|x-y| over x's own mean
    absolute deviation: how much of the stretch's shape the nearest one fails to repeat (a
    steady stretch has little shape, so steady walks at one pace do not count as repeats)."""
    out = np.full(x.shape[0], np.inf)
    if y.shape[0] == 0:
        return out
    for a in range(0, x.shape[0], 256):
        xa = x[a : a + 256]
        spread = np.abs(xa - xa.mean(axis=1, keepdims=True)).mean(axis=1)
        d = np.abs(xa[:, None, :] - y[None, :, :]).mean(axis=2) / np.maximum(spread, 1.0)[:, None]
        far = np.abs(tx[a : a + 256, None] - ty[None, :]) >= 60
        out[a : a + 256] = np.where(far, d, np.inf).min(axis=1, initial=np.inf)
    return out


def similarity(s: Series, stretch: bool = True) -> tuple[F64, npt.NDArray[np.int64]]:
    """Per 10-minute stretch its start (absolute minute) and nearest-neighbour distance."""
    t0 = int(s.t0_ns // MIN_NS)
    x, tx = segments(s.steps, t0)
    best = nearest(x, tx, x, tx)
    if stretch:
        for f in FACTORS:
            y, ty_local = segments(stretched(s.steps, f), 0)
            ty = (ty_local / f).astype(np.int64) + t0  # original time of each stretched row
            best = np.minimum(best, nearest(x, tx, y, ty))
    return best, tx
