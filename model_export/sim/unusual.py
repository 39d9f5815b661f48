"""Cheats and legitimate-unusual activity, one generator per family.

Every generator draws its own parameters per instance (durations, cadences, speeds, variants),
so a detector cannot learn one shape per family. A generator returns an ``Injection``: the bouts
and raw points to add, and the labelled span; the simulator clears normal activity around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model_export.sim.normal import HOUR, MINUTE, local_midnight
from model_export.sim.types import NS, Bout, RawPoint, UserProfile

INJECTOR_APPS = ("com.stepboost.app", "io.walkmax.pro", "com.fitcoin.autostep", "com.lazy.pedo")
USER_INPUT_STEPS = "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input"
USER_INPUT_DISTANCE = "raw:com.google.distance.delta:com.google.android.apps.fitness:user_input"


@dataclass(slots=True)
class Injection:
    start_s: float
    end_s: float
    bouts: list[Bout] = field(default_factory=list)
    points: list[RawPoint] = field(default_factory=list)
    span: tuple[float, float] | None = None  # the labelled part, when narrower than the bouts


@dataclass(frozen=True, slots=True)
class Context:
    """What a generator may use: the user, the day, and walks already rendered on past days."""

    profile: UserProfile
    day_start_utc: float
    past_walks: tuple[Bout, ...]


Generator = Callable[[np.random.Generator, Context], Injection | None]


def at_local(rng: np.random.Generator, ctx: Context, lo_h: float, hi_h: float) -> float:
    return local_midnight(ctx.day_start_utc, ctx.profile) + float(rng.uniform(lo_h, hi_h)) * HOUR


def bout(
    rng: np.random.Generator, ctx: Context, start: float, minutes: float, **kw: object
) -> Bout:
    p = ctx.profile
    defaults: dict[str, object] = {
        "cadence": p.walk_cadence,
        "cadence_cv": float(rng.uniform(0.04, 0.1)),
        "stride_m": p.stride_m,
        "distance": True,
        "speed_samples": p.speed_samples,
    }
    defaults.update(kw)
    return Bout(start, start + minutes * MINUTE, **defaults)  # type: ignore[arg-type]


# --- cheats -------------------------------------------------------------------------------


def phone_shaker(rng: np.random.Generator, ctx: Context) -> Injection:
    """A swing or shaker moves the phone at a motor-steady cadence while the user sits."""
    start = at_local(rng, ctx, 0.5, 23.0) if rng.random() < 0.3 else at_local(rng, ctx, 8, 22)
    minutes = float(rng.uniform(10, 150))
    b = bout(
        rng, ctx, start, minutes,
        cadence=float(rng.uniform(135, 260)),
        cadence_cv=float(rng.uniform(0.001, 0.01)),
        distance=ctx.profile.pedometer_distance and rng.random() < 0.5,
        speed_samples=False,
        tag="phone_shaker",
    )  # fmt: skip
    return Injection(b.start_s, b.end_s, bouts=[b])


def vehicle_as_walking(rng: np.random.Generator, ctx: Context) -> Injection:
    """Steps credited while riding: a bumpy car, a bike, or a walking session left running."""
    start = at_local(rng, ctx, 7, 21)
    with_distance = rng.random() < 0.7
    b = bout(
        rng, ctx, start, float(rng.uniform(8, 60)),
        cadence=float(rng.uniform(50, 125)),
        cadence_cv=float(rng.uniform(0.08, 0.3)),
        ground_speed=float(rng.uniform(5.5, 30)),
        distance=with_distance,
        speed_samples=(not with_distance) or rng.random() < 0.6,
        speed_sample_gap_s=float(rng.uniform(20, 150)),
        pauses=rng.random() < 0.5,
        tag="vehicle_as_walking",
    )  # fmt: skip
    return Injection(b.start_s, b.end_s, bouts=[b])


def injected_steps(rng: np.random.Generator, ctx: Context) -> Injection:
    """A third-party app writes step counts of its own: round, oversized or oddly timed."""
    app = INJECTOR_APPS[int(rng.integers(len(INJECTOR_APPS)))]
    source = app if rng.random() < 0.4 else f"raw:com.google.step_count.delta:{app}:injector"
    start = at_local(rng, ctx, 6, 23)
    variant = int(rng.integers(4))
    t = start
    pts: list[RawPoint] = []
    if variant == 0:  # a few big round deltas with odd durations
        for _ in range(int(rng.integers(1, 6))):
            dur = float(rng.choice([1.0, 2.0, 7.0, 30.0, 61.0, 300.0]))
            value = float(rng.choice([500, 1000, 2000, 2500, 5000, 10000]))
            pts.append(RawPoint("steps", int(t * NS), int((t + dur) * NS), value, source))
            t += dur + float(rng.uniform(60, 900))
    elif variant == 1:  # one long point at a cadence no one keeps
        dur = float(rng.uniform(10, 90)) * MINUTE
        value = float(round(dur / 60 * rng.uniform(220, 600), -2))
        pts.append(RawPoint("steps", int(t * NS), int((t + dur) * NS), value, source))
        t += dur
    elif variant == 2:  # a burst of minute points at an impossible rate
        for _ in range(int(rng.integers(5, 60))):
            value = float(rng.integers(250, 900))
            pts.append(RawPoint("steps", int(t * NS), int((t + 60) * NS), value, source))
            t += 60
    else:  # a flat, machine-constant stream at a plausible cadence
        per_min = float(rng.integers(130, 200))
        for _ in range(int(rng.integers(20, 90))):
            pts.append(RawPoint("steps", int(t * NS), int((t + 60) * NS), per_min, source))
            t += 60
    end = pts[-1].end_ns / NS
    return Injection(start, end, points=pts)


def gps_teleport(rng: np.random.Generator, ctx: Context) -> Injection:
    """A walk with a location jump: a distance delta or speed sample no one could cover."""
    p = ctx.profile
    b = bout(rng, ctx, at_local(rng, ctx, 7, 21), float(rng.uniform(10, 45)), tag="walk")
    jump = b.start_s + float(rng.uniform(0.2, 0.8)) * (b.end_s - b.start_s)
    dur = float(rng.uniform(1, 90))
    metres = float(np.exp(rng.uniform(np.log(1_000), np.log(50_000))))
    mode = int(rng.integers(3)) if p.speed_samples else 0
    pts: list[RawPoint] = []
    if mode in (0, 2):
        pts += [
            RawPoint("distance", int(jump * NS), int((jump + dur) * NS), round(metres, 2), s)
            for s in p.sources.distance
        ]
    if mode in (1, 2):
        v = max(metres / dur, float(rng.uniform(35, 400)))
        pts += [
            RawPoint("speed", int(jump * NS), int(jump * NS), round(v, 3), s)
            for s in p.sources.speed
        ]
    # Only a distance point spans ``dur``; a speed sample is an instant, labelled as its second.
    end = jump + (dur if mode in (0, 2) else 1.0)
    return Injection(b.start_s, b.end_s, bouts=[b], points=pts, span=(jump, end))


def distance_mismatch(rng: np.random.Generator, ctx: Context) -> Injection:
    """Distance the steps cannot explain (a spoofed route), or steps the distance cannot."""
    start = at_local(rng, ctx, 7, 21)
    minutes = float(rng.uniform(10, 60))
    p = ctx.profile
    variant = int(rng.integers(3))
    if variant == 0:  # steps at a walking cadence, distance 2.5-8x what the stride allows
        factor = float(rng.uniform(2.5, 8))
        b = bout(rng, ctx, start, minutes, distance_factor=factor, tag="distance_mismatch")
        b.ground_speed = p.walk_cadence * p.stride_m / 60 * factor if rng.random() < 0.5 else None
    elif variant == 1:  # distance and speed of a walk or jog, no steps at all
        b = bout(
            rng, ctx, start, minutes,
            cadence=0.0, ground_speed=float(rng.uniform(0.9, 4.0)), tag="distance_mismatch",
        )  # fmt: skip
    else:  # plenty of steps, GPS says the phone hardly moved
        b = bout(
            rng, ctx, start, minutes,
            cadence=float(rng.uniform(95, 170)),
            distance_factor=float(rng.uniform(0.02, 0.25)),
            tag="distance_mismatch",
        )  # fmt: skip
        if b.speed_samples:
            b.ground_speed = p.walk_cadence * p.stride_m / 60 * b.distance_factor
            b.distance_factor = 1.0
    return Injection(b.start_s, b.end_s, bouts=[b])


def past_walk_and_shift(
    rng: np.random.Generator, ctx: Context, extra_shifts: tuple[float, ...]
) -> tuple[Bout, int] | None:
    """A past walk of 6+ minutes and how far to move it (ns): to the same time of day on this
    day plus one of ``extra_shifts`` seconds, or to another time of day; None when none fits."""
    candidates = [w for w in ctx.past_walks if w.end_s - w.start_s >= 6 * MINUTE and w.points]
    if not candidates:
        return None
    orig = candidates[int(rng.integers(len(candidates)))]
    if rng.random() < 0.5:
        shift = round((ctx.day_start_utc - orig.start_s) / 86_400 + 0.5) * 86_400.0
        shift += float(rng.choice(list(extra_shifts)))
    else:
        shift = at_local(rng, ctx, 7, 21) - orig.start_s
    if orig.start_s + shift < ctx.day_start_utc - 12 * HOUR:
        return None
    return orig, int(shift * NS)


def replayed_walk(rng: np.random.Generator, ctx: Context) -> Injection | None:
    """An earlier real walk's points sent again, shifted in time (same day-time or not)."""
    got = past_walk_and_shift(rng, ctx, (0.0, 0.0, 60.0, 300.0))
    if got is None:
        return None
    orig, dt = got
    pts = [RawPoint(x.kind, x.start_ns + dt, x.end_ns + dt, x.value, x.source) for x in orig.points]
    first = min(x.start_ns for x in pts) / NS
    last = max(x.end_ns for x in pts) / NS
    return Injection(first, last, points=pts)


