"""Physical plausibility checks: limits no human body or phone in a pocket can break.

Each check turns a batch of windows into a ratio per window, ``measured / limit``: 1.0 is the
limit, so the ratio is directly a score on the detector's scale. The limits come from human
physiology and the sensors, not from any simulator; the margins are wide so that real runners,
hikers and treadmill users stay well below them (the Fitabase users' highest minute is 220 steps,
their steadiest 40 minutes vary by 2.6 %).

Each window is judged with its context (``stream.scoring.context``): stretches and runs are
measured across the previous window's tail and the look-ahead, and a finding counts for the
window when its bout (a run of active minutes, pausing at most a minute) reaches into it.
A finding whose bout also reaches back into the previous window's bins is reported as the
verdict's ``back`` (``back_ratios``): ``stream.scoring.retro`` may alert that window for it.

Reason codes (every code LifeUp emits; the README copies this table):

===============================  ======================================================  ========
code                             fires when (per window of the grid)                     source
===============================  ======================================================  ========
``cadence_above_human_limit``    a minute above 300 steps, 3 consecutive minutes all at  checks
                                 or above 240, or 10 all at or above 210 (elite sprint
                                 cadence is ~250-300 for seconds; elite 5 km racers
                                 hold ~190-200)
``cadence_without_variation``    a stretch of minutes of at least 40 steps each whose    checks
                                 minute counts vary (std/mean) by at most 0.7 % over 20
                                 minutes, 0.9 % over 30 or 1.3 % over 40, or from one
                                 minute to the next (successive differences) by at most
                                 0.5 % over 30 or 0.9 % over 40 (a slow drift allowed): a
                                 shaker or pedometer swing keeps a mechanical rhythm;
                                 the steadiest 20, 30 and 40 minutes of the 22 Fitabase
                                 users vary by 0.8 %, 1.4 % and 2.6 % (successively
                                 0.77 % over 30, 1.93 % over 40). A minute in
                                 which GPS speed shows the phone moving (1 m/s or
                                 more) breaks a stretch
``speed_above_human_limit``      3 or more minutes of stepping (20 steps or more: a      checks
                                 ride's few counted bumps are not walking) while speed
                                 is at least 7 m/s or distance at least 420 m (faster
                                 than a world-class 5 km): a vehicle logged as walking
``gps_teleport``                 a speed sample or one minute's distance at 42 m/s       checks
                                 (~150 km/h) or more, unless part of a journey (3
                                 minutes or more at 7 m/s without stepping: a fast
                                 train, a motorway); or, inside a walk (20 steps or
                                 more in the minute and both neighbours), a speed of
                                 25 m/s, 400 m more within three minutes than 2.5 m
                                 per step can cover, or 400 m more over up to 15
                                 walking minutes than the longest step at each
                                 minute's cadence can (a lost fix)
``distance_without_steps``       500 m or more logged at a human pace (no minute above   checks
                                 6.5 m/s: faster stretches are honest vehicle rides, as
                                 are the minutes a ride's counted bumps split off) in
                                 minutes with no step in or next to them (a phone sends
                                 no step points while it counts none). A bike ride
                                 logged as distance is flagged too: LifeUp credits
                                 walking and running
``steps_without_distance``       1,500 steps or more in minutes that distance points     checks
                                 cover but credit with under 0.1 m per step (minutes no
                                 distance point covers, e.g. a treadmill, do not count)
``stride_implausible``           over at least 5 minutes of stepping (20 steps or more)  checks
                                 with distance too, and 300 steps (the window's, or one
                                 bout's), the median metres per step is below 0.25 or
                                 above the longest human step at that cadence: 1.2 m
                                 walking (<= 130/min) rising to 2.5 m running
                                 (>= 170/min), and never shorter than a walk at 1.8 m/s
                                 needs with the steps counted (a watch missing steps
                                 behind a stroller lengthens the step, not the pace);
                                 or 3 minutes or more with no distance, at least 20
                                 steps and a speed of 2.5 m/s or more implying such a
                                 step, in runs of such minutes reaching into the window
                                 (a ride sending speed samples only)
``manual_entry``                 the window holds manually entered points (Health        checks
                                 Connect ``MANUAL_ENTRY``, Google Fit ``user_input``),
                                 also when they arrived after it closed
``replayed_activity``            three or more runs of 4 walking step points (values,    checks
                                 durations, gaps) repeat the user's recent history,
                                 all shifted by the same time (``stream.scoring.replay``)
``cadence_repeats_exactly``      26 or more minutes of at least 40 steps within 0.5 %    checks
                                 of one count in any 90 minutes of a bout of such
                                 minutes (pausing at most 2), one of them in the
                                 window: a timer-driven shaker returns to its rate
                                 after every pause; at most 22 in the 22 Fitabase users
``unusual_pattern_steps``        the autoencoder's reconstruction error is above its     model
``unusual_pattern_distance``     calibrated threshold; the suffix names the channel
``unusual_pattern_speed``        carrying the largest share of the error
===============================  ======================================================  ========
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from stream.grid import DEFAULT_GRID, GridSpec
from stream.points import CHANNEL_NAMES
from stream.scoring.base import WindowScore
from stream.scoring.context import extend, fill_speed, needs_context, reach, stack_context
from stream.scoring.features import F32, Bool, stack_windows
from stream.scoring.rides import STEPPING_CADENCE, rides, run_starts
from stream.windows import Window

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
# A timer-driven motor returns to one rate in every on-phase, whatever its pauses; a person's
# minute counts do not repeat to 0.5 % that often. Most such minutes in any 90: 22 in the 22
# Fitabase users, 19 in the simulator's normal days and legitimate-unusual bouts.
REPEAT_SPAN = 90  # minutes
REPEAT_TOLERANCE = 0.005  # of the count
REPEAT_MINUTES = 26
REPEAT_GAP = 2  # bins: a duty cycle's off phase (1-2 min) does not end its bout
REPEAT_CHUNK = 128  # rows per pairwise comparison ([rows, bins, bins] at a time)
REPEAT_FLOOR = 0.75  # of the limit: rows further from it score 0, ruled out by one sort
FLAG_SCORE = 2.0  # score of a yes/no finding (manual entry, replay)
MAX_RATIO = 100.0  # scores are capped: beyond 100x a limit, "how much" carries no meaning
ONE_PASS_ROWS = 256  # up to this many windows, quiet and context rows share one pass

CHECKS: tuple[str, ...] = (
    "cadence_above_human_limit",
    "cadence_without_variation",
    "speed_above_human_limit",
    "gps_teleport",
    "distance_without_steps",
    "steps_without_distance",
    "stride_implausible",
    "manual_entry",
    "replayed_activity",
    "cadence_repeats_exactly",
)

# Checks whose findings are bouts or stretches that can begin in the previous window, and so
# are carried back to it (``back_ratios``). Not ``gps_teleport`` (judged on the window's own
# minutes), ``manual_entry`` (the window's own points) or ``replayed_activity`` (judged with
# the neighbouring windows already, ``stream.scoring.replay``).
CARRIED = np.array(
    [
        c
        in {
            "cadence_above_human_limit",
            "cadence_without_variation",
            "speed_above_human_limit",
            "distance_without_steps",
            "steps_without_distance",
            "stride_implausible",
            "cadence_repeats_exactly",
        }
        for c in CHECKS
    ],
    dtype=np.bool_,
)

# A late window has no GPS to tell a steady runner outdoors from a motor (on time, a minute in
# which the phone moved breaks a steady stretch): its steady stretches must vary by half the
# limits above. Steadier than anyone's minute counts on record: the Fitabase users' steadiest 20
# minutes vary by 0.8 %, the simulator's long runs by ~1 %, which pass the on-time limits only
# because their GPS breaks the stretch (with the limits unchanged, 29 % of long runs delivered
# a day late were flagged: ``python -m model_export.eval.late_delivery``).
LATE_STEADY_FACTOR = 2.0
# What a window emitted again after it closed (``Window.after_close``: only points that arrived
# late, ``stream.late``) is judged by: findings that hold whatever else the hour held, because
# every channel they read arrived together. Not ``distance_without_steps`` (the hour's steps may
# have arrived on time), nor ``replayed_activity`` (judged as the points arrive, on time only).
AFTER_CLOSE_CHECKS = np.array(
    [
        c
        in {
            "cadence_above_human_limit",
            "cadence_without_variation",
            "speed_above_human_limit",
            "gps_teleport",
            "steps_without_distance",
            "stride_implausible",
            "manual_entry",
            "cadence_repeats_exactly",
        }
        for c in CHECKS
    ],
    dtype=np.bool_,
)
_STEADY = CHECKS.index("cadence_without_variation")

# Which channels each finding implicates (steps, distance, speed); None = the channels present.
_ATTRIBUTION: dict[str, tuple[float, float, float] | None] = {
    "cadence_above_human_limit": (1.0, 0.0, 0.0),
    "cadence_without_variation": (1.0, 0.0, 0.0),
    "speed_above_human_limit": (0.0, 0.5, 0.5),
    "gps_teleport": (0.0, 0.5, 0.5),
    "distance_without_steps": (0.0, 1.0, 0.0),
    "steps_without_distance": (1.0, 0.0, 0.0),
    "stride_implausible": (0.5, 0.5, 0.0),
    "manual_entry": None,
    "replayed_activity": None,
    "cadence_repeats_exactly": (1.0, 0.0, 0.0),
}

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
    for held, limit in zip(_rolling_mins(cadence), CADENCE_TIERS, strict=False):
        inside = np.where(touch[:, : held.shape[1]], held, 0.0)
        top = inside.max(axis=1, initial=0.0).astype(np.float64)  # float32 rows: exact
        np.maximum(out, top / limit[1], out=out)
    return out


def _rolling_mins(cadence: FloatRows) -> list[FloatRows]:
    """Per ``CADENCE_TIERS`` tier of ``k`` minutes, ``held[:, t]`` = the lowest cadence of
    minutes ``t .. t+k-1`` (tiers longer than the row are left out). Minima of minima are
    exact, so spans are doubled (1, 2, 3, 4, 8, 10: five passes) rather than grown one minute
    at a time (nine)."""
    bins = cadence.shape[1]
    if CADENCE_TIERS != ((1, 300.0), (3, 240.0), (10, 210.0)) or bins < 10:
        return _rolling_mins_stepwise(cadence)
    two = np.minimum(cadence[:, :-1], cadence[:, 1:])
    three = np.minimum(two[:, :-1], cadence[:, 2:])
    four = np.minimum(two[:, :-2], two[:, 2:])
    eight = np.minimum(four[:, :-4], four[:, 4:])
    ten = np.minimum(eight[:, :-2], two[:, 8:])
    return [cadence, three, ten]


def _rolling_mins_stepwise(cadence: FloatRows) -> list[FloatRows]:
    """``_rolling_mins`` grown one minute at a time: any tiers, any row length (the reference
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


def _near(active: Bool) -> Bool:
    """True where the bin or a neighbour is active: tolerates a point landing one bin off."""
    near = active.copy()
    near[:, 1:] |= active[:, :-1]
    near[:, :-1] |= active[:, 1:]
    return near


def _walking(stepping: Bool) -> Bool:
    """Stepping minutes (``STEPPING_CADENCE``) with stepping minutes on both sides (the row's
    ends have no known sides)."""
    walking = stepping.copy()
    walking[:, 1:] &= stepping[:, :-1]
    walking[:, :-1] &= stepping[:, 1:]
    walking[:, 0] = walking[:, -1] = False
    return walking


def _spikes(dist: F64, steps: F64, lo: int, hi: int, walking: Bool | None = None) -> F64:
    """Teleport jumps inside a walk: metres beyond the longest human step (``STRIDE_MAX_RUN``
    per step counted) in stepping minutes with stepping minutes on both sides, summed over
    three neighbouring minutes (a jump is often split across two) around a minute of
    ``[lo, hi)`` that holds part of it, divided by ``SPIKE_DISTANCE``.
    A car's fast minutes count a few bumps at most, not stepping, so they never count, nor does
    the minute a walk turns into a ride. Only rows with some excess are summed (few are);
    ``walking`` is ``_walking(steps >= STEPPING_CADENCE)`` when the caller has it."""
    if walking is None:
        walking = _walking(steps >= STEPPING_CADENCE)
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


def _lost_fix(dist: F64, steps: F64, cadence: F64, lo: int, hi: int, walking: Bool) -> F64:
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
    walking = walking[:, :hi].copy()  # as ``_walking(stepping[:, :hi])``: the row now ends there
    walking[:, hi - 1] = False
    excess = np.where(walking, dist - stride_limit(cadence) * steps, 0.0)
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


def _human_pace_distance(dist: F64, stepless: Bool, bin_s: int, lo: int, hi: int) -> F64:
    """Metres logged without steps at a pace a person could walk or run (a spoofed route).

    Stretches of consecutive stepless minutes whose fastest minute exceeds ``HUMAN_PACE`` are a
    vehicle ride, honestly logged, and do not count; nor do stretches outside bins ``[lo, hi)``.
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
    if human.any():
        row_of = at[first] // bins
        out += np.bincount(row_of[human], weights=metres[human], minlength=rows)
    return out


def _stride_ratio(metres: F64, steps: F64, cadence: F64, paired: Bool | None = None) -> F64:
    """How far the median metres per step of the minutes with both lie outside the human range
    for their cadence (``stride_limit``); 0 with too few such minutes to judge.

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
    median = _row_median(stride)
    limit = stride_limit(_row_median(walked))
    out[rows] = np.maximum(median / limit, STRIDE_MIN / median)
    return out


def _bout_stride_ratio(
    metres: F64, steps: F64, cadence: F64, lo: int, hi: int, paired: Bool | None = None
) -> F64:
    """``_stride_ratio`` of each bout (a run of minutes with steps and distance, pausing at
    most a minute) touching bins ``[lo, hi)``, the worst per row: a spoofed stretch next to an
    honest walk in the same hour would otherwise hide behind the hour's median.
    ``paired``: the minutes with both, when the caller has them."""
    if paired is None:
        paired = (steps > 0) & (metres > 0)
    out = np.zeros(paired.shape[0])
    at = np.flatnonzero(paired)  # strides of the paired minutes only
    stride = metres.ravel()[at] / steps.ravel()[at]
    odd = (stride < STRIDE_MIN) | (stride > stride_limit(cadence.ravel()[at]))
    # a bout's median lies outside the range only if half its minutes (at least 3) do
    odd_rows = at[odd] // paired.shape[1]
    enough = np.bincount(odd_rows, minlength=paired.shape[0]) >= (STRIDE_MIN_BINS + 1) // 2
    if not enough.all():
        if enough.any():
            out[enough] = _bout_stride_ratio(
                metres[enough], steps[enough], cadence[enough], lo, hi, paired[enough]
            )
        return out
    rows, bins = paired.shape
    left, right = paired.copy(), paired.copy()
    left[:, 1:] |= paired[:, :-1]
    right[:, :-1] |= paired[:, 1:]
    bridged = left & right
    begins = bridged.copy()
    begins[:, 1:] &= ~bridged[:, :-1]
    ids = np.where(bridged, np.cumsum(begins.ravel()).reshape(rows, bins), 0)
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
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(stride / stride_limit(walked), STRIDE_MIN / stride)
    row_of = np.zeros(n, dtype=np.int64)
    row_of[ids.ravel()] = np.repeat(np.arange(rows), bins)
    np.maximum.at(out, row_of[ok], ratio[ok])
    return out


def _speed_strides(speed: F64, steps: F64, cadence: F64, dist: F64, bin_s: int) -> Bool:
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


def _row_median(values: F64) -> F64:
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


def check_ratios(
    values: F32,
    masks: Bool,
    manual_points: npt.NDArray[np.int64],
    repeats: Bool,
    grid: GridSpec = DEFAULT_GRID,
    before: F32 | None = None,
    after: F32 | None = None,
) -> F64:
    """``[batch, len(CHECKS)]`` ratios measured/limit; ``>= 1`` means the check fires.

    ``before``/``after`` (``stream.scoring.context.stack_context``) are the bins around each
    window: stretches and runs are measured across them, and count when they reach into the
    window. Rows whose edges are quiet are judged without it (the same answer, cheaper): apart
    from the others in a large batch (fewer bins), in the same pass with their context blanked
    in a small one (fewer numpy calls)."""
    gap = grid.speed_gap_s // grid.bin_s
    if before is None or after is None or not before.shape[2] + after.shape[2]:
        return _ratios(values, masks, manual_points, repeats, grid, before, after)
    near = needs_context(values, masks, before, after, gap + 1)
    if near.all():
        return _ratios(values, masks, manual_points, repeats, grid, before, after)
    if values.shape[0] <= ONE_PASS_ROWS and _whole_steps(values[~near]):
        # One pass, the quiet rows' context blanked and left unfilled: judged as alone. Zeros
        # around a window change no finding and, with whole steps, no sum's bits; a small
        # batch (a request's day) costs numpy calls more than bins.
        quiet = ~near
        before, after = before.copy(), after.copy()
        before[quiet] = np.nan
        after[quiet] = np.nan
        return _ratios(values, masks, manual_points, repeats, grid, before, after, near)
    out = np.empty((values.shape[0], len(CHECKS)), dtype=np.float64)
    alone = ~near
    out[alone] = _ratios(values[alone], masks[alone], manual_points[alone], repeats[alone], grid)
    if near.any():
        out[near] = _ratios(
            values[near],
            masks[near],
            manual_points[near],
            repeats[near],
            grid,
            before[near],
            after[near],
        )
    return out


def _whole_steps(values: F32) -> bool:
    """True when every step count is a whole number (always, from the buffer)."""
    steps = values[:, 0, :]
    return bool(np.array_equal(steps, np.round(steps)))


def _ratios(
    values: F32,
    masks: Bool,
    manual_points: npt.NDArray[np.int64],
    repeats: Bool,
    grid: GridSpec,
    before: F32 | None = None,
    after: F32 | None = None,
    fill: Bool | None = None,
    back: bool = False,
) -> F64:
    """``check_ratios`` of rows all judged the same way: with whatever context is given
    (speed filled across it in ``fill`` rows, default all). With ``back``, each bout-based
    check counts only bouts that also reach into ``before`` (``back_ratios``); the others
    give 0."""
    n = values.shape[0]
    ext: F32
    ext_masks: Bool
    if (before is None or not before.shape[2]) and (after is None or not after.shape[2]):
        # no context: the rows are the windows (read only; nothing to fill)
        ext, ext_masks, lo, hi = values.astype(np.float32, copy=False), masks, 0, values.shape[2]
    else:
        empty = np.zeros((n, 3, 0), dtype=np.float32)
        ext, ext_masks, lo, hi = extend(
            values, masks, empty if before is None else before, empty if after is None else after
        )
        if after is not None and after.shape[2]:
            fill_speed(ext, ext_masks, grid.speed_gap_s // grid.bin_s, fill)
    per_min = 60.0 / grid.bin_s
    steps = ext[:, 0, :].astype(np.float64)
    dist = ext[:, 1, :].astype(np.float64)
    speed = np.where(ext_masks[:, 2, :], ext[:, 2, :], 0.0).astype(np.float64)
    cadence = steps if per_min == 1.0 else steps * per_min  # x * 1.0 == x, bit for bit
    moving = steps > 0
    out = np.zeros((n, len(CHECKS)), dtype=np.float64)

    bouts = _touching(moving, lo, hi, back)  # minutes of the bouts reaching into the window
    out[:, 0] = cadence_ratio(ext[:, 0, :] if per_min == 1.0 else cadence, lo, hi, bouts)

    moving_gps = ext_masks[:, 2, :] & (ext[:, 2, :] >= STILL_SPEED)
    # shared with the repeated-rate rule; a minute whose steps a long point spread evenly
    # (steps mask False, ``stream.buffer.LONG_POINT_NS``) shows no rhythm of its own
    active = (cadence >= STEADY_MIN_CADENCE) & ext_masks[:, 0, :]
    out[:, 1] = steady_ratio(cadence, lo, hi, moving_gps, bouts, active)

    # a handful of steps in a ride is a phone's (or a watch's) bumps, not walking: the rules
    # about where steps went (a vehicle, a jump inside a walk, the stride) count minutes of
    # ``STEPPING_CADENCE`` or more
    stepping = cadence >= STEPPING_CADENCE
    fast = stepping & ((speed >= VEHICLE_SPEED) | (dist >= VEHICLE_SPEED * grid.bin_s))
    out[:, 2] = _touching(fast, lo, hi, back).sum(axis=1) / VEHICLE_BINS

    if not back:  # judged on the window's own minutes: never carried
        walking = _walking(stepping)
        # a jump, not a journey: sustained travel without stepping (a fast train, a motorway)
        # is a ride, and a ride credits no steps
        journey = rides(
            (dist > 0) | (speed > 0),
            (dist >= VEHICLE_SPEED * grid.bin_s) | (speed >= VEHICLE_SPEED),
            stepping,
            JOURNEY_MINUTES,
        )[:, lo:hi]
        out[:, 3] = np.maximum.reduce(
            [
                np.where(journey, 0.0, dist[:, lo:hi]).max(axis=1) / (TELEPORT_SPEED * grid.bin_s),
                np.where(journey, 0.0, speed[:, lo:hi]).max(axis=1) / TELEPORT_SPEED,
                np.where(walking[:, lo:hi], speed[:, lo:hi], 0.0).max(axis=1) / WALK_JUMP_SPEED,
                _spikes(dist, steps, lo, hi, walking),
                _lost_fix(dist, steps, cadence, lo, hi, walking),
            ]
        )

    ride = rides(dist > 0, dist > HUMAN_PACE * grid.bin_s, stepping, 1)
    stepless = (dist > 0) & ~_near(moving) & ~ride
    if back:  # stretches are runs of stepless minutes with no pause
        stepless &= reach(stepless, 0, lo, gap=0)
    walked_no_steps = _human_pace_distance(dist, stepless, grid.bin_s, lo, hi)
    out[:, 4] = walked_no_steps / STEPLESS_DISTANCE

    # Only minutes that distance data cover: a treadmill sends no distance at all, which is
    # honest; a source that covers the walk yet reports (almost) nothing is not.
    covered = ext_masks[:, 1, :] & moving & (dist < steps * STRIDE_MIN * 0.4)
    distanceless = np.where(_touching(covered, lo, hi, back), steps, 0.0).sum(axis=1)
    out[:, 5] = distanceless / DISTANCELESS_STEPS

    both = stepping & (dist > 0)
    if back:  # bouts pausing at most a minute, as ``_bout_stride_ratio`` joins them
        both &= reach(both, 0, lo)
    paired = reach(both, lo, hi)
    out[:, 6] = np.maximum(
        _stride_ratio(dist, steps, cadence, paired),
        _bout_stride_ratio(dist, steps, cadence, lo, hi, both),
    )
    sped = np.flatnonzero(speed.max(axis=1) >= SPEED_STRIDE_SPEED)  # one pass: most have none
    if sped.size:
        odd = _speed_strides(speed[sped], steps[sped], cadence[sped], dist[sped], grid.bin_s)
        some = np.count_nonzero(odd, axis=1) >= SPEED_STRIDE_BINS
        if some.any():  # rows with enough implausible minutes to judge (few)
            found = _touching(odd[some], lo, hi, back).sum(axis=1) / SPEED_STRIDE_BINS
            out[sped[some], 6] = np.maximum(out[sped[some], 6], found)

    if not back:
        out[:, 7] = np.where(manual_points > 0, FLAG_SCORE, 0.0)
        out[:, 8] = np.where(repeats, FLAG_SCORE, 0.0)

    n_active = np.count_nonzero(active, axis=1)
    busy = np.flatnonzero(n_active >= REPEAT_MINUTES)
    if busy.size:  # few rows hold enough active minutes, fewer any that repeat
        busy = busy[_tight(np.where(active[busy], cadence[busy], np.nan))]
    if busy.size:  # bouts of active minutes: a walk after a typed-in hour is not part of it
        joined = _touching_gap(active[busy], lo, hi, back, REPEAT_GAP)
        own = (0, lo) if back else (lo, hi)  # where the repeated minutes must reach
        out[busy, 9] = repeat_ratio(np.where(joined, cadence[busy], 0.0), *own)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=MAX_RATIO, neginf=0.0), 0.0, MAX_RATIO)


