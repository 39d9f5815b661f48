"""The rhythm of the steps: a cadence no human holds, a machine's steadiness, a timer's repeats.

Each function takes per-minute cadence rows (a window inside its context) and returns a ratio per
row, measured / limit, for ``stream.scoring.plausibility`` to combine. The limits come from
physiology and from the steadiest stretches of the 22 Fitabase users, never from the simulator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from stream.scoring.context import reach
from stream.scoring.features import Bool

# (minutes, steps/min held in every one of them): elite sprint cadence is ~250-300 for seconds,
# elite 5 km racers hold ~190-200; the Fitabase users' best 1, 3 and 10 minutes held 220, 179, 166.
CADENCE_TIERS: tuple[tuple[int, float], ...] = ((1, 300.0), (3, 240.0), (10, 210.0))
STEADY_MIN_CADENCE = 40.0  # steps/min for a minute to count towards a steady stretch
# (minutes, largest std/mean of the minute counts): the longer the stretch, the more variation a
# person shows; the Fitabase users' steadiest 20, 30, 40 minutes vary by 0.8 %, 1.4 %, 2.6 %.
STEADY_TIERS: tuple[tuple[int, float], ...] = ((20, 0.007), (30, 0.009), (40, 0.013))
# (minutes, largest successive-difference cv, sqrt(mean (x[m+1] - x[m])^2 / 2) / mean): a drive
# drifts slowly (a spring or battery running down) but is smooth minute to minute; people's
# counts jump with turns and crossings. Clean minima: Fitabase 0.77 % (30) / 1.93 % (40),
# simulated normal and legitimate-unusual 0.95 % / 1.09 %; 0.9 % keeps a margin to the latter.
STEADY_DIFF_TIERS: tuple[tuple[int, float], ...] = ((30, 0.005), (40, 0.009))
STILL_SPEED = 1.0  # m/s: GPS saw the phone move (a slow walk is ~1.2 m/s)
# A timer-driven motor returns to one rate in every on-phase, whatever its pauses; a person's
# minute counts do not repeat to 0.5 % that often. Most such minutes in any 90: 22 in the 22
# Fitabase users, 19 in the simulator's normal days and legitimate-unusual bouts.
REPEAT_SPAN = 90  # minutes
REPEAT_TOLERANCE = 0.005  # of the count
REPEAT_MINUTES = 26
REPEAT_GAP = 2  # bins: a duty cycle's off phase (1-2 min) does not end its bout
REPEAT_FLOOR = 0.75  # of the limit: rows further from it score 0, ruled out by one sort

F64 = npt.NDArray[np.float64]
FloatRows = npt.NDArray[np.floating[Any]]  # float32 or float64 rows


def cadence_ratio(
    cadence: FloatRows, lo: int = 0, hi: int | None = None, touch: Bool | None = None
) -> F64:
    """Per row the largest ``held cadence / limit`` over the ``CADENCE_TIERS``, of stretches
    in a bout that reaches into bins ``[lo, hi)`` (the window inside its context): a shaker
    switched on at 10:59:40 leaves the 10:00 window one partial minute of its bout.
    Float32 rows give the same ratios (minima are exact; each is widened before dividing)
    with half the memory traffic."""
    hi = cadence.shape[1] if hi is None else hi
    if touch is None:
        touch = reach(cadence > 0, lo, hi)
    out = np.zeros(cadence.shape[0])
    for held, limit in zip(rolling_mins(cadence), CADENCE_TIERS, strict=False):
        inside = np.where(touch[:, : held.shape[1]], held, 0.0)
        top = inside.max(axis=1, initial=0.0).astype(np.float64)  # float32 rows: exact
        np.maximum(out, top / limit[1], out=out)
    return out


def rolling_mins(cadence: FloatRows) -> list[FloatRows]:
    """Per ``CADENCE_TIERS`` tier of ``k`` minutes, ``held[:, t]`` = the lowest cadence of
    minutes ``t .. t+k-1`` (tiers longer than the row are left out). Minima of minima are
    exact, so spans are doubled (1, 2, 3, 4, 8, 10: five passes) rather than grown one minute
    at a time (nine)."""
    bins = cadence.shape[1]
    if CADENCE_TIERS != ((1, 300.0), (3, 240.0), (10, 210.0)) or bins < 10:
        return rolling_mins_stepwise(cadence)
    two = np.minimum(cadence[:, :-1], cadence[:, 1:])
    three = np.minimum(two[:, :-1], cadence[:, 2:])
    four = np.minimum(two[:, :-2], two[:, 2:])
    eight = np.minimum(four[:, :-4], four[:, 4:])
    ten = np.minimum(eight[:, :-2], two[:, 8:])
    return [cadence, three, ten]


def rolling_mins_stepwise(cadence: FloatRows) -> list[FloatRows]:
    """``rolling_mins`` grown one minute at a time: any tiers, any row length (the reference
    the doubling is tested against)."""
    out: list[FloatRows] = []
    held = cadence
    k = 1
    for bins, _ in CADENCE_TIERS:
        if cadence.shape[1] < bins:
            break
        while k < bins:
            held = np.minimum(held[:, :-1], cadence[:, k:])
            k += 1
        out.append(held)
    return out


def steady_ratio(
    cadence: F64,
    lo: int = 0,
    hi: int | None = None,
    moving: Bool | None = None,
    touch: Bool | None = None,
    active: Bool | None = None,
) -> F64:
    """Per row the largest ``limit / lowest CV`` over the ``STEADY_TIERS`` (std/mean) and
    ``STEADY_DIFF_TIERS`` (successive differences: blind to a slow drift, so a swing running
    down is still measured as the machine it is) of stretches in a bout reaching into bins
    ``[lo, hi)``: 1.0 at a limit, growing as the rhythm gets more mechanical; 0 with no
    stretch active long enough. A minute in which GPS saw the phone ``moving``
    (``STILL_SPEED`` or more) breaks a stretch: a shaken phone stays where it is, a steady
    runner outdoors does not.

    Only rows with enough active minutes are examined (most hours have none); rolling sums from
    cumulative sums keep it O(bins) per row and tier.
    """
    hi = cadence.shape[1] if hi is None else hi
    out = np.zeros(cadence.shape[0])
    shortest = min(k for k, _ in STEADY_TIERS)
    counted = cadence >= STEADY_MIN_CADENCE if active is None else active
    if moving is not None:
        counted = counted & ~moving
    if touch is None:
        touch = reach(cadence > 0, lo, hi)
    rows = np.flatnonzero((np.count_nonzero(counted, axis=1) >= shortest) & touch.any(axis=1))
    if rows.size == 0:
        return out
    sub = cadence[rows]
    # cumulative sums behind a zero column, written in place (no concatenated copies)
    cs = np.zeros((rows.size, sub.shape[1] + 1))
    cs2 = np.zeros_like(cs)
    act = np.zeros_like(cs)
    np.cumsum(sub, axis=1, out=cs[:, 1:])
    np.cumsum(sub * sub, axis=1, out=cs2[:, 1:])
    np.cumsum(counted[rows], axis=1, out=act[:, 1:])
    starts = touch[rows]
    best = np.zeros(rows.size)
    plain, successive = dict(STEADY_TIERS), dict(STEADY_DIFF_TIERS)
    dd = None
    if sub.shape[1] >= min(successive):  # squared steps between neighbours, summed likewise
        dd = np.zeros((rows.size, sub.shape[1]))
        np.cumsum(np.square(sub[:, 1:] - sub[:, :-1]), axis=1, out=dd[:, 1:])
    for k in sorted(plain.keys() | successive.keys()):
        if sub.shape[1] < k:
            continue
        total = cs[:, k:] - cs[:, :-k]
        full = (act[:, k:] - act[:, :-k]) >= k
        mean = np.maximum(total / k, 1.0)
        if k in plain:
            var = np.maximum((cs2[:, k:] - cs2[:, :-k]) / k - np.square(total / k), 0.0)
            cv = np.where(full, np.sqrt(var) / mean, np.inf)
            np.maximum(best, _lowest_ratio(cv, starts, plain[k]), out=best)
        if k in successive and dd is not None:
            mssd = (dd[:, k - 1 :] - dd[:, : 1 - k]) / (2 * (k - 1))
            cv = np.where(full, np.sqrt(mssd) / mean, np.inf)
            np.maximum(best, _lowest_ratio(cv, starts, successive[k]), out=best)
    out[rows] = best
    return out


def _lowest_ratio(cv: F64, starts: Bool, limit: float) -> F64:
    """``limit / the lowest cv`` of the stretches beginning in ``starts`` (0 with none)."""
    lowest = np.where(starts[:, : cv.shape[1]], cv, np.inf).min(axis=1, initial=np.inf)
    out: F64 = np.where(np.isfinite(lowest), limit / np.maximum(lowest, 1e-6), 0.0)
    return out


def repeat_ratio(cadence: F64, lo: int = 0, hi: int | None = None) -> F64:
    """Per row, the most minutes of at least ``STEADY_MIN_CADENCE`` within ``REPEAT_TOLERANCE``
    of one count of the row (``[c (1 - tol), c (1 + tol)]``) in any ``REPEAT_SPAN`` minutes,
    over ``REPEAT_MINUTES`` (the caller zeroes the minutes of bouts not reaching into the
    window) and of which at least one lies in bins ``[lo, hi)`` (the finding's own minutes
    reach there, not only its bout); 0 below ``REPEAT_FLOOR`` or with fewer than
    ``REPEAT_MINUTES`` active minutes.
    Only the distinct counts matched often enough in the whole row (``_centres``: one sort,
    one search) are compared with every minute, their matches counted per span from a
    cumulative sum (no matrix product: BLAS threads fight the worker's on a busy machine)."""
    active = cadence >= STEADY_MIN_CADENCE
    out: F64 = np.zeros(cadence.shape[0])
    rows = np.flatnonzero(np.count_nonzero(active, axis=1) >= REPEAT_MINUTES)
    values = np.where(active[rows], cadence[rows], np.nan)  # NaN matches nothing
    row, centre = _centres(values)
    if row.size == 0:
        return out
    bins = cadence.shape[1]
    span = min(REPEAT_SPAN, bins)
    starts = np.arange(bins - span + 1)
    x = values[row]
    c = centre[:, None]
    match = (x >= c * (1.0 - REPEAT_TOLERANCE)) & (x <= c * (1.0 + REPEAT_TOLERANCE))
    counts = np.zeros((row.size, bins + 1), dtype=np.int32)
    np.cumsum(match, axis=1, out=counts[:, 1:])
    inner = np.zeros_like(match)  # matches in [lo, hi) only
    inner[:, lo:hi] = match[:, lo:hi]
    there = np.zeros_like(counts)
    np.cumsum(inner, axis=1, out=there[:, 1:])
    per_span = counts[:, starts + span] - counts[:, starts]
    reached = (there[:, starts + span] - there[:, starts]) > 0
    top = np.where(reached, per_span, 0).max(axis=1) / REPEAT_MINUTES
    first = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))  # rows ascend
    best = np.maximum.reduceat(top, first)
    out[rows[row[first]]] = np.where(best >= REPEAT_FLOOR, best, 0.0)
    return out


