"""How the shipped detector generalises to cheat variants the simulator never produced.

``python -m model_export.eval.variants [--quick] [--out docs/variants.md]`` injects each variant of
``model_export.eval.variant_gens`` into simulated users' days (the simulator's normal days, injected
and cleared as ``model_export.simulate`` does), into the same days with their walks timed as a phone
times its points (``render(phone_timing=True)``), and into the real Fitabase users' days (cleared as
``model_export.realdata`` does), scores them through ``stream.pipeline.score_results`` with the
shipped detector, and reports per variant the window recall, the reasons that fired, whole-bout
detection, and for missed windows the rule that came nearest.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from model_export import realdata
from model_export.eval.labels import LabeledWindows, label
from model_export.eval.metrics import FamilyResult, evaluate_scores
from model_export.eval.variant_gens import VARIANTS
from model_export.sim.emit import Message, emit
from model_export.sim.normal import drop_overlaps, normal_day
from model_export.sim.profile import draw_profile
from model_export.sim.render import render
from model_export.sim.types import NS, Bout, LabeledSpan, RawPoint
from model_export.sim.unusual import Context
from model_export.simulate import DAY, DEFAULT_START, clear_around, inject
from stream.parsing import parse_obj
from stream.pipeline import score_results
from stream.scoring.base import THRESHOLD
from stream.scoring.detector import Detector, load_detector
from stream.scoring.plausibility import CHECKS, window_ratios

F64 = npt.NDArray[np.float64]
DEFAULT_OUT = Path("docs") / "variants.md"
RULES: tuple[str, ...] = (*CHECKS, "autoencoder")


@dataclass(frozen=True, slots=True)
class RunConfig:
    sim_users: int = 64
    sim_days: int = 5
    sim_seed: int = 20261126
    real_users: int | None = None  # None: all 22
    real_days: int | None = None  # None: every day
    real_seed: int = 11


QUICK = RunConfig(sim_users=4, sim_days=4, real_users=2, real_days=8)


@dataclass(slots=True)
class Injected:
    """One benchmark of injected variants, as events with their spans."""

    events: list[Message]
    spans: list[LabeledSpan]
    user_days: float


@dataclass(slots=True)
class VariantResult:
    """One variant on one benchmark: the family figures, reasons fired, and what misses neared."""

    figures: FamilyResult
    reasons: Counter[str] = field(default_factory=Counter)
    missed: int = 0  # windows of the variant that did not alert
    nearest: Counter[str] = field(default_factory=Counter)  # the top rule of each missed window
    near: dict[str, float] = field(default_factory=dict)  # each rule's median over the misses


@dataclass(slots=True)
class BenchResult:
    name: str
    windows: int
    user_days: float
    false_alerts: int
    variants: dict[str, VariantResult]


def schedule(names: Sequence[str], user: int, day: int, days: int) -> str:
    """Round robin over users and days, so every variant gets the same share of user-days."""
    return names[(user * days + day) % len(names)]


def simulate_variants(
    n_users: int, days: int, seed: int, names: Sequence[str], phone_timing: bool = False
) -> Injected:
    """Simulated users (normal days as ``simulate``), one variant injected on each day;
    ``phone_timing``: the normal days' points (and so the walks a replay copies) at 10 ms."""
    timed: list[tuple[int, int, int, Message]] = []
    spans: list[LabeledSpan] = []
    t0 = DEFAULT_START.timestamp()
    for i in range(n_users):
        normal_rng, inject_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence([seed, i]).spawn(2)
        )
        profile = draw_profile(normal_rng, f"var{seed}-{i:04d}")
        points: list[RawPoint] = []
        past: list[Bout] = []
        for day in range(days):
            day_start = t0 + day * DAY
            bouts = normal_day(normal_rng, profile, day_start)
            name = schedule(names, i, day, days)
            ctx = Context(profile, day_start, tuple(past))
            got = inject(inject_rng, {name: VARIANTS[name].generate}, ctx, bouts, [])
            extra: list[Bout] = []
            if got is not None:
                bouts = clear_around(bouts, got[1])
                extra = got[1].bouts
            for b in drop_overlaps(bouts + extra, margin_s=0.0):
                bout_rng = np.random.default_rng([seed, i, int(b.start_s * 1000)])
                points += render(bout_rng, b, profile, phone_timing)
                if b.tag in ("walk", "run"):
                    past.append(b)
            if got is not None:
                inj = got[1]
                points += inj.points
                lo, hi = inj.span or (inj.start_s, inj.end_s)
                spans.append(LabeledSpan(profile.user_id, int(lo * NS), int(hi * NS), name, True))
            past = past[-40:]
        emit_rng = np.random.default_rng([seed, i, 7])
        for seq, (sent, message) in enumerate(emit(emit_rng, profile, points)):
            timed.append((sent, i, seq, message))
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    return Injected([m for *_, m in timed], spans, float(n_users * days))


