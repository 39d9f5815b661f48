"""How long a step may be: metres per step against the longest (and shortest) human stride.

Distance and steps of the same minutes must agree: a vehicle logged as walking, a spoofed route
or injected steps each break the stride a body can take at the cadence counted.
``stride_limit`` is the bound the teleport rules (``stream.scoring.checks.movement``) share.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stream.scoring.context import runs
from stream.scoring.features import Bool
from stream.scoring.rides import STEPPING_CADENCE

DISTANCELESS_STEPS = 1500.0  # steps
STRIDE_MIN_STEPS = 300.0
STRIDE_MIN_BINS = 5
STRIDE_MAX_WALK = 1.2  # metres per step at walking cadence (<= 130/min)
STRIDE_MAX_RUN = 2.5  # metres per step at running cadence (>= 170/min)
STRIDE_MIN = 0.25
WALKING_PACE = 1.8  # m/s, a brisk walk: what distance alone may claim however few steps counted
# A speed sample with no distance still prices the step: at 2.5 m/s or more a person's cadence is
# ~150 or more, so a ride at 5 m/s logging 50 "steps"/min implies a 6 m step. Stepping minutes
# only, and 3 of them, keep one lagging sample beside a walk from judging it.
SPEED_STRIDE_SPEED = 2.5  # m/s
SPEED_STRIDE_BINS = 3

F64 = npt.NDArray[np.float64]


def bridged_runs(active: Bool) -> npt.NDArray[np.int64]:
    """Per minute, the id (from 1, unique across rows; 0: none) of its run of ``active``
    minutes, a single inactive minute between two active ones bridged."""
    bridged, ids = runs(active)
    out: npt.NDArray[np.int64] = np.where(bridged, ids, 0).astype(np.int64)
    return out


def span_ids(metres: F64, steps: F64, until: int | None = None) -> npt.NDArray[np.int64]:
    """Per minute, the id (from 1; 0: none) of its span: a run of minutes with steps or metres,
    pausing at most a minute. A phone's distance and step points need not share boundaries (the
    Takeout sample holds distance points of 7 and 13 minutes beside step points of a minute or
    less), so a span is the smallest stretch that both channels are sure to have covered.
    Minutes from ``until`` on belong to none: the look-ahead after a window holds whatever had
    arrived when it closed, and totals over it would depend on arrival order."""
    moving = (steps > 0) | (metres > 0)
    if until is not None:
        moving[:, until:] = False
    return bridged_runs(moving)


def span_sums(ids: npt.NDArray[np.int64], metres: F64, steps: F64) -> tuple[F64, F64]:
    """Metres and steps (or any per-minute amount) per span id (index 0: outside every span)."""
    n = int(ids.max()) + 1 if ids.size else 1
    flat = ids.ravel()
    # weighted bincounts are float64 (numpy's stubs say int)
    span_metres = np.bincount(flat, weights=metres.ravel(), minlength=n).astype(np.float64)
    span_steps = np.bincount(flat, weights=steps.ravel(), minlength=n).astype(np.float64)
    return span_metres, span_steps


def _confirmed(median: F64, total: F64, limit: F64) -> F64:
    """``max(long side, short side)``, each side the smaller of what the minutes' median stride
    and the spans' total metres over total steps say: a step is too long (or too short) only if
    both say so. Distance spread evenly over a several-minute point puts a few metres in each
    minute whatever the steps there, so the minutes of a stroll with many steps read short and
    those with few read long, while the totals stay true; the median guards against one
    minute's GPS jump inflating the totals (the teleport rules judge jumps)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        long = np.minimum(median / limit, total / limit)
        short = np.minimum(STRIDE_MIN / median, STRIDE_MIN / total)
    out: F64 = np.maximum(long, short)
    return out


def stride_ratio(
    metres: F64,
    steps: F64,
    cadence: F64,
    paired: Bool | None = None,
    until: int | None = None,
) -> F64:
    """How far the metres per step of the minutes with both lie outside the human range for
    their cadence (``stride_limit``), confirmed by the totals of their spans (``span_ids``,
    ``_confirmed``; ``until`` as there); 0 with too few such minutes to judge.

    Speed samples are not used: phones report low, lagging speeds while walking (the Takeout
    sample: 0.3 m/s) and interpolation carries a vehicle's speed into the walk beside it."""
    if paired is None:  # else the minutes to judge, a subset of those with both
        paired = (steps > 0) & (metres > 0)
    enough = (paired.sum(axis=1) >= STRIDE_MIN_BINS) & (
        np.where(paired, steps, 0.0).sum(axis=1) >= STRIDE_MIN_STEPS
    )
    out = np.zeros(steps.shape[0])
    rows = np.flatnonzero(enough)
    if rows.size == 0:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        stride = np.where(paired[rows], metres[rows] / steps[rows], np.nan)
        walked = np.where(paired[rows], cadence[rows], np.nan)
    ids = span_ids(metres[rows], steps[rows], until)  # only rows judged: few
    judged = np.zeros(int(ids.max()) + 1, dtype=np.bool_)
    judged[ids[paired[rows]]] = True
    judged[0] = False
    inside = judged[ids]  # the minutes of every span holding a judged minute
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.where(inside, metres[rows], 0.0).sum(axis=1) / np.where(
            inside, steps[rows], 0.0
        ).sum(axis=1)
    limit = stride_limit(row_median(walked))
    out[rows] = _confirmed(row_median(stride), total, limit)
    return out


