"""Cheat variants the simulator does not produce, written after the rules as a generalisation check.

Each generator has the signature of ``model_export.sim.unusual``'s (``(rng, ctx) -> Injection``),
draws its own parameters per instance, and mimics how the family is met in the field rather than
how ``unusual.py`` draws it: shakers with a motor's jitter or a swing's drift, vehicles slow
enough to pass for a brisk walk, injectors that copy human cadences, GPS jumps spread over a lost
fix, replays that are not byte-exact, manual entries of distance only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_export.sim.normal import HOUR, MINUTE
from model_export.sim.render import CELL_S, ar1, deltas
from model_export.sim.types import NS, Bout, Kind, RawPoint
from model_export.sim.unusual import (
    INJECTOR_APPS,
    USER_INPUT_DISTANCE,
    Context,
    Generator,
    Injection,
    at_local,
    bout,
    past_walk_and_shift,
)

F64 = npt.NDArray[np.float64]
CELLS_PER_MIN = int(MINUTE / CELL_S)


@dataclass(frozen=True, slots=True)
class Variant:
    """A named variant: the simulator family it belongs to and how it shows up in the field."""

    name: str
    family: str
    field_note: str
    generate: Generator


# --- helpers: per-cell motion to irregular points ----------------------------------------


def cells_of_minutes(per_minute: F64) -> F64:
    """Steps (or metres) per 5 s cell, each minute's amount spread evenly over its cells."""
    return np.repeat(per_minute / CELLS_PER_MIN, CELLS_PER_MIN)


def points_of_cells(
    rng: np.random.Generator,
    start_s: float,
    cells: F64,
    kind: Kind,
    sources: tuple[str, ...],
    median_s: float = 35.0,
    method: str = "AUTOMATICALLY_RECORDED",
) -> list[RawPoint]:
    """Irregular points (5-170 s) carrying the cells' amounts, in every source given."""
    out: list[RawPoint] = []
    for s, e, v in deltas(rng, cells, int(start_s * NS), median_s, integer=kind == "steps"):
        value = v if kind == "steps" else round(v, 3)
        out.extend(RawPoint(kind, s, e, value, src, method) for src in sources)
    return out


def speed_points(
    rng: np.random.Generator,
    start_s: float,
    speed_cells: F64,
    gap_s: float,
    sources: tuple[str, ...],
) -> list[RawPoint]:
    """Instantaneous samples about ``gap_s`` apart (15-600 s), as the location service sends."""
    out: list[RawPoint] = []
    t = float(rng.uniform(5.0, gap_s))
    while t < speed_cells.shape[0] * CELL_S:
        v = max(0.0, float(speed_cells[int(t / CELL_S)] * rng.normal(1.0, 0.06)))
        at = int((start_s + t) * NS)
        out.extend(RawPoint("speed", at, at, round(v, 4), s) for s in sources)
        t += float(np.clip(rng.lognormal(np.log(gap_s), 0.5), 15, 600))
    return out


def injector_source(rng: np.random.Generator) -> str:
    app = INJECTOR_APPS[int(rng.integers(len(INJECTOR_APPS)))]
    return app if rng.random() < 0.4 else f"raw:com.google.step_count.delta:{app}:injector"


def shaker_points(
    rng: np.random.Generator, ctx: Context, start: float, step_cells: F64
) -> Injection:
    """A shaken phone's step points, with pedometer distance (steps x stride) for half of them."""
    p = ctx.profile
    pts = points_of_cells(rng, start, step_cells, "steps", p.sources.steps)
    if p.pedometer_distance or rng.random() < 0.5:
        pts += points_of_cells(rng, start, step_cells * p.stride_m, "distance", p.sources.distance)
    return Injection(start, start + step_cells.shape[0] * CELL_S, points=pts)


# --- phone shaker / pedometer swing ----------------------------------------------------------


def shaker_jitter(rng: np.random.Generator, ctx: Context) -> Injection:
    """A cheap motor shaker whose rate wanders minute to minute (per-minute cv 2-6 %)."""
    start = at_local(rng, ctx, 8, 22)
    n = int(rng.uniform(20, 120))
    cv = float(rng.uniform(0.02, 0.06))
    per_min = np.clip(float(rng.uniform(120, 200)) * (1 + cv * rng.normal(size=n)), 0, None)
    return shaker_points(rng, ctx, start, cells_of_minutes(per_min))