def manual_entry(rng: np.random.Generator, ctx: Context) -> Injection:
    """Steps (and maybe distance) typed in by hand: Health Connect MANUAL_ENTRY or user_input."""
    p = ctx.profile
    start = at_local(rng, ctx, 7, 22)
    dur = float(rng.uniform(15, 120)) * MINUTE
    steps = float(round(dur / 60 * rng.uniform(60, 140), int(rng.choice([-3, -2, 0]))))
    steps = max(steps, 100.0)
    s_ns, e_ns = int(start * NS), int((start + dur) * NS)
    if p.style == "health_connect" or rng.random() < 0.4:
        app = p.sources.hc_origin
        pts = [RawPoint("steps", s_ns, e_ns, steps, app, "MANUAL_ENTRY")]
        if rng.random() < 0.5:
            pts.append(RawPoint("distance", s_ns, e_ns, round(steps * p.stride_m, 1), app,
                                "MANUAL_ENTRY"))  # fmt: skip
    else:
        pts = [RawPoint("steps", s_ns, e_ns, steps, USER_INPUT_STEPS)]
        if rng.random() < 0.5:
            pts.append(RawPoint("distance", s_ns, e_ns, round(steps * p.stride_m, 1),
                                USER_INPUT_DISTANCE))  # fmt: skip
    return Injection(start, start + dur, points=pts)