def _touching(active: Bool, lo: int, hi: int, back: bool) -> Bool:
    """``reach(active, lo, hi)``; with ``back``, only runs that also reach into ``[0, lo)``."""
    joined = reach(active, lo, hi)
    if back:
        joined &= reach(active, 0, lo)
    return joined


def _touching_gap(active: Bool, lo: int, hi: int, back: bool, gap: int) -> Bool:
    """``_touching`` with runs pausing up to ``gap`` bins."""
    joined = reach(active, lo, hi, gap)
    if back:
        joined &= reach(active, 0, lo, gap)
    return joined


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


def _tight(values: F64) -> Bool:
    """Rows where some ``REPEAT_FLOOR x REPEAT_MINUTES`` values (NaN: none) lie within a ratio
    of ``(1 + tol) / (1 - tol)`` of each other: necessary for that many to lie within ``tol``
    of one of them, and one sort per row, so walks (their counts spread over tens of values)
    are ruled out before the pairwise count."""
    ordered = np.sort(values, axis=1)  # NaN last; comparisons with NaN are False
    k = int(np.ceil(REPEAT_FLOOR * REPEAT_MINUTES)) - 1
    spread = (1.0 + REPEAT_TOLERANCE) / (1.0 - REPEAT_TOLERANCE) * (1.0 + 1e-9)
    out: Bool = np.asarray((ordered[:, k:] <= ordered[:, :-k] * spread).any(axis=1))
    return out