def shaker_slow_drift(rng: np.random.Generator, ctx: Context) -> Injection:
    """A pendulum swing: slow (60-100/min), its rate drifting as the spring or battery runs down."""
    start = at_local(rng, ctx, 8, 22)
    n = int(rng.uniform(30, 150))
    drift = float(rng.uniform(0.05, 0.25)) * (1 if rng.random() < 0.3 else -1)
    trend = float(rng.uniform(60, 100)) * (1 + drift * np.linspace(0, 1, n))
    per_min = trend * (1 + float(rng.uniform(0.002, 0.005)) * rng.normal(size=n))
    return shaker_points(rng, ctx, start, cells_of_minutes(per_min))


def shaker_duty_cycle(rng: np.random.Generator, ctx: Context) -> Injection:
    """A timer-driven shaker: on 3-8 min, off 1-2 min (phases not aligned to minutes)."""
    start = at_local(rng, ctx, 8, 21)
    total = float(rng.uniform(40, 150)) * MINUTE
    rate = float(rng.uniform(130, 200)) / CELLS_PER_MIN
    cells: list[F64] = []
    t = 0.0
    while t < total:
        on = int(rng.uniform(180, 480) / CELL_S)
        off = int(rng.uniform(60, 120) / CELL_S)
        cells.append(rate * (1 + 0.003 * rng.normal(size=on)))
        cells.append(np.zeros(off))
        t += (on + off) * CELL_S
    return shaker_points(rng, ctx, start, np.concatenate(cells[:-1]))


def shaker_night(rng: np.random.Generator, ctx: Context) -> Injection:
    """Left running overnight for hours (2-6 h), a motor with 1-3 % per-minute jitter."""
    start = at_local(rng, ctx, 0.3, 3.0)
    n = int(rng.uniform(120, 360))
    cv = float(rng.uniform(0.01, 0.03))
    per_min = np.clip(float(rng.uniform(110, 180)) * (1 + cv * rng.normal(size=n)), 0, None)
    return shaker_points(rng, ctx, start, cells_of_minutes(per_min))


# --- vehicle logged as walking ---------------------------------------------------------------


def ride(
    rng: np.random.Generator,
    ctx: Context,
    start: float,
    speed: F64,
    step_cells: F64,
) -> Injection:
    """A ride's points: bump steps, then GPS distance and sparse (or no) speed samples."""
    p = ctx.profile
    pts = points_of_cells(rng, start, step_cells, "steps", p.sources.steps)
    if rng.random() < 0.6:  # location-based distance
        gps = np.clip(rng.normal(1.0, 0.06, speed.shape[0]), 0.7, 1.3)
        pts += points_of_cells(rng, start, speed * CELL_S * gps, "distance", p.sources.distance)
    if rng.random() < 0.5:
        pts += speed_points(rng, start, speed, float(rng.uniform(60, 300)), p.sources.speed)
    return Injection(start, start + speed.shape[0] * CELL_S, points=pts)


def vehicle_city_bus(rng: np.random.Generator, ctx: Context) -> Injection:
    """A city bus in traffic: 3-8 m/s, stop and go, bumps counted as 30-90 steps/min."""
    start = at_local(rng, ctx, 7, 20)
    n = int(float(rng.uniform(10, 45)) * MINUTE / CELL_S)
    cruise = float(rng.uniform(3, 8))
    speed = np.clip(cruise * (1 + 0.2 * ar1(rng, n)), 0, None)
    moving = np.ones(n, dtype=bool)
    at = 0
    while at < n:  # a stop every 1-3 minutes, 15-60 s long
        at += int(rng.uniform(60, 180) / CELL_S)
        stop = int(rng.uniform(15, 60) / CELL_S)
        moving[at : at + stop] = False
        at += stop
    speed = np.where(moving, speed, 0.0)
    bump_rate = float(rng.uniform(30, 90)) / CELLS_PER_MIN
    steps = np.where(moving, rng.poisson(bump_rate, n), 0).astype(np.float64)
    return ride(rng, ctx, start, speed, steps)


