"""Physical plausibility checks: limits no human body or phone in a pocket can break.

Each check turns a batch of windows into a ratio per window, ``measured / limit``: 1.0 is the
limit, so the ratio is directly a score on the detector's scale. The limits come from human
physiology and the sensors, not from any simulator; the margins are wide so that real runners,
hikers and treadmill users stay well below them (the Fitabase users' highest minute is 220 steps,
their steadiest 20 minutes vary by 0.8 %).

Reason codes (every code LifeUp emits; the README copies this table):

===============================  ======================================================  ========
code                             fires when (per window of the grid)                     source
===============================  ======================================================  ========
``cadence_above_human_limit``    a minute above 300 steps, or 3 consecutive minutes      checks
                                 all at or above 240 steps (elite sprint cadence is
                                 ~250-300 and lasts seconds, not minutes)
``cadence_without_variation``    20 consecutive minutes of at least 40 steps each whose  checks
                                 minute counts vary by at most 0.7 % (coefficient of
                                 variation): a shaker or pedometer swing keeps a
                                 mechanical rhythm; the steadiest 20 minutes of the 22
                                 Fitabase users vary by 0.8 %
``speed_above_human_limit``      3 or more minutes in which steps are counted while      checks
                                 speed is at least 7 m/s or distance at least 420 m
                                 (faster than a world-class 5 km): a vehicle logged as
                                 walking
``gps_teleport``                 one minute covering 3 km or more, or a speed sample     checks
                                 of 55 m/s (~200 km/h) or more
``distance_without_steps``       500 m or more logged in minutes with no step in or      checks
                                 next to them, while the window has step data
``steps_without_distance``       1,500 steps or more in minutes with no distance in or   checks
                                 next to them, while the window has distance data
``stride_implausible``           over minutes with both steps and distance (at least     checks
                                 500 steps), metres per step above 2.5 or below 0.25
``manual_entry``                 the window holds manually entered points (Health        checks
                                 Connect ``MANUAL_ENTRY``, Google Fit ``user_input``)
``replayed_activity``            the window's activity repeats one of the user's recent  checks
                                 windows exactly (``stream.scoring.replay``)
``unusual_pattern_steps``        the autoencoder's reconstruction error is above its     model
``unusual_pattern_distance``     calibrated threshold; the suffix names the channel
``unusual_pattern_speed``        carrying the largest share of the error
===============================  ======================================================  ========
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stream.grid import DEFAULT_GRID, GridSpec
from stream.points import CHANNEL_NAMES
from stream.scoring.base import WindowScore
from stream.scoring.features import F32, Bool, stack_windows
from stream.windows import Window

CADENCE_PEAK = 300.0  # steps/min in any single minute
CADENCE_SUSTAINED = 240.0  # steps/min held for SUSTAINED_BINS minutes
SUSTAINED_BINS = 3
STEADY_MIN_CADENCE = 40.0  # steps/min for a minute to count towards a steady stretch
STEADY_MAX_CV = 0.007  # std/mean of the minute counts over the stretch
STEADY_BINS = 20  # minutes of mechanical rhythm
VEHICLE_SPEED = 7.0  # m/s while steps are counted
VEHICLE_BINS = 3
TELEPORT_SPEED = 55.0  # m/s in one sample
TELEPORT_DISTANCE_PER_S = 50.0  # 3 km in a 60 s bin
STEPLESS_DISTANCE = 500.0  # metres
DISTANCELESS_STEPS = 1500.0  # steps
STRIDE_MIN_STEPS = 500.0
STRIDE_MAX = 2.5  # metres per step
STRIDE_MIN = 0.25
FLAG_SCORE = 2.0  # score of a yes/no finding (manual entry, replay)

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
)

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
}

F64 = npt.NDArray[np.float64]


def steady_ratio(cadence: F64) -> F64:
    """Per row ``STEADY_MAX_CV / lowest CV`` over active stretches of ``STEADY_BINS`` minutes.

    1.0 at the limit, growing as the rhythm gets more mechanical; 0 with no active stretch.
    """
    if cadence.shape[1] < STEADY_BINS:
        return np.zeros(cadence.shape[0])
    spans = np.lib.stride_tricks.sliding_window_view(cadence, STEADY_BINS, axis=1)
    active = spans.min(axis=2) >= STEADY_MIN_CADENCE
    cv = np.where(active, spans.std(axis=2) / np.maximum(spans.mean(axis=2), 1.0), np.inf)
    lowest = cv.min(axis=1)
    out: F64 = np.where(np.isfinite(lowest), STEADY_MAX_CV / np.maximum(lowest, 1e-6), 0.0)
    return out


def _near(active: Bool) -> Bool:
    """True where the bin or a neighbour is active: tolerates a point landing one bin off."""
    near = active.copy()
    near[:, 1:] |= active[:, :-1]
    near[:, :-1] |= active[:, 1:]
    return near


def check_ratios(
    values: F32,
    masks: Bool,
    manual_points: npt.NDArray[np.int64],
    repeats: Bool,
    grid: GridSpec = DEFAULT_GRID,
) -> F64:
    """``[batch, len(CHECKS)]`` ratios measured/limit; ``>= 1`` means the check fires."""
    per_min = 60.0 / grid.bin_s
    steps = values[:, 0, :].astype(np.float64)
    dist = values[:, 1, :].astype(np.float64)
    speed = np.where(masks[:, 2, :], values[:, 2, :], 0.0).astype(np.float64)
    has_steps = masks[:, 0, :].any(axis=1)
    has_dist = masks[:, 1, :].any(axis=1)
    cadence = steps * per_min
    out = np.zeros((values.shape[0], len(CHECKS)), dtype=np.float64)

    k = SUSTAINED_BINS
    held = np.lib.stride_tricks.sliding_window_view(cadence, k, axis=1).min(axis=2)
    out[:, 0] = np.maximum(
        cadence.max(axis=1) / CADENCE_PEAK, held.max(axis=1, initial=0.0) / CADENCE_SUSTAINED
    )

    out[:, 1] = steady_ratio(cadence)

    moving = steps > 0
    fast = moving & ((speed >= VEHICLE_SPEED) | (dist * per_min >= VEHICLE_SPEED * 60.0))
    out[:, 2] = fast.sum(axis=1) / VEHICLE_BINS

    out[:, 3] = np.maximum(
        dist.max(axis=1) / (TELEPORT_DISTANCE_PER_S * grid.bin_s),
        speed.max(axis=1) / TELEPORT_SPEED,
    )

    stepless = np.where(_near(moving), 0.0, dist).sum(axis=1)
    out[:, 4] = np.where(has_steps, stepless / STEPLESS_DISTANCE, 0.0)

    distanceless = np.where(_near(dist > 0), 0.0, steps).sum(axis=1)
    out[:, 5] = np.where(has_dist, distanceless / DISTANCELESS_STEPS, 0.0)

    both = moving & (dist > 0)
    paired_steps = np.where(both, steps, 0.0).sum(axis=1)
    paired_dist = np.where(both, dist, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        stride = paired_dist / paired_steps
        stride_ratio = np.maximum(stride / STRIDE_MAX, STRIDE_MIN / stride)
    out[:, 6] = np.where(paired_steps >= STRIDE_MIN_STEPS, stride_ratio, 0.0)

    out[:, 7] = np.where(manual_points > 0, FLAG_SCORE, 0.0)
    out[:, 8] = np.where(repeats, FLAG_SCORE, 0.0)
    return np.nan_to_num(out, nan=0.0, posinf=FLAG_SCORE * 10, neginf=0.0)


def channel_shares(check: int, present: Bool) -> F64:
    """Channel shares of one finding for one window (``present``: channels with data)."""
    fixed = _ATTRIBUTION[CHECKS[check]]
    if fixed is not None:
        return np.asarray(fixed, dtype=np.float64)
    weights = present.astype(np.float64)
    total = weights.sum()
    return weights / total if total > 0 else np.full(len(CHANNEL_NAMES), 1.0 / len(CHANNEL_NAMES))


def verdicts(ratios: F64, masks: Bool) -> list[WindowScore]:
    """One ``WindowScore`` per row of ``check_ratios``: the top ratio, codes of all that fire."""
    top = ratios.argmax(axis=1)
    best = ratios[np.arange(ratios.shape[0]), top]
    present: Bool = np.asarray(masks.any(axis=2))
    out: list[WindowScore] = []
    for i in range(ratios.shape[0]):
        score = float(best[i])
        if score <= 0.0:
            out.append(WindowScore(0.0, dict.fromkeys(CHANNEL_NAMES, 0.0), ()))
            continue
        fired = np.flatnonzero(ratios[i] >= 1.0)
        reasons = tuple(CHECKS[j] for j in fired[np.argsort(-ratios[i, fired], kind="stable")])
        shares = channel_shares(int(top[i]), present[i])
        channels = {n: round(float(s), 4) for n, s in zip(CHANNEL_NAMES, shares, strict=True)}
        out.append(WindowScore(score, channels, reasons))
    return out


def window_ratios(windows: Sequence[Window], grid: GridSpec = DEFAULT_GRID) -> tuple[F64, Bool]:
    """``check_ratios`` for ``Window`` objects; also returns the stacked masks."""
    values, masks = stack_windows(windows)
    manual = np.fromiter((w.manual_points for w in windows), dtype=np.int64, count=len(windows))
    repeats = np.fromiter((w.repeats_earlier for w in windows), dtype=np.bool_, count=len(windows))
    return check_ratios(values, masks, manual, repeats, grid), masks


class PlausibilityScorer:
    """The physical checks as a ``WindowScorer``: alerts on their own, no model needed."""

    name = "plausibility"

    def __init__(self, grid: GridSpec = DEFAULT_GRID) -> None:
        self.grid = grid

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        if not windows:
            return []
        ratios, masks = window_ratios(windows, self.grid)
        return verdicts(ratios, masks)