def back_ratios(
    ratios: F64,
    values: F32,
    masks: Bool,
    before: F32,
    after: F32,
    grid: GridSpec = DEFAULT_GRID,
) -> F64:
    """Per window and check, the ratio of the findings whose bout reaches back into ``before``
    (the previous window's bins): 0 but for rows where a ``CARRIED`` check fires and
    ``before`` holds steps or distance, which are measured again, bouts restricted to those
    that touch both. Alerts are rare, so this costs the batch nearly nothing."""
    out = np.zeros_like(ratios)
    if not before.shape[2]:
        return out
    fired = np.flatnonzero((ratios[:, CARRIED] >= 1.0).any(axis=1))
    if fired.size == 0:
        return out
    rows = fired[(before[fired, :2, :] > 0).any(axis=(1, 2))]  # NaN > 0 is False
    if rows.size == 0:
        return out
    none = np.zeros(rows.size, dtype=np.int64)
    out[rows] = _ratios(
        values[rows], masks[rows], none, none > 0, grid, before[rows], after[rows], back=True
    )
    return out


def back_findings(ratios: F64, back: F64) -> list[tuple[float, tuple[str, ...]] | None]:
    """Per window, what it carries back to the previous one: the top ratio and the codes of
    the ``CARRIED`` checks that fire both for the window and on bouts reaching into the
    previous window (``back_ratios``), highest first; None when nothing does."""
    out: list[tuple[float, tuple[str, ...]] | None] = [None] * ratios.shape[0]
    if not back.any():  # nearly every batch
        return out
    carried = np.where((ratios >= 1.0) & (back >= 1.0), back, 0.0)
    carried[:, ~CARRIED] = 0.0
    for i in np.flatnonzero(carried.max(axis=1, initial=0.0) >= 1.0).tolist():
        fired = np.flatnonzero(carried[i] >= 1.0)
        order = fired[np.argsort(-carried[i, fired], kind="stable")]
        out[i] = (float(carried[i].max()), tuple(CHECKS[j] for j in order.tolist()))
    return out