def vehicle_bike_pedal(rng: np.random.Generator, ctx: Context) -> Injection:
    """A bike ridden with the phone counting pedal strokes: 4-8 m/s at 60-90 strokes/min."""
    start = at_local(rng, ctx, 7, 20)
    n = int(float(rng.uniform(15, 60)) * MINUTE / CELL_S)
    speed = np.clip(float(rng.uniform(4, 8)) * (1 + 0.12 * ar1(rng, n)), 0, None)
    cadence = float(rng.uniform(60, 90)) * (1 + float(rng.uniform(0.05, 0.1)) * ar1(rng, n))
    for _ in range(int(rng.poisson(n * CELL_S / 300))):  # lights, junctions
        at, length = int(rng.integers(n)), int(rng.integers(3, 12))
        speed[at : at + length] = 0.0
        cadence[at : at + length] = 0.0
    return ride(rng, ctx, start, speed, np.clip(cadence, 0, None) / CELLS_PER_MIN)


# --- injected steps ---------------------------------------------------------------------


def injected_human_cadence(rng: np.random.Generator, ctx: Context) -> Injection:
    """An app writing human-looking steps (90-120/min, 5-10 % variation), by day or at night."""
    start = at_local(rng, ctx, 0.5, 5.0) if rng.random() < 0.5 else at_local(rng, ctx, 7, 22)
    n = int(rng.uniform(20, 90))
    cv = float(rng.uniform(0.05, 0.10))
    per_min = np.clip(float(rng.uniform(90, 120)) * (1 + cv * rng.normal(size=n)), 0, None)
    source = injector_source(rng)
    pts = points_of_cells(rng, start, cells_of_minutes(per_min), "steps", (source,), 50.0)
    return Injection(start, start + n * MINUTE, points=pts)


def injected_hour_block(rng: np.random.Generator, ctx: Context) -> Injection:
    """One hour-long point of ~6,000 steps, as an app "syncing" a walk it never saw."""
    start = at_local(rng, ctx, 7, 21)
    if rng.random() < 0.5:
        start = float(np.floor(start / HOUR) * HOUR)
    dur = float(rng.uniform(55, 65)) * MINUTE
    value = float(rng.uniform(5_000, 7_000))
    value = float(round(value, -2)) if rng.random() < 0.5 else float(round(value))
    pt = RawPoint("steps", int(start * NS), int((start + dur) * NS), value, injector_source(rng))
    return Injection(start, start + dur, points=[pt])


def injected_over_zero(rng: np.random.Generator, ctx: Context) -> Injection:
    """Steps injected in minutes the phone's own pedometer reports as 0 (and, for half, 0 m)."""
    p = ctx.profile
    start = float(np.floor(at_local(rng, ctx, 7, 22) / MINUTE) * MINUTE)
    n = int(rng.uniform(20, 80))
    cv = float(rng.uniform(0.05, 0.10))
    per_min = np.clip(float(rng.uniform(90, 130)) * (1 + cv * rng.normal(size=n)), 0, None)
    source = injector_source(rng)
    pts = points_of_cells(rng, start, cells_of_minutes(per_min), "steps", (source,), 60.0)
    zero_distance = rng.random() < 0.5
    for m in range(n):
        s, e = int((start + m * MINUTE) * NS), int((start + (m + 1) * MINUTE) * NS)
        pts.append(RawPoint("steps", s, e, 0.0, p.sources.steps[0]))
        if zero_distance:
            pts.append(RawPoint("distance", s, e, 0.0, p.sources.distance[0]))
    return Injection(start, start + n * MINUTE, points=pts)


# --- GPS teleport -----------------------------------------------------------------------


def teleport_jump(rng: np.random.Generator, ctx: Context) -> Injection:
    """A walk where a spoofer jumps 1-50 km: one distance point over a lost fix of 1 s-15 min,
    or (a third of instances) only one or two speed samples of 15-45 m/s at the jump."""
    p = ctx.profile
    b = bout(rng, ctx, at_local(rng, ctx, 7, 21), float(rng.uniform(15, 45)), tag="walk")
    jump = b.start_s + float(rng.uniform(0.2, 0.6)) * (b.end_s - b.start_s)
    if rng.random() < 1 / 3:
        pts: list[RawPoint] = []
        for k in range(int(rng.integers(1, 3))):
            at = int((jump + 20 * k) * NS)
            v = round(float(rng.uniform(15, 45)), 3)
            pts += [RawPoint("speed", at, at, v, s) for s in p.sources.speed]
        return Injection(b.start_s, b.end_s, bouts=[b], points=pts, span=(jump, jump + 60))
    dur = float(rng.uniform(1, 60)) if rng.random() < 0.5 else float(rng.uniform(2, 15)) * MINUTE
    metres = float(np.exp(rng.uniform(np.log(1_000), np.log(50_000))))
    pts = [
        RawPoint("distance", int(jump * NS), int((jump + dur) * NS), round(metres, 2), s)
        for s in p.sources.distance
    ]
    return Injection(b.start_s, b.end_s, bouts=[b], points=pts, span=(jump, jump + dur))