def real_variants(users: list[realdata.RealUser], seed: int, names: Sequence[str]) -> Injected:
    """The real users' complete days, one variant injected on each (as ``inject_cheats``)."""
    timed: list[tuple[int, int, int, Message]] = []
    spans: list[LabeledSpan] = []
    user_days = 0
    for ui, user in enumerate(users):
        rng = np.random.default_rng([seed, ui])
        profile = realdata.profile_for(user)
        steps = user.steps.copy()
        extra: list[RawPoint] = []
        walks = realdata.real_walks(user, realdata.minute_points(user, steps))
        for day in range(steps.shape[0] // 1440):
            if np.isnan(steps[day * 1440 : (day + 1) * 1440]).any():
                continue
            name = names[user_days % len(names)]  # round robin over all user-days
            user_days += 1
            day_start = user.start.timestamp() + day * 86_400
            ctx = Context(profile, day_start, tuple(w for w in walks if w.end_s < day_start))
            inj = VARIANTS[name].generate(rng, ctx)
            if inj is None:
                continue
            realdata.clear_minutes(steps, user, inj)
            extra += realdata.injected_points(rng, inj, profile)
            lo, hi = inj.span or (inj.start_s, inj.end_s)
            spans.append(LabeledSpan(user.user_id, int(lo * NS), int(hi * NS), name, True))
        points = realdata.minute_points(user, steps) + extra
        for seq, (sent, message) in enumerate(emit(rng, profile, points)):
            timed.append((sent, ui, seq, message))
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    return Injected([m for *_, m in timed], spans, float(user_days))


def miss_ratios(detector: Detector, lw: LabeledWindows, missed: npt.NDArray[np.bool_]) -> F64:
    """``[missed windows, rules]``: each check's ratio to its limit and the model's score."""
    idx = np.flatnonzero(missed)
    if idx.size == 0:
        return np.zeros((0, len(RULES)))
    windows = [lw.windows[i] for i in idx]
    ratios, _ = window_ratios(windows, detector.grid)
    ae = np.array([v.score for v in detector.autoencoder.score(windows)], dtype=np.float64)
    return np.column_stack([ratios, ae])


def score_bench(name: str, data: Injected, detector: Detector) -> BenchResult:
    """Scores a benchmark the way ``lifeup score`` does and reduces it per variant."""
    run = score_results((parse_obj(e) for e in data.events), detector, detector.grid)
    windows = [w for w, _ in run.verdicts]
    scores = np.array([v.score for _, v in run.verdicts], dtype=np.float64)
    reasons = [v.reasons for _, v in run.verdicts]
    lw = label(name, windows, data.spans, data.user_days)
    result = evaluate_scores(lw, "combined", scores)
    flags = scores >= THRESHOLD
    out: dict[str, VariantResult] = {}
    for variant, figures in result.families.items():
        mask = lw.family_mask(variant)
        vr = VariantResult(figures)
        for i in np.flatnonzero(mask & flags):
            vr.reasons.update(reasons[i])
        table = miss_ratios(detector, lw, mask & ~flags)
        vr.missed = table.shape[0]
        if vr.missed:
            vr.nearest.update(RULES[int(b)] for b in table.argmax(axis=1))
            vr.near = dict(zip(RULES, np.median(table, axis=0).tolist(), strict=True))
        out[variant] = vr
    return BenchResult(name, len(windows), data.user_days, result.false_alerts, out)


def run(config: RunConfig, progress: bool = True) -> tuple[list[BenchResult], dict[str, float]]:
    """Both benchmarks (real only when ``../shared/data/fitabase`` is present)."""
    say = print if progress else (lambda _: None)
    detector = load_detector()
    names = tuple(VARIANTS)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    say(f"simulated: {config.sim_users} users x {config.sim_days} days")
    sim = simulate_variants(config.sim_users, config.sim_days, config.sim_seed, names)
    benches = [score_bench("simulated", sim, detector)]
    timings["simulated_s"] = time.perf_counter() - t
    t = time.perf_counter()
    say("simulated again, the phones' points timed to 10 ms")
    timed = simulate_variants(
        config.sim_users, config.sim_days, config.sim_seed, names, phone_timing=True
    )
    benches.append(score_bench("phone-timed", timed, detector))
    timings["phone_timed_s"] = time.perf_counter() - t
    if realdata.available():
        t = time.perf_counter()
        users = realdata.load_fitabase()[: config.real_users]
        if config.real_days is not None:
            users = [replace(u, steps=u.steps[: config.real_days * 1440]) for u in users]
        say(f"real: {len(users)} Fitabase users, one variant per complete day")
        benches.append(score_bench("real", real_variants(users, config.real_seed, names), detector))
        timings["real_s"] = time.perf_counter() - t
    else:
        say("real benchmark skipped: ../shared/data/fitabase is absent")
    return benches, timings


def main(argv: Sequence[str] | None = None) -> int:
    from model_export.eval.variant_report import write_report

    parser = argparse.ArgumentParser(prog="python -m model_export.eval.variants")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the Markdown report")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else RunConfig()
    benches, timings = run(config)
    write_report(args.out, config, benches, timings)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
