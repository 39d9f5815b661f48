"""Physical plausibility checks: limits no human body or phone in a pocket can break.

Each check turns a batch of windows into a ratio per window, ``measured / limit``: 1.0 is the
limit, so the ratio is directly a score on the detector's scale. The limits come from human
physiology and the sensors, not from any simulator; the margins are wide so that real runners,
hikers and treadmill users stay well below them (the Fitabase users' highest minute is 220 steps,
their steadiest 40 minutes vary by 2.6 %). The measurements and their limits live in
``stream.scoring.checks`` (``rhythm``, ``stride``, ``movement``); this module runs them over a
batch, with each window's context, and turns the ratios into verdicts.

Each window is judged with its context (``stream.scoring.context``): stretches and runs are
measured across the previous window's tail and the look-ahead, and a finding counts for the
window when its bout (a run of active minutes, pausing at most a minute) reaches into it.
A finding whose bout also reaches back into the previous window's bins is reported as the
verdict's ``back`` (``back_ratios``): ``stream.scoring.retro`` may alert that window for it.

The distance checks read metres measured minute by minute: those of a distance point of 30
minutes or more (``stream.buffer.LONG_DISTANCE_POINT_NS``, an hour's or a day's total) belong
to no minute and are not judged against the steps.

Reason codes (every code LifeUp emits; the README copies this table):

===============================  ======================================================  ========
code                             fires when (per window of the grid)                     source
===============================  ======================================================  ========
``cadence_above_human_limit``    a minute of 300 steps or more, 3 consecutive minutes at checks
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
                                 ride's few counted bumps are not walking) while
                                 distance is at least 420 m (faster than a world-class
                                 5 km) or, in minutes without distance, speed at least
                                 7 m/s: a vehicle logged as walking (a minute's metres
                                 outweigh a speed sample, which a GPS glitch can make)
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
                                 walking and running. Where the span of those minutes
                                 holds stepping minutes, only metres beyond what its
                                 steps can cover at the longest human step count (a
                                 walk's metres spread from a several-minute point)
``steps_without_distance``       1,500 steps or more in minutes that distance points     checks
                                 cover but credit with under 0.1 m per step (minutes no
                                 distance point covers, e.g. a treadmill, do not count)
``stride_implausible``           over at least 5 minutes of stepping (20 steps or more)  checks
                                 with distance too, and 300 steps (the window's, or one
                                 bout's), the median metres per step is 0.25 or less, or
                                 above the longest human step at that cadence: 1.2 m
                                 walking (<= 130/min) rising to 2.5 m running
                                 (>= 170/min), and never shorter than a walk at 1.8 m/s
                                 needs with the steps counted (a watch missing steps
                                 behind a stroller lengthens the step, not the pace),
                                 and the total metres over total steps of the spans
                                 around those minutes (runs of minutes with steps or
                                 distance) say so too: a distance point of several
                                 minutes is spread evenly, whatever the steps in each;
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
from stream.scoring.checks.movement import (
    HUMAN_PACE,
    JOURNEY_MINUTES,
    STEPLESS_DISTANCE,
    TELEPORT_SPEED,
    VEHICLE_BINS,
    VEHICLE_SPEED,
    WALK_JUMP_SPEED,
    human_pace_distance,
    lost_fix,
    near,
    spikes,
    walking_minutes,
)
from stream.scoring.checks.rhythm import (
    REPEAT_GAP,
    REPEAT_MINUTES,
    STEADY_MIN_CADENCE,
    STILL_SPEED,
    cadence_ratio,
    repeat_ratio,
    steady_ratio,
    tight,
)
from stream.scoring.checks.stride import (
    DISTANCELESS_STEPS,
    SPEED_STRIDE_BINS,
    SPEED_STRIDE_SPEED,
    STRIDE_MIN,
    bout_stride_ratio,
    speed_strides,
    stride_ratio,
)
from stream.scoring.context import extend, fill_speed, needs_context, reach, stack_context
from stream.scoring.features import F32, Bool, stack_windows
from stream.scoring.rides import STEPPING_CADENCE, rides
from stream.windows import Window

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

# A late window holds only the points that came late: a watch's steps synced after the run lack
# the phone's GPS that came on time, and on time a minute in which GPS saw the phone moving
# breaks a steady stretch (the simulator's long runs vary by ~1 %, and pass only because their
# GPS breaks it). So the minutes the hour's on-time GPS saw moving (``Window.moved``) break the
# late window's stretches too, and the limits are the on-time ones. Until 2026-12-08 a late
# window's steady stretch had to vary by half the limits instead (29 % of long runs delivered
# a day late were flagged with the on-time limits and no such minutes), which let late shakers
# pass: real ``shaker_slow_drift`` 5 %, ``shaker_night`` 11 % window recall delivered a day
# late (``python -m model_export.eval.late_delivery``).
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
# What a provisional after-close window (``Window.provisional``: an hour of a backlog still
# arriving, ``stream.late``) is judged by: the rhythm of its steps and manual entry, which the
# points still to come cannot undo. The stride, speed and teleport checks read a minute against
# the minutes after it (a ride's journey, a walk's lost fix), and those have not come yet: on
# the legitimate-unusual benchmark delivered a day late in the phone's own messages, judging
# them before the rest of the hour arrived flagged 6 car rides' hours as walks
# (``python -m model_export.eval.late_delivery``, 2026-12-08).
PROVISIONAL_CHECKS = np.array(
    [
        c
        in {
            "cadence_above_human_limit",
            "cadence_without_variation",
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
    # metres measured minute by minute: a long distance point's metres, spread evenly over its
    # bins (mask False, ``stream.buffer.LONG_DISTANCE_POINT_NS``), belong to no minute of it
    dist = ext[:, 1, :].astype(np.float64)
    unplaced = (dist > 0.0) & ~ext_masks[:, 1, :]
    placed = steps
    if unplaced.any():
        dist[unplaced] = 0.0
        # ...nor do the steps beside them count against the metres of a span (``span_ids``):
        # the span ends where the metres can no longer be placed
        placed = np.where(unplaced, 0.0, steps)
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
    # A minute with distance is judged by its metres: a GPS glitch of one speed sample,
    # interpolated, spans several minutes that the metres show walked (as ``speed_strides``)
    fast = stepping & np.where(dist > 0, dist >= VEHICLE_SPEED * grid.bin_s, speed >= VEHICLE_SPEED)
    out[:, 2] = _touching(fast, lo, hi, back).sum(axis=1) / VEHICLE_BINS

    if not back:  # judged on the window's own minutes: never carried
        walking = walking_minutes(stepping)
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
                spikes(dist, steps, lo, hi, walking),
                lost_fix(dist, steps, cadence, lo, hi, walking),
            ]
        )

    ride = rides(dist > 0, dist > HUMAN_PACE * grid.bin_s, stepping, 1)
    stepless = (dist > 0) & ~near(moving) & ~ride
    if back:  # stretches are runs of stepless minutes with no pause
        stepless &= reach(stepless, 0, lo, gap=0)
    walked_no_steps = human_pace_distance(dist, stepless, grid.bin_s, lo, hi, placed, cadence)
    out[:, 4] = walked_no_steps / STEPLESS_DISTANCE

    # Only minutes that distance data cover: a treadmill sends no distance at all, which is
    # honest; a source that covers the walk yet reports (almost) nothing is not.
    covered = ext_masks[:, 1, :] & moving & (dist < steps * STRIDE_MIN * 0.4)
    distanceless = np.where(_touching(covered, lo, hi, back), steps, 0.0).sum(axis=1)
    out[:, 5] = distanceless / DISTANCELESS_STEPS

    both = stepping & (dist > 0)
    if back:  # bouts pausing at most a minute, as ``bout_stride_ratio`` joins them
        both &= reach(both, 0, lo)
    paired = reach(both, lo, hi)
    out[:, 6] = np.maximum(  # spans end with the window: the look-ahead is not summed
        stride_ratio(dist, placed, cadence, paired, hi),
        bout_stride_ratio(dist, placed, cadence, lo, hi, both, hi),
    )
    sped = np.flatnonzero(speed.max(axis=1) >= SPEED_STRIDE_SPEED)  # one pass: most have none
    if sped.size:
        odd = speed_strides(speed[sped], steps[sped], cadence[sped], dist[sped], grid.bin_s)
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
        busy = busy[tight(np.where(active[busy], cadence[busy], np.nan))]
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
        moved = [i for i in np.flatnonzero(late).tolist() if windows[i].moved]
        if moved:
            v, m = _with_moved(windows, moved, values, masks)
            ratios[moved, _STEADY] = check_ratios(
                v,
                m,
                manual[moved],
                repeats[moved],
                grid,
                None if before is None else before[moved],
                None if after is None else after[moved],
            )[:, _STEADY]
        ratios[np.ix_(late, ~AFTER_CLOSE_CHECKS)] = 0.0
        for i in np.flatnonzero(late).tolist():
            found[i] = None
        early = np.fromiter((w.provisional for w in windows), np.bool_, count=len(windows))
        if early.any():
            ratios[np.ix_(early, ~PROVISIONAL_CHECKS)] = 0.0
    return ratios, found


def _with_moved(
    windows: Sequence[Window], rows: list[int], values: F32, masks: Bool
) -> tuple[F32, Bool]:
    """``rows`` of ``values`` and ``masks`` with the minutes their hour's GPS saw moving on time
    (``Window.moved``) as moving speed, for the steady rule alone: they break its stretches as
    the late points' own GPS would; the other checks judge the speed the late points carry."""
    v, m = values[rows].copy(), masks[rows].copy()
    for k, i in enumerate(rows):
        bits = windows[i].moved
        on = [b for b in range(v.shape[2]) if bits >> b & 1]
        v[k, 2, on] = np.maximum(np.where(m[k, 2, on], v[k, 2, on], 0.0), STILL_SPEED)
        m[k, 2, on] = True
    return v, m


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
