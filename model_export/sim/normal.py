"""A normal day of one user as bouts: sleep, fidgeting at a desk, walks, runs and commutes.

Times are drawn in the user's local time (a daily rhythm) and stored as Unix seconds. Vehicle
legs carry the few steps the user's device counts in a car (none for some users, a handful a
minute for others: bumps, an arm on the wheel), sparse speed samples and, for a few users,
location-derived distance: a car is legitimate when it is not logged as walking.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from model_export.sim.types import Bout, UserProfile

HOUR = 3600.0
MINUTE = 60.0


def walk(
    rng: np.random.Generator, p: UserProfile, start: float, minutes: float, cadence: float
) -> Bout:
    return Bout(
        start,
        start + minutes * MINUTE,
        cadence=cadence,
        cadence_cv=float(rng.uniform(0.04, 0.12)),
        stride_m=p.stride_m * float(rng.uniform(0.9, 1.08)),
        distance=True,
        speed_samples=p.speed_samples,
        pauses=minutes > 3 and rng.random() < 0.7,
        speed_sample_gap_s=float(rng.uniform(25, 90)),
        tag="walk",
    )


def fidget(rng: np.random.Generator, p: UserProfile, start: float) -> Bout:
    """A few steps around the house or office: short, slow, no speed samples."""
    return Bout(
        start,
        start + float(rng.uniform(8, 75)),
        cadence=float(rng.uniform(10, 70)),
        cadence_cv=0.2,
        stride_m=p.stride_m * 0.8,
        distance=p.pedometer_distance,
        speed_samples=False,
        tag="fidget",
    )


def chores(rng: np.random.Generator, p: UserProfile, start: float) -> list[Bout]:
    """A cluster of fidgets (kitchen, office, shop): the many short low-count bouts of real data."""
    out: list[Bout] = []
    t = start
    for _ in range(1 + int(rng.poisson(2.0))):
        out.append(fidget(rng, p, t))
        t = out[-1].end_s + float(rng.uniform(10, 100))
    return out


def vehicle(rng: np.random.Generator, p: UserProfile, start: float, minutes: float) -> Bout:
    """A ride: vehicle speed, and the few steps the user's device counts on the way (bumps
    in bursts: a wobble of twice the mean, clipped at zero, so most minutes count none)."""
    return Bout(
        start,
        start + minutes * MINUTE,
        cadence=p.ride_steps_per_min,
        cadence_cv=2.0,
        stride_m=p.stride_m,
        distance=p.vehicle_distance,
        speed_samples=p.vehicle_speed_samples,
        pauses=True,
        ground_speed=float(rng.uniform(6, 25)),
        speed_sample_gap_s=float(rng.uniform(60, 240)),
        tag="vehicle",
    )


def run(rng: np.random.Generator, p: UserProfile, start: float, minutes: float) -> Bout:
    return Bout(
        start,
        start + minutes * MINUTE,
        cadence=p.run_cadence + float(rng.normal(0, 4)),
        cadence_cv=float(rng.uniform(0.02, 0.06)),
        stride_m=p.run_stride_m * float(rng.uniform(0.92, 1.08)),
        distance=True,
        speed_samples=p.speed_samples,
        speed_sample_gap_s=float(rng.uniform(20, 60)),
        tag="run",
    )


def commute(rng: np.random.Generator, p: UserProfile, start: float) -> list[Bout]:
    """Walk to the car or station, ride, walk to the door."""
    w1 = float(rng.uniform(2, 12))
    ride = float(rng.uniform(8, 45))
    w2 = float(rng.uniform(1, 10))
    gap = float(rng.uniform(30, 240))
    first = walk(rng, p, start, w1, p.walk_cadence + float(rng.normal(0, 5)))
    leg = vehicle(rng, p, first.end_s + gap, ride)
    last = walk(rng, p, leg.end_s + gap, w2, p.walk_cadence + float(rng.normal(0, 5)))
    return [first, leg, last]


def walk_minutes(rng: np.random.Generator) -> float:
    """Mostly short errands, some proper walks, a few long ones (Fitabase bout lengths)."""
    kind = rng.choice(3, p=(0.62, 0.3, 0.08))
    median = (2.5, 12.0, 30.0)[int(kind)]
    return float(np.clip(rng.lognormal(np.log(median), 0.55), 1.0, 75.0))


def local_midnight(day_start_utc: float, p: UserProfile) -> float:
    return day_start_utc - p.utc_offset_h * HOUR


def drop_overlaps(bouts: list[Bout], margin_s: float = 30.0) -> list[Bout]:
    """Keeps bouts in priority order (earlier in the list wins), dropping any that overlap."""
    kept: list[Bout] = []
    for b in bouts:
        if all(b.end_s + margin_s <= k.start_s or b.start_s >= k.end_s + margin_s for k in kept):
            kept.append(b)
    return sorted(kept, key=lambda b: b.start_s)


def normal_day(rng: np.random.Generator, p: UserProfile, day_start_utc: float) -> list[Bout]:
    """The bouts of one local day; the caller renders them into points."""
    t0 = local_midnight(day_start_utc, p)
    weekday = datetime.fromtimestamp(t0 + 12 * HOUR, tz=UTC).weekday()
    weekend = weekday >= 5
    wake = t0 + (float(rng.normal(7.0, 0.6)) + (1.2 if weekend else 0.0)) * HOUR
    bed = t0 + float(rng.normal(23.0, 0.7)) * HOUR
    level = p.activity * float(np.exp(rng.normal(0.0, 0.45)))
    major: list[Bout] = []
    if p.commutes and not weekend:
        major += commute(rng, p, wake + float(rng.uniform(0.4, 1.5)) * HOUR)
        major += commute(rng, p, t0 + float(rng.normal(17.5, 0.8)) * HOUR)
    if rng.random() < p.runs_per_week / 7.0:
        at = wake + 0.3 * HOUR if rng.random() < 0.5 else t0 + float(rng.uniform(18, 20.5)) * HOUR
        major.append(run(rng, p, at, float(rng.uniform(18, 55))))
    walks = [
        walk(rng, p, float(rng.uniform(wake, bed)), m, cad)
        for m in (walk_minutes(rng) for _ in range(int(rng.poisson(4.0 * level))))
        for cad in [p.walk_cadence * (float(rng.uniform(0.7, 0.97)) if m < 5 else 1.0)]
    ]
    fidgets = [
        f
        for _ in range(int(rng.poisson(3.0 * np.sqrt(level) * (bed - wake) / HOUR)))
        for f in chores(rng, p, float(rng.uniform(wake, bed)))
    ]
    night = [
        fidget(rng, p, float(rng.uniform(t0 + 0.5 * HOUR, wake - 0.3 * HOUR)))
        for _ in range(int(rng.poisson(0.5)))
    ]
    bouts = drop_overlaps(major + walks + fidgets + night)
    if rng.random() < 0.3:  # phone left on a desk for a while: nothing recorded
        off = float(rng.uniform(wake, bed))
        off_end = off + float(rng.uniform(0.5, 3.0)) * HOUR
        bouts = [b for b in bouts if b.end_s <= off or b.start_s >= off_end]
    return bouts