def _centres(values: F64) -> tuple[npt.NDArray[np.intp], F64]:
    """(row, count) of the distinct counts (NaN: none) with at least ``REPEAT_FLOOR x
    REPEAT_MINUTES`` counts of their row within ``REPEAT_TOLERANCE`` (slightly widened: a
    superset), rows ascending: each row's sorted counts searched, all rows at once (each
    shifted past the previous)."""
    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    known = ~np.isnan(values)
    top = float(np.max(values, where=known, initial=0.0))
    ordered = np.sort(values, axis=1)  # NaN last
    row, col = np.nonzero(~np.isnan(ordered))
    value = ordered[row, col]
    distinct = np.concatenate(([True], (value[1:] != value[:-1]) | (row[1:] != row[:-1])))
    shifted = value + row * (4.0 * top + 4.0)  # ascending across rows
    slack = REPEAT_TOLERANCE * (1.0 + 1e-6)
    at = np.flatnonzero(distinct)
    low = value[at] * (1.0 - slack) + (shifted[at] - value[at])
    high = value[at] * (1.0 + slack) + (shifted[at] - value[at])
    count = np.searchsorted(shifted, high, side="right") - np.searchsorted(
        shifted, low, side="left"
    )
    keep = at[count >= int(np.ceil(REPEAT_FLOOR * REPEAT_MINUTES))]
    return row[keep], value[keep]


def tight(values: F64) -> Bool:
    """Rows where some ``REPEAT_FLOOR x REPEAT_MINUTES`` values (NaN: none) lie within a ratio
    of ``(1 + tol) / (1 - tol)`` of each other: necessary for that many to lie within ``tol``
    of one of them, and one sort per row, so walks (their counts spread over tens of values)
    are ruled out before the pairwise count."""
    ordered = np.sort(values, axis=1)  # NaN last; comparisons with NaN are False
    k = int(np.ceil(REPEAT_FLOOR * REPEAT_MINUTES)) - 1
    spread = (1.0 + REPEAT_TOLERANCE) / (1.0 - REPEAT_TOLERANCE) * (1.0 + 1e-9)
    out: Bool = np.asarray((ordered[:, k:] <= ordered[:, :-k] * spread).any(axis=1))
    return out