def teleport_spoofed_route(rng: np.random.Generator, ctx: Context) -> Injection:
    """A walk during which a spoofed route runs at 10-15 m/s for 3-15 minutes."""
    p = ctx.profile
    start = at_local(rng, ctx, 7, 21)
    before = bout(rng, ctx, start, float(rng.uniform(5, 15)), tag="walk")
    route = bout(
        rng, ctx, before.end_s, float(rng.uniform(3, 15)),
        ground_speed=float(rng.uniform(10, 15)),
        speed_samples=p.speed_samples and rng.random() < 0.7,
        speed_sample_gap_s=float(rng.uniform(20, 90)),
        tag="spoofed_route",
    )  # fmt: skip
    after = bout(rng, ctx, route.end_s, float(rng.uniform(5, 15)), tag="walk")
    return Injection(
        start, after.end_s, bouts=[before, route, after], span=(route.start_s, route.end_s)
    )


# --- replayed walk ----------------------------------------------------------------------


def replay_base(rng: np.random.Generator, ctx: Context) -> tuple[Bout, int] | None:
    """A past walk of 6+ minutes and a shift (same time of day or another), as the family."""
    return past_walk_and_shift(rng, ctx, (0.0, 60.0, 300.0))


def as_injection(pts: list[RawPoint]) -> Injection:
    return Injection(min(x.start_ns for x in pts) / NS, max(x.end_ns for x in pts) / NS, points=pts)


def replay_noisy(rng: np.random.Generator, ctx: Context) -> Injection | None:
    """A replay with +-1-2 steps of noise per point (and 1-2 % on metres and speeds)."""
    got = replay_base(rng, ctx)
    if got is None:
        return None
    orig, dt = got
    pts: list[RawPoint] = []
    for x in orig.points:
        if x.kind == "steps":
            value = max(1.0, x.value + float(rng.choice([-2, -1, 1, 2])))
        else:
            value = round(x.value * float(1 + rng.choice([-1, 1]) * rng.uniform(0.01, 0.02)), 3)
        pts.append(RawPoint(x.kind, x.start_ns + dt, x.end_ns + dt, value, x.source, x.method))
    return as_injection(pts)


def replay_stretched(rng: np.random.Generator, ctx: Context) -> Injection | None:
    """A replay played 5-10 % slower or faster: every time stretched about the walk's start."""
    got = replay_base(rng, ctx)
    if got is None:
        return None
    orig, dt = got
    factor = float(rng.uniform(1.05, 1.10))
    factor = factor if rng.random() < 0.5 else 1 / factor
    t0 = min(x.start_ns for x in orig.points)

    def at(t: int) -> int:
        return t0 + dt + int((t - t0) * factor)

    pts = [RawPoint(x.kind, at(x.start_ns), at(x.end_ns), x.value, x.source, x.method)
           for x in orig.points]  # fmt: skip
    return as_injection(pts)


def replay_resegmented(rng: np.random.Generator, ctx: Context) -> Injection | None:
    """A walk copied from another day, its steps and metres cut into points anew."""
    got = replay_base(rng, ctx)
    if got is None:
        return None
    orig, dt = got
    t0 = min(x.start_ns for x in orig.points)
    n = int(np.ceil((max(x.end_ns for x in orig.points) - t0) / NS / CELL_S)) + 1
    out: list[RawPoint] = []
    median = float(rng.uniform(20, 90))
    for kind in ("steps", "distance"):
        sources = sorted({x.source for x in orig.points if x.kind == kind})
        if not sources:
            continue
        cells = np.zeros(n)
        for x in orig.points:
            if x.kind != kind or x.source != sources[0]:
                continue
            a = int((x.start_ns - t0) / NS / CELL_S)
            b = max(a + 1, round((x.end_ns - t0) / NS / CELL_S))
            cells[a:b] += x.value / (b - a)
        start = (t0 + dt) / NS
        out += points_of_cells(rng, start, cells, kind, tuple(sources), median)
    out += [RawPoint(x.kind, x.start_ns + dt, x.end_ns + dt, x.value, x.source, x.method)
            for x in orig.points if x.kind == "speed"]  # fmt: skip
    return as_injection(out) if out else None