def with_back(
    verdicts: list[WindowScore], found: list[tuple[float, tuple[str, ...]] | None]
) -> list[WindowScore]:
    """The verdicts, each carrying its ``back_findings`` (channels: the verdict's own)."""
    return [
        v if f is None else replace(v, back=WindowScore(f[0], dict(v.channels), f[1]))
        for v, f in zip(verdicts, found, strict=True)
    ]


def channel_shares(check: int, present: Bool) -> tuple[float, float, float]:
    """Channel shares of one finding for one window (``present``: channels with data)."""
    fixed = _ATTRIBUTION[CHECKS[check]]
    if fixed is not None:
        return fixed
    count = int(present.sum())
    if count == 0:
        return (1 / 3, 1 / 3, 1 / 3)
    s, d, v = (round(float(p) / count, 4) for p in present.tolist())
    return (s, d, v)


def summarise(ratios: F64) -> tuple[F64, npt.NDArray[np.intp], list[tuple[str, ...]]]:
    """Top ratio and its check per window, and the codes that fire (highest ratio first)."""
    top = ratios.argmax(axis=1)
    best = ratios[np.arange(ratios.shape[0]), top]
    reasons: list[tuple[str, ...]] = [()] * ratios.shape[0]
    for i in np.flatnonzero(best >= 1.0).tolist():
        fired = np.flatnonzero(ratios[i] >= 1.0)
        order = fired[np.argsort(-ratios[i, fired], kind="stable")]
        reasons[i] = tuple(CHECKS[j] for j in order.tolist())
    return best, top, reasons


