"""Simulated users for training and evaluation: normal days, injected cheats, unusual-but-legit.

``simulate(n_users, days, seed)`` returns contract-shape events (Google Fit REST datasets,
single points, Takeout bodies, Health Connect records, merged across users in the order phones
would sync them) with ground-truth spans. User ``i`` of a seed is the same whatever ``n_users``,
and a user's normal activity does not change when cheats are switched on, except where an
injected span replaces it. See ``model_export/sim/`` for each stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from model_export.sim.emit import emit
from model_export.sim.normal import HOUR, drop_overlaps, normal_day
from model_export.sim.profile import draw_profile
from model_export.sim.render import render
from model_export.sim.types import Bout, LabeledSpan, RawPoint, UserProfile
from model_export.sim.unusual import CHEATS, LEGIT_UNUSUAL, Context, Injection

__all__ = [
    "CHEAT_FAMILIES",
    "DEFAULT_START",
    "LEGIT_FAMILIES",
    "LabeledSpan",
    "SimulatedData",
    "simulate",
]

DEFAULT_START = datetime(2026, 3, 2, tzinfo=UTC)
CHEAT_FAMILIES: tuple[str, ...] = tuple(CHEATS)
LEGIT_FAMILIES: tuple[str, ...] = tuple(LEGIT_UNUSUAL)
CHEATER_SHARE = 0.6
CHEAT_DAY_RATE = 0.6
LEGIT_DAY_RATE = 0.35
DAY = 24 * HOUR


@dataclass(slots=True)
class SimulatedData:
    """Events in contract shapes (each with ``user_id``), the labelled spans, and user-days.

    ``points`` (raw points per user, every source) and ``profiles`` serve the comparisons with
    real data; detectors must only ever see ``events``.
    """

    events: list[dict[str, Any] | list[dict[str, Any]]]
    spans: list[LabeledSpan]
    user_days: float
    points: dict[str, list[RawPoint]] = field(default_factory=dict)
    profiles: dict[str, UserProfile] = field(default_factory=dict)


def clear_around(bouts: list[Bout], inj: Injection, margin_s: float = 120.0) -> list[Bout]:
    """Removes normal bouts that would overlap the injected activity."""
    lo, hi = inj.start_s - margin_s, inj.end_s + margin_s
    return [b for b in bouts if b.end_s <= lo or b.start_s >= hi]


def inject(
    rng: np.random.Generator,
    generators: dict[str, Any],
    ctx: Context,
    bouts: list[Bout],
    taken: list[tuple[float, float]],
) -> tuple[str, Injection] | None:
    """Draws one family and one instance that does not collide with earlier injections."""
    for _ in range(5):
        family = list(generators)[int(rng.integers(len(generators)))]
        inj = generators[family](rng, ctx)
        if inj is not None and all(inj.end_s + 600 < a or inj.start_s > b + 600 for a, b in taken):
            return family, inj
    return None


def simulate_user(
    seed: int,
    index: int,
    days: int,
    start: datetime,
    cheats: bool,
    legit_unusual: bool,
    phone_timing: bool = False,
) -> tuple[UserProfile, list[RawPoint], list[LabeledSpan]]:
    """One user's raw points and labels; independent streams keep normal days stable."""
    seq = np.random.SeedSequence([seed, index])
    normal_rng, inject_rng = (np.random.default_rng(s) for s in seq.spawn(2))
    profile = draw_profile(normal_rng, f"sim{seed}-{index:04d}")
    cheater = inject_rng.random() < CHEATER_SHARE
    points: list[RawPoint] = []
    spans: list[LabeledSpan] = []
    past: list[Bout] = []
    t0 = start.timestamp()
    for day in range(days):
        day_start = t0 + day * DAY
        bouts = normal_day(normal_rng, profile, day_start)
        ctx = Context(profile, day_start, tuple(past))
        injections: list[tuple[str, Injection, bool]] = []
        taken: list[tuple[float, float]] = []
        plan = [
            (CHEATS, True, cheats and cheater and inject_rng.random() < CHEAT_DAY_RATE),
            (LEGIT_UNUSUAL, False, legit_unusual and inject_rng.random() < LEGIT_DAY_RATE),
        ]
        for generators, is_cheat, wanted in plan:
            got = inject(inject_rng, generators, ctx, bouts, taken) if wanted else None
            if got is not None:
                injections.append((got[0], got[1], is_cheat))
                taken.append((got[1].start_s, got[1].end_s))
        for _, inj, _ in injections:
            bouts = clear_around(bouts, inj)
        extra = [b for _, inj, _ in injections for b in inj.bouts]
        for b in drop_overlaps(bouts + extra, margin_s=0.0):
            bout_rng = np.random.default_rng([seed, index, int(b.start_s * 1000)])
            points += render(bout_rng, b, profile, phone_timing)
            if b.tag in ("walk", "run"):
                past.append(b)
        for family, inj, is_cheat in injections:
            points += inj.points
            lo, hi = inj.span or (inj.start_s, inj.end_s)
            spans.append(
                LabeledSpan(profile.user_id, int(lo * 1e9), int(hi * 1e9), family, is_cheat)
            )
        past = past[-40:]
    return profile, points, spans


def simulate(
    n_users: int,
    days: int,
    seed: int,
    *,
    cheats: bool = True,
    legit_unusual: bool = True,
    start: datetime | None = None,
    phone_timing: bool = False,
) -> SimulatedData:
    """Simulates ``n_users`` for ``days`` days from ``start`` (UTC midnight; default 2026-03-02);
    ``phone_timing``: the points' boundaries at 10 ms, not on 5-second cells (``render``)."""
    start = start or DEFAULT_START
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    timed: list[tuple[int, int, int, dict[str, Any] | list[dict[str, Any]]]] = []
    spans: list[LabeledSpan] = []
    data = SimulatedData([], spans, float(n_users * days))
    for i in range(n_users):
        profile, points, user_spans = simulate_user(
            seed, i, days, start, cheats, legit_unusual, phone_timing
        )
        emit_rng = np.random.default_rng([seed, i, 7])
        for seq, (sent, message) in enumerate(emit(emit_rng, profile, points)):
            timed.append((sent, i, seq, message))
        spans += user_spans
        data.points[profile.user_id] = points
        data.profiles[profile.user_id] = profile
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    data.events = [m for *_, m in timed]
    return data