# --- manual entry -----------------------------------------------------------------------


def manual_distance(rng: np.random.Generator, ctx: Context, health_connect: bool) -> Injection:
    start = at_local(rng, ctx, 7, 22)
    dur = float(rng.uniform(20, 120)) * MINUTE
    metres = float(round(float(rng.uniform(1_000, 10_000)), int(rng.choice([-3, -2, 0]))))
    s, e = int(start * NS), int((start + dur) * NS)
    if health_connect:
        pt = RawPoint("distance", s, e, metres, ctx.profile.sources.hc_origin, "MANUAL_ENTRY")
    else:
        # Health Connect carries a Fit user_input point as MANUAL_ENTRY (the emitter reads it
        # for Health Connect users; Google Fit shapes keep the user_input stream id)
        pt = RawPoint("distance", s, e, metres, USER_INPUT_DISTANCE, "MANUAL_ENTRY")
    return Injection(start, start + dur, points=[pt])


def manual_fit_distance(rng: np.random.Generator, ctx: Context) -> Injection:
    """Google Fit ``user_input`` distance only: a "walk" typed in, no steps."""
    return manual_distance(rng, ctx, health_connect=False)


def manual_hc_distance(rng: np.random.Generator, ctx: Context) -> Injection:
    """A Health Connect Distance record with ``MANUAL_ENTRY``, no steps."""
    return manual_distance(rng, ctx, health_connect=True)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "shaker_jitter",
            "phone_shaker",
            "cheap motor shakers: 120-200/min, per-minute cv 2-6 %",
            shaker_jitter,
        ),
        Variant(
            "shaker_slow_drift",
            "phone_shaker",
            "pendulum swings: 60-100/min, rate drifting 5-25 % over the session",
            shaker_slow_drift,
        ),
        Variant(
            "shaker_duty_cycle",
            "phone_shaker",
            "timer shakers: on 3-8 min, off 1-2 min",
            shaker_duty_cycle,
        ),
        Variant(
            "shaker_night",
            "phone_shaker",
            "left on overnight, 2-6 h, per-minute cv 1-3 %",
            shaker_night,
        ),
        Variant(
            "vehicle_city_bus",
            "vehicle_as_walking",
            "bus in traffic: 3-8 m/s, stop-and-go, bumps 30-90/min; GPS/speed sparse or absent",
            vehicle_city_bus,
        ),
        Variant(
            "vehicle_bike_pedal",
            "vehicle_as_walking",
            "bike with pedal strokes as steps: 4-8 m/s, 60-90/min; GPS/speed sparse or absent",
            vehicle_bike_pedal,
        ),
        Variant(
            "injected_human_cadence",
            "injected_steps",
            "third-party app, 90-120/min with 5-10 % variation, half at night",
            injected_human_cadence,
        ),
        Variant(
            "injected_hour_block",
            "injected_steps",
            "one hour-long point of 5,000-7,000 steps",
            injected_hour_block,
        ),
        Variant(
            "injected_over_zero",
            "injected_steps",
            "human cadence injected where the phone's own stream says 0 steps (half: 0 m)",
            injected_over_zero,
        ),
        Variant(
            "teleport_jump",
            "gps_teleport",
            "inside a walk: 1-50 km in one distance point spanning 1 s-15 min, or (1/3) "
            "only 1-2 speed samples of 15-45 m/s",
            teleport_jump,
        ),
        Variant(
            "teleport_spoofed_route",
            "gps_teleport",
            "10-15 m/s route for 3-15 min while steps continue",
            teleport_spoofed_route,
        ),
        Variant(
            "replay_noisy",
            "replayed_walk",
            "a past walk resent with +-1-2 steps per point",
            replay_noisy,
        ),
        Variant(
            "replay_stretched",
            "replayed_walk",
            "a past walk resent 5-10 % slower or faster",
            replay_stretched,
        ),
        Variant(
            "replay_resegmented",
            "replayed_walk",
            "a past walk's steps and metres cut into new points",
            replay_resegmented,
        ),
        Variant(
            "manual_fit_distance",
            "manual_entry",
            "Google Fit user_input distance only",
            manual_fit_distance,
        ),
        Variant(
            "manual_hc_distance",
            "manual_entry",
            "Health Connect MANUAL_ENTRY distance only",
            manual_hc_distance,
        ),
    )
}