def top_shares(top: npt.NDArray[np.intp], present: Bool) -> list[tuple[float, float, float]]:
    """``channel_shares`` of each window's top check: a batch has at most ``len(CHECKS)`` x 8
    distinct answers, so each is worked out once and looked up per window."""
    codes = top * 8 + present[:, 0] * 4 + present[:, 1] * 2 + present[:, 2]
    unique, inverse = np.unique(codes, return_inverse=True)
    table = [
        channel_shares(int(c) >> 3, np.array([c & 4, c & 2, c & 1], dtype=np.bool_))
        for c in unique.tolist()
    ]
    return [table[j] for j in inverse.ravel().tolist()]


def verdicts(ratios: F64, masks: Bool) -> list[WindowScore]:
    """One ``WindowScore`` per row of ``check_ratios``: the top ratio, codes of all that fire."""
    best, top, reasons = summarise(ratios)
    shares = top_shares(top, np.asarray(masks.any(axis=2)))
    steps, distance, speed = CHANNEL_NAMES
    out: list[WindowScore] = []
    for score, why, (s, d, v) in zip(best.tolist(), reasons, shares, strict=True):
        if not score > 0.0:
            s = d = v = 0.0
        out.append(WindowScore(score, {steps: s, distance: d, speed: v}, why))
    return out


