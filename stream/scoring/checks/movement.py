"""Where the location data says the body went: vehicles, jumps, metres walked without steps.

Steps are credited for walking, so a minute of stepping at vehicle speed, a jump inside a walk
(in one minute or spread over a lost fix) and a route logged at a walker's pace without a step
are each measured here as a ratio to a limit; ``stream.scoring.plausibility`` combines them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stream.scoring.checks.stride import STRIDE_MAX_RUN, span_ids, span_sums, stride_limit
from stream.scoring.features import Bool
from stream.scoring.rides import STEPPING_CADENCE, run_starts

VEHICLE_SPEED = 7.0  # m/s while steps are counted
VEHICLE_BINS = 3
TELEPORT_SPEED = 42.0  # m/s (~150 km/h) in one sample or one minute's distance
# ... unless it belongs to a journey: a run of minutes moving without stepping, this many of them
# at vehicle speed (a high-speed train, a motorway at 180 km/h); a jump lasts a minute or two
JOURNEY_MINUTES = 3
WALK_JUMP_SPEED = 25.0  # m/s (90 km/h): a speed sample in the middle of a walk
SPIKE_DISTANCE = 400.0  # metres beyond what the steps can cover, within three minutes of a walk
# A jump logged over a lost fix is spread across the minutes the fix was lost: the same 400 m,
# beyond the longest step at each minute's cadence (``stride_limit``), summed with its sign over
# up to 15 unbroken walking minutes, so the walk's own metres count against it.
LOST_FIX_MINUTES = 15
HUMAN_PACE = 6.5  # m/s: stepless stretches faster than this in any minute are vehicles
STEPLESS_DISTANCE = 500.0  # metres

F64 = npt.NDArray[np.float64]


def near(active: Bool) -> Bool:
    """True where the bin or a neighbour is active: tolerates a point landing one bin off."""
    near = active.copy()
    near[:, 1:] |= active[:, :-1]
    near[:, :-1] |= active[:, 1:]
    return near


def walking_minutes(stepping: Bool) -> Bool:
    """Stepping minutes (``STEPPING_CADENCE``) with stepping minutes on both sides (the row's
    ends have no known sides)."""
    walking = stepping.copy()
    walking[:, 1:] &= stepping[:, :-1]
    walking[:, :-1] &= stepping[:, 1:]
    walking[:, 0] = walking[:, -1] = False
    return walking


def spikes(dist: F64, steps: F64, lo: int, hi: int, walking: Bool | None = None) -> F64:
    """Teleport jumps inside a walk: metres beyond the longest human step (``STRIDE_MAX_RUN``
    per step counted) in stepping minutes with stepping minutes on both sides, summed over
    three neighbouring minutes (a jump is often split across two) around a minute of
    ``[lo, hi)`` that holds part of it, divided by ``SPIKE_DISTANCE``.
    A car's fast minutes count a few bumps at most, not stepping, so they never count, nor does
    the minute a walk turns into a ride. Only rows with some excess are summed (few are);
    ``walking`` is ``walking_minutes(steps >= STEPPING_CADENCE)`` when the caller has it."""
    if walking is None:
        walking = walking_minutes(steps >= STEPPING_CADENCE)
    out: F64 = np.zeros(dist.shape[0])
    excess = np.where(walking, np.maximum(dist - STRIDE_MAX_RUN * steps, 0.0), 0.0)
    rows = np.flatnonzero(excess[:, lo:hi].any(axis=1))
    if rows.size == 0:
        return out
    sub = excess[rows]
    local = sub.copy()  # previous + this, then + next: the order a padded sum adds them in
    local[:, 1:] = sub[:, :-1] + sub[:, 1:]
    local[:, :-1] += sub[:, 1:]
    local = np.where(sub > 0, local, 0.0)
    out[rows] = local[:, lo:hi].max(axis=1, initial=0.0) / SPIKE_DISTANCE
    return out


def lost_fix(dist: F64, steps: F64, cadence: F64, lo: int, hi: int, walking: Bool) -> F64:
    """Teleports spread over a lost fix: the largest sum of ``dist - stride_limit * steps`` over
    up to ``LOST_FIX_MINUTES`` consecutive walking minutes, divided by ``SPIKE_DISTANCE``. A
    stretch counts for the window when one of its ends is a minute of ``[lo, hi)`` with excess
    (a stretch of the largest sum begins and ends with one), so a jump in the context alone
    does not. Stretches end by the window's end, whose last minute has no known next side: the
    look-ahead holds whatever had arrived when the window closed, and a sum over it would
    depend on arrival order. Signed, not clipped: the honest minutes beside a jump, a few
    centimetres under the limit or over it by GPS jitter, cancel out rather than add up. Only
    rows with excess in the window are summed (few are)."""
    out: F64 = np.zeros(dist.shape[0])
    dist, steps, cadence = dist[:, :hi], steps[:, :hi], cadence[:, :hi]
    # as ``walking_minutes(stepping[:, :hi])``: the row now ends there
    walking = walking[:, :hi].copy()
    walking[:, hi - 1] = False
    excess = np.zeros(walking.shape)
    at = np.nonzero(walking)  # the walking minutes only (few): the limit is dear to work out
    excess[at] = dist[at] - stride_limit(cadence[at]) * steps[at]
    own = np.zeros(walking.shape[1], dtype=np.bool_)
    own[lo:hi] = True
    ends = (excess > 0) & own  # excess is 0 off walking minutes
    rows = np.flatnonzero(ends.any(axis=1))
    if rows.size == 0:
        return out
    sub, ends, run = excess[rows], ends[rows], walking[rows]
    sums = np.zeros(sub.shape)  # the sum over [i, i + k], k growing
    unbroken = np.ones(sub.shape, dtype=np.bool_)  # every minute of [i, i + k] walking
    best = np.zeros(rows.size)
    bins = sub.shape[1]
    for k in range(min(LOST_FIX_MINUTES, bins)):
        width = bins - k
        sums[:, :width] += sub[:, k:]
        unbroken[:, :width] &= run[:, k:]
        counts = unbroken[:, :width] & (ends[:, :width] | ends[:, k:])
        best = np.maximum(best, np.where(counts, sums[:, :width], 0.0).max(axis=1))
    out[rows] = best / SPIKE_DISTANCE
    return out


def human_pace_distance(
    dist: F64,
    stepless: Bool,
    bin_s: int,
    lo: int,
    hi: int,
    steps: F64 | None = None,
    cadence: F64 | None = None,
) -> F64:
    """Metres logged without steps at a pace a person could walk or run (a spoofed route).

    Stretches of consecutive stepless minutes whose fastest minute exceeds ``HUMAN_PACE`` are a
    vehicle ride, honestly logged, and do not count; nor do stretches outside bins ``[lo, hi)``.
    With ``steps`` and ``cadence``, a stretch inside a span that also holds stepping minutes
    counts only the metres of the span (``span_ids``, up to the window's end) that its steps
    cannot cover at the longest human step (``stride_limit``): distance logged in points of
    several minutes is spread evenly over them, so the metres of a walk reach the quiet minutes
    before and after it (in points of 15-30 minutes: 27 alerts on the 22 Fitabase users'
    honest month), while their totals stay what the steps explain.
    Vectorised over the batch on the stepless minutes alone (few): every stretch gets an id,
    sums and maxima are gathered per id.
    """
    rows, bins = dist.shape
    out: F64 = np.zeros(rows)
    at = np.flatnonzero(stepless & (dist > 0))
    if at.size == 0:
        return out
    col = at % bins
    begins = run_starts(at, col)
    ids = np.cumsum(begins) - 1
    first = np.flatnonzero(begins)
    metres_at = dist.ravel()[at]
    # summed in the order of the minutes, as a bincount over the whole batch adds them
    metres = np.bincount(ids, weights=metres_at, minlength=first.size)
    fastest = np.maximum.reduceat(metres_at, first)
    touching = np.zeros(first.size, dtype=np.bool_)
    touching[ids[(col >= lo) & (col < hi)]] = True
    human = (fastest <= HUMAN_PACE * bin_s) & touching
    if not human.any():
        return out
    row_of = at[first] // bins
    if steps is None or cadence is None:
        out += np.bincount(row_of[human], weights=metres[human], minlength=rows)
        return out
    judged, index = np.unique(row_of[human], return_inverse=True)  # few rows
    col_of = at[first][human] % bins
    local = _beyond_steps(
        dist[judged],
        steps[judged],
        cadence[judged],
        hi,
        index * bins + col_of,
        metres[human].astype(np.float64),
    )
    out[judged] = local
    return out


def _beyond_steps(
    dist: F64, steps: F64, cadence: F64, hi: int, starts: npt.NDArray[np.intp], metres: F64
) -> F64:
    """Per row, the stepless stretches' ``metres`` (stretches beginning at the flat positions
    ``starts``), those of each span capped by what its steps cannot cover: the span's metres
    less ``stride_limit x steps`` of its stepping minutes, both up to ``hi``. A span without
    stepping minutes keeps all its stretches' metres, and so does a stretch beginning at or
    after ``hi`` (in no span)."""
    rows, bins = dist.shape
    span = span_ids(dist, steps, hi)
    coverable = np.where(cadence >= STEPPING_CADENCE, steps * stride_limit(cadence), 0.0)
    span_metres, allowance = span_sums(span, dist, coverable)
    n = span_metres.shape[0]
    of = span.ravel()[starts]
    kept = np.bincount(of, weights=metres, minlength=n)  # the stretches' metres per span
    unexplained = np.maximum(span_metres - allowance, 0.0)
    capped = np.where(allowance > 0.0, np.minimum(kept, unexplained), kept)
    capped[0] = 0.0  # outside every span: added per stretch below
    row_of_span = np.zeros(n, dtype=np.int64)
    row_of_span[of] = starts // bins
    # weighted bincounts are float64 (numpy's stubs say int)
    out: F64 = np.bincount(row_of_span, weights=capped, minlength=rows).astype(np.float64)
    alone = of == 0
    if alone.any():
        out += np.bincount(starts[alone] // bins, weights=metres[alone], minlength=rows)
    return out
