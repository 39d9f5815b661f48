"""Turns a bout into the points a phone would write: irregular step and distance deltas and
sparse instantaneous speed samples, as in the Takeout sample (point durations 4-170 s, speed
samples every 20-160 s).

Motion is simulated on 5-second cells: cadence follows an AR(1) wobble around the bout's mean
and drops to zero in pauses (crossings, lights); cells are then grouped into points of random
length, so totals are conserved while point boundaries stay irregular. Those boundaries lie on
the cells (whole multiples of 5 s) unless ``phone_timing`` moves each to a phone's 10 ms
resolution, as the Takeout sample's own points are timed (45.88 s, 66.20 s): the shipped model
and ``lifeup evaluate`` use the cells, ``model_export.eval.variants`` measures both.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from model_export.sim.types import NS, Bout, RawPoint, UserProfile

CELL_S = 5.0
FloatArray = npt.NDArray[np.float64]


def ar1(rng: np.random.Generator, n: int, phi: float = 0.92) -> FloatArray:
    """Unit-variance AR(1) noise: smooth wobble instead of white jitter."""
    eps = rng.normal(0.0, np.sqrt(1 - phi * phi), n)
    out = np.empty(n)
    level = float(rng.normal())
    for i in range(n):
        level = phi * level + float(eps[i])
        out[i] = level
    return out


def motion(rng: np.random.Generator, bout: Bout) -> tuple[FloatArray, FloatArray]:
    """Steps per cell and metres per second per cell for the bout."""
    n = max(1, int(np.ceil((bout.end_s - bout.start_s) / CELL_S)))
    wobble = ar1(rng, n)
    cadence = np.clip(bout.cadence * (1.0 + bout.cadence_cv * wobble), 0.0, None)
    if bout.ground_speed is None:
        speed = cadence * bout.stride_m / 60.0
    else:
        speed = np.clip(bout.ground_speed * (1.0 + 0.15 * ar1(rng, n)), 0.0, None)
    if bout.pauses:
        for _ in range(int(rng.poisson(n * CELL_S / 240.0))):
            at = int(rng.integers(n))
            length = int(rng.integers(1, 13))
            cadence[at : at + length] = 0.0
            speed[at : at + length] *= 0.05
    return cadence * CELL_S / 60.0, speed


def chunk_edges(rng: np.random.Generator, n: int, median_s: float) -> npt.NDArray[np.int64]:
    """Cell indices where points start/end: irregular durations, 1 to 34 cells (5-170 s)."""
    sizes = np.clip(np.round(rng.lognormal(np.log(median_s / CELL_S), 0.7, n)), 1, 34)
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    edges = edges[edges < n]
    return np.append(edges, n)


def deltas(
    rng: np.random.Generator,
    per_cell: FloatArray,
    t0_ns: int,
    median_s: float,
    integer: bool,
    phone_timing: bool = False,
) -> list[tuple[int, int, float]]:
    """Groups per-cell amounts into (start_ns, end_ns, value) points; drops empty points.
    ``phone_timing`` moves every boundary by 0-4.99 s in steps of 10 ms (from its own generator:
    the amounts and every other draw stay as without it)."""
    edges = chunk_edges(rng, per_cell.shape[0], median_s)
    cum = np.concatenate([[0.0], np.cumsum(per_cell)])[edges]
    if integer:
        cum = np.round(cum)
    values = np.diff(cum)
    at = t0_ns + (edges * int(CELL_S * NS)).astype(np.int64)
    if phone_timing:
        jitter = np.random.default_rng([t0_ns, edges.shape[0]]).integers(0, 500, edges.shape[0])
        at += jitter * 10_000_000
    out: list[tuple[int, int, float]] = []
    for i, v in enumerate(values.tolist()):
        if v > 0:
            out.append((int(at[i]), int(at[i + 1]), float(v)))
    return out


def render(
    rng: np.random.Generator, bout: Bout, profile: UserProfile, phone_timing: bool = False
) -> list[RawPoint]:
    """All points of one bout, in every source the user's phone writes them to."""
    t0_ns = int(bout.start_s * NS) + int(rng.integers(0, NS))
    steps, speed = motion(rng, bout)
    points: list[RawPoint] = []
    if bout.cadence > 0:
        sources = bout.step_sources or profile.sources.steps
        for start, end, v in deltas(rng, steps, t0_ns, 35.0, True, phone_timing):
            points.extend(RawPoint("steps", start, end, v, s) for s in sources)
    if bout.distance:
        gps = np.clip(rng.normal(1.0, 0.06, speed.shape[0]), 0.7, 1.3)
        metres = speed * CELL_S * gps * bout.distance_factor
        for start, end, v in deltas(rng, metres, t0_ns, 30.0, False, phone_timing):
            points.extend(
                RawPoint("distance", start, end, round(v, 3), s) for s in profile.sources.distance
            )
    if bout.speed_samples:
        t = float(rng.uniform(5.0, bout.speed_sample_gap_s))
        duration = bout.end_s - bout.start_s
        while t < duration:
            cell = min(int(t / CELL_S), speed.shape[0] - 1)
            value = max(0.0, float(speed[cell] * rng.normal(1.0, 0.06)))
            at = t0_ns + int(t * NS)
            points.extend(
                RawPoint("speed", at, at, round(value, 4), s) for s in profile.sources.speed
            )
            t += float(np.clip(rng.lognormal(np.log(bout.speed_sample_gap_s), 0.5), 15, 400))
    bout.points = points
    return points