def bout_stride_ratio(
    metres: F64,
    steps: F64,
    cadence: F64,
    lo: int,
    hi: int,
    paired: Bool | None = None,
    until: int | None = None,
) -> F64:
    """``stride_ratio`` of each bout (a run of minutes with steps and distance, pausing at
    most a minute) touching bins ``[lo, hi)``, the worst per row: a spoofed stretch next to an
    honest walk in the same hour would otherwise hide behind the hour's median. A bout's totals
    are those of its span (``span_ids``: the bout with the minutes of only steps or only
    metres around it, ``until`` as there). ``paired``: the minutes with both, when the caller
    has them."""
    if paired is None:
        paired = (steps > 0) & (metres > 0)
    out = np.zeros(paired.shape[0])
    at = np.flatnonzero(paired)  # strides of the paired minutes only
    stride = metres.ravel()[at] / steps.ravel()[at]
    odd = (stride <= STRIDE_MIN) | (stride >= stride_limit(cadence.ravel()[at]))
    # a bout's median reaches a limit (a ratio of 1.0 fires) only if half its minutes (at
    # least 3) do
    odd_rows = at[odd] // paired.shape[1]
    enough = np.bincount(odd_rows, minlength=paired.shape[0]) >= (STRIDE_MIN_BINS + 1) // 2
    if not enough.all():
        if enough.any():
            out[enough] = bout_stride_ratio(
                metres[enough],
                steps[enough],
                cadence[enough],
                lo,
                hi,
                paired[enough],
                until,
            )
        return out
    rows, bins = paired.shape
    ids = bridged_runs(paired)
    n = int(ids.max()) + 1
    touching = np.zeros(n, dtype=np.bool_)
    touching[ids[:, lo:hi]] = True
    touching[0] = False
    sel = paired & touching[ids]
    bout = ids[sel]
    count = np.bincount(bout, minlength=n)
    total = np.bincount(bout, weights=steps[sel], minlength=n)
    ok = (count >= STRIDE_MIN_BINS) & (total >= STRIDE_MIN_STEPS)
    if not ok.any():
        return out
    stride = _group_median(bout, metres[sel] / steps[sel], count)
    walked = _group_median(bout, cadence[sel], count)
    span = span_ids(metres, steps, until)
    span_metres, span_steps = span_sums(span, metres, steps)
    of_bout = np.zeros(n, dtype=np.int64)  # each bout lies inside one span
    inside = span[sel]
    of_bout[bout[inside > 0]] = inside[inside > 0]  # (not its minutes in a look-ahead cut off)
    with np.errstate(divide="ignore", invalid="ignore"):
        span_stride: F64 = span_metres[of_bout] / span_steps[of_bout]
    ratio = _confirmed(stride, span_stride, stride_limit(walked))
    row_of = np.zeros(n, dtype=np.int64)
    row_of[ids.ravel()] = np.repeat(np.arange(rows), bins)
    np.maximum.at(out, row_of[ok], ratio[ok])
    return out


def speed_strides(speed: F64, steps: F64, cadence: F64, dist: F64, bin_s: int) -> Bool:
    """Minutes with no distance whose speed (``SPEED_STRIDE_SPEED`` or more) implies a step
    longer than ``stride_limit`` at their cadence: a ride logged as steps, its location sent
    as speed samples only. Minutes with distance are judged by their metres instead."""
    fast = (speed >= SPEED_STRIDE_SPEED) & (cadence >= STEPPING_CADENCE) & (dist <= 0.0)
    out: Bool = fast
    if fast.any():
        at = np.flatnonzero(fast)
        implied = speed.ravel()[at] * bin_s / steps.ravel()[at]
        out = np.zeros_like(fast)
        out.ravel()[at] = implied > stride_limit(cadence.ravel()[at])
    return out


def _group_median(group: npt.NDArray[np.int64], values: F64, count: npt.NDArray[np.int64]) -> F64:
    """Median of ``values`` per group id (``count`` per id; NaN for empty groups)."""
    ordered = values[np.lexsort((values, group))]
    starts = np.concatenate(([0], np.cumsum(count)[:-1]))
    top = max(ordered.shape[0] - 1, 0)
    lo = np.minimum(starts + (count - 1) // 2, top)
    hi = np.minimum(starts + count // 2, top)
    out: F64 = np.where(count > 0, (ordered[lo] + ordered[hi]) / 2.0, np.nan)
    return out


def row_median(values: F64) -> F64:
    """Median of each row ignoring NaN (every row has at least one number); ``np.nanmedian``
    goes through masked arrays and costs several times more."""
    ordered = np.sort(values, axis=1)  # NaN sort last
    count = np.count_nonzero(~np.isnan(values), axis=1)
    rows = np.arange(values.shape[0])
    lo = ordered[rows, (count - 1) // 2]
    hi = ordered[rows, count // 2]
    out: F64 = (lo + hi) / 2.0
    return out


def stride_limit(cadence: F64) -> F64:
    """Longest believable step (m) at a cadence: a walker's up to 130 steps/min, a runner's
    from 170 (long runs reach ~1.6 m, sprinters ~2.5 m), linear in between; and never shorter
    than a walk at ``WALKING_PACE`` needs with that many steps counted. A device that misses
    steps (a watch on an arm pushing a stroller or a cart) lengthens the apparent step, not the
    pace, and credits the user less; distance faked beyond what the steps cover is faster than
    a walk at any cadence above ``WALKING_PACE / STRIDE_MAX_WALK`` (90 a minute)."""
    share = np.clip((cadence - 130.0) / 40.0, 0.0, 1.0)
    human = STRIDE_MAX_WALK + share * (STRIDE_MAX_RUN - STRIDE_MAX_WALK)
    out: F64 = np.maximum(human, WALKING_PACE * 60.0 / np.maximum(cadence, STEPPING_CADENCE))
    return out