# --- legitimate but unusual ---------------------------------------------------------------


def long_run(rng: np.random.Generator, ctx: Context) -> Injection:
    p = ctx.profile
    b = bout(
        rng, ctx, at_local(rng, ctx, 6, 18), float(rng.uniform(60, 180)),
        cadence=float(rng.uniform(150, 185)),
        cadence_cv=float(rng.uniform(0.02, 0.06)),
        stride_m=p.run_stride_m * float(rng.uniform(0.85, 1.1)),
        speed_sample_gap_s=float(rng.uniform(20, 60)),
        tag="long_run",
    )  # fmt: skip
    return Injection(b.start_s, b.end_s, bouts=[b])


def long_hike(rng: np.random.Generator, ctx: Context) -> Injection:
    p = ctx.profile
    b = bout(
        rng, ctx, at_local(rng, ctx, 7, 12), float(rng.uniform(120, 360)),
        cadence=float(rng.uniform(80, 112)),
        cadence_cv=float(rng.uniform(0.08, 0.18)),
        stride_m=p.stride_m * float(rng.uniform(0.7, 0.95)),
        pauses=True,
        speed_sample_gap_s=float(rng.uniform(40, 150)),
        tag="long_hike",
    )  # fmt: skip
    return Injection(b.start_s, b.end_s, bouts=[b])


def night_walk(rng: np.random.Generator, ctx: Context) -> Injection:
    b = bout(
        rng, ctx, at_local(rng, ctx, 0.3, 4.0), float(rng.uniform(15, 80)),
        cadence=ctx.profile.walk_cadence * float(rng.uniform(0.9, 1.08)),
        pauses=rng.random() < 0.5,
        tag="night_walk",
    )  # fmt: skip
    return Injection(b.start_s, b.end_s, bouts=[b])


def treadmill(rng: np.random.Generator, ctx: Context) -> Injection:
    """Steps at a human cadence with no GPS: the belt moves, the phone does not."""
    minutes = float(rng.uniform(20, 75))
    running = rng.random() < 0.4
    start = at_local(rng, ctx, 6, 21)
    cadence = float(rng.uniform(150, 178) if running else rng.uniform(100, 130))
    warm = bout(rng, ctx, start, 4.0, cadence=cadence * 0.8, cadence_cv=0.06,
                distance=False, speed_samples=False, tag="treadmill")  # fmt: skip
    main = bout(
        rng, ctx, warm.end_s, minutes,
        cadence=cadence, cadence_cv=float(rng.uniform(0.03, 0.07)),
        distance=False, speed_samples=False, tag="treadmill",
    )  # fmt: skip
    return Injection(start, main.end_s, bouts=[warm, main])


CHEATS: dict[str, Generator] = {
    "phone_shaker": phone_shaker,
    "vehicle_as_walking": vehicle_as_walking,
    "injected_steps": injected_steps,
    "gps_teleport": gps_teleport,
    "distance_mismatch": distance_mismatch,
    "replayed_walk": replayed_walk,
    "manual_entry": manual_entry,
}
LEGIT_UNUSUAL: dict[str, Generator] = {
    "long_run": long_run,
    "long_hike": long_hike,
    "night_walk": night_walk,
    "treadmill": treadmill,
}
