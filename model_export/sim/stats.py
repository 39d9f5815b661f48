"""Summaries that compare simulated users with real ones (Fitabase minute steps).

Every statistic is computed the same way for both: per-minute step counts, from which come the
cadence of active minutes, the steps per user-day, and the length of bouts (runs of consecutive
minutes with steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_export.sim.types import NS, RawPoint

MINUTE_NS = 60 * NS
FloatArray = npt.NDArray[np.float64]


def minute_steps(points: list[RawPoint], source: str, start_ns: int, minutes: int) -> FloatArray:
    """Steps per minute of one source, each point spread over the minutes it overlaps."""
    out = np.zeros(minutes)
    for p in points:
        if p.kind != "steps" or p.source != source:
            continue
        s, e = p.start_ns - start_ns, max(p.end_ns - start_ns, p.start_ns - start_ns + 1)
        first, last = s // MINUTE_NS, (e - 1) // MINUTE_NS
        for m in range(max(first, 0), min(last, minutes - 1) + 1):
            lo, hi = max(s, m * MINUTE_NS), min(e, (m + 1) * MINUTE_NS)
            out[m] += p.value * (hi - lo) / (e - s)
    return out


def bout_lengths(minutes: FloatArray) -> npt.NDArray[np.int64]:
    """Lengths of runs of consecutive minutes with at least one step."""
    active = np.concatenate([[0], (minutes >= 1).astype(np.int8), [0]])
    edges = np.diff(active)
    return (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).astype(np.int64)


@dataclass(frozen=True, slots=True)
class ActivityStats:
    cadence: FloatArray  # steps in each active minute
    daily: FloatArray  # steps per user-day (days with any steps)
    bouts: npt.NDArray[np.int64]  # bout lengths in minutes
    active_fraction: float

    def summary(self) -> dict[str, float]:
        q = (10, 50, 90, 99)
        out = {f"cadence_p{k}": float(np.percentile(self.cadence, k)) for k in q}
        out |= {f"daily_p{k}": float(np.percentile(self.daily, k)) for k in (10, 25, 50, 75, 90)}
        out |= {f"bout_p{k}": float(np.percentile(self.bouts, k)) for k in (50, 90, 99)}
        out["active_fraction"] = self.active_fraction
        return out


def activity_stats(user_days: list[FloatArray]) -> ActivityStats:
    """Statistics over a list of per-minute day arrays (1440 minutes each)."""
    days = [d for d in user_days if d.sum() > 0]
    if not days:
        raise ValueError("no day with steps")
    flat = np.concatenate(days)
    bouts = np.concatenate([bout_lengths(d) for d in days])
    return ActivityStats(
        cadence=flat[flat >= 1],
        daily=np.array([d.sum() for d in days]),
        bouts=bouts,
        active_fraction=float((flat >= 1).mean()),
    )