def window_ratios(windows: Sequence[Window], grid: GridSpec = DEFAULT_GRID) -> tuple[F64, Bool]:
    """``check_ratios`` for ``Window`` objects; also returns the stacked masks."""
    values, masks = stack_windows(windows)
    return window_ratios_of(windows, values, masks, grid), masks


def window_ratios_of(
    windows: Sequence[Window], values: F32, masks: Bool, grid: GridSpec = DEFAULT_GRID
) -> F64:
    """``check_ratios`` of windows whose values and masks are already stacked."""
    return window_findings(windows, values, masks, grid)[0]


def window_findings(
    windows: Sequence[Window], values: F32, masks: Bool, grid: GridSpec = DEFAULT_GRID
) -> tuple[F64, list[tuple[float, tuple[str, ...]] | None]]:
    """``check_ratios`` and ``back_findings`` of windows whose values and masks are stacked."""
    manual = np.fromiter((w.manual_points for w in windows), dtype=np.int64, count=len(windows))
    repeats = np.fromiter((w.repeats_earlier for w in windows), dtype=np.bool_, count=len(windows))
    before, after = stack_context(windows)
    ratios = check_ratios(values, masks, manual, repeats, grid, before, after)
    back = back_ratios(ratios, values, masks, before, after, grid)
    found = back_findings(ratios, back)
    late = np.fromiter((w.after_close for w in windows), dtype=np.bool_, count=len(windows))
    if late.any():  # judged by what holds without the rest of the hour, carried back to nothing
        ratios[np.ix_(late, ~AFTER_CLOSE_CHECKS)] = 0.0
        ratios[late, _STEADY] /= LATE_STEADY_FACTOR
        for i in np.flatnonzero(late).tolist():
            found[i] = None
    return ratios, found


class PlausibilityScorer:
    """The physical checks as a ``WindowScorer``: alerts on their own, no model needed."""

    name = "plausibility"

    def __init__(self, grid: GridSpec = DEFAULT_GRID) -> None:
        self.grid = grid

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        if not windows:
            return []
        values, masks = stack_windows(windows)
        ratios, found = window_findings(windows, values, masks, self.grid)
        return with_back(verdicts(ratios, masks), found)
