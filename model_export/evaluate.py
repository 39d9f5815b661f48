"""``lifeup evaluate``: the detector and its baselines on simulated and real users with cheats.

Two benchmarks, both with fixed seeds: simulated users with injected cheats and legitimate-unusual
bouts (``model_export.simulate``), and the real Fitabase users with cheats (and unusual bouts)
injected into their real days (``model_export.realdata``). Five scorers see the same windows:
the autoencoder alone, the plausibility checks alone, both combined (the shipped detector), an
IsolationForest trained on normal windows, and the earlier system's method on the same events
as per-user-hour requests. ``model_export.eval.report`` writes the Markdown report and plots.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_export import realdata
from model_export.baselines import IsolationForestScorer
from model_export.eval.labels import (
    LabeledWindows,
    build_windows,
    first_windows,
    label,
    windows_of_results,
)
from model_export.eval.metrics import ScorerResult, evaluate_scores
from model_export.seed_method import requests_from_results, seed_detect
from model_export.simulate import simulate
from stream.parsing import parse_obj
from stream.points import ParseResult
from stream.scoring.base import WindowScore
from stream.scoring.detector import Detector, load_detector
from stream.scoring.retro import carry_back, first_verdicts
from stream.windows import Window

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
DEFAULT_OUT = Path("docs") / "evaluation"  # relative to where it runs: the repository's root
IF_TRAIN_SEED = 1101  # the simulated seed the autoencoder is trained on


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """Sizes and seeds; the defaults make the published report (a few minutes here)."""

    sim_users: int = 40
    sim_days: int = 7
    sim_seed: int = 20261125
    real_users: int | None = None  # None: all 22 Fitabase users
    real_days: int | None = None  # None: every day of each user
    real_seed: int = 7
    real_cheat_rate: float = 0.5
    real_legit_rate: float = 0.2
    if_train_users: int = 20
    if_train_days: int = 7
    model_path: Path | None = None
    out_dir: Path = DEFAULT_OUT


QUICK = EvalConfig(sim_users=6, sim_days=3, real_users=3, real_days=5, if_train_users=4,
                   if_train_days=2)  # fmt: skip


@dataclass(slots=True)
class DatasetResult:
    """One benchmark: its labelled windows, every scorer's scores and figures."""

    labeled: LabeledWindows
    scores: dict[str, F64]
    results: dict[str, ScorerResult]
    reasons: list[tuple[str, ...]]
    notes: dict[str, Any] = field(default_factory=dict)
    # per scorer that carries findings back: when each window's alert would be sent (event
    # time, ns), and how many windows were flagged retroactively
    sent_ns: dict[str, I64] = field(default_factory=dict)
    carried: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Evaluation:
    config: EvalConfig
    model_version: str
    false_alert_rate: float
    datasets: dict[str, DatasetResult]
    timings_s: dict[str, float]
    detector: Detector

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (``results.json`` in the report folder)."""
        return {
            "model_version": self.model_version,
            "config": {
                k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.config).items()
            },
            "timings_s": self.timings_s,
            "datasets": {
                name: {
                    "windows": len(d.labeled.windows),
                    "user_days": d.labeled.user_days,
                    "notes": d.notes,
                    "carried_back": d.carried,
                    "scorers": {s: asdict(r) for s, r in d.results.items()},
                }
                for name, d in self.datasets.items()
            },
        }


def seed_scores(results: list[ParseResult], windows: list[Window]) -> F64:
    """The earlier method's score per window (0 where it got no request for that hour)."""
    requests = requests_from_results(results)
    out = np.zeros(len(windows))
    for i, w in enumerate(windows):
        req = requests.get((w.user_id, w.start_ns))
        if req is not None:
            out[i] = float(seed_detect(req)["score"])
    return out


@dataclass(frozen=True, slots=True)
class Carried:
    """A scorer's verdicts after the retroactive carry (``stream.scoring.retro``), as the
    worker sends them: each window's verdict, and when its alert would leave (the end of the
    window, or of the next one for an alert carried back from it)."""

    verdicts: list[WindowScore]
    sent_ns: I64
    count: int


def carried(windows: list[Window], verdicts: list[WindowScore]) -> Carried:
    """``carry_back`` over a run's windows (sorted by user and start, as ``label`` has them),
    after late manual points' windows fold into their hours (``first_verdicts``; their alert is
    counted at the hour's end, although it leaves when the entry arrives)."""
    run = carry_back(first_verdicts(list(zip(windows, verdicts, strict=True))))
    hours = [w for w, _ in run]
    sent = np.array([w.end_ns for w in hours], dtype=np.int64)
    back = [i for i, (_, v) in enumerate(run) if v.carried]
    for i in back:
        sent[i] = hours[i + 1].end_ns
    return Carried([v for _, v in run], sent, len(back))


def scorer_scores(
    detector: Detector, forest: IsolationForestScorer, windows: list[Window]
) -> tuple[dict[str, F64], list[tuple[str, ...]], dict[str, Carried]]:
    """Scores of the four window scorers, the combined detector's reasons per window, and the
    carry of the two that carry findings back (the detector and its checks)."""

    def arr(verdicts: list[WindowScore]) -> F64:
        return np.array([v.score for v in verdicts], dtype=np.float64)

    carries = {
        "combined": carried(windows, detector.score(windows)),
        "plausibility": carried(windows, detector.plausibility.score(windows)),
    }
    hours = first_windows(windows)
    scores = {
        "combined": arr(carries["combined"].verdicts),
        "autoencoder": arr(detector.autoencoder.score(hours)),
        "plausibility": arr(carries["plausibility"].verdicts),
        "isolation_forest": arr(forest.score(hours)),
    }
    return scores, [v.reasons for v in carries["combined"].verdicts], carries


def run_dataset(
    name: str,
    events: list[Any],
    spans: list[Any],
    user_days: float,
    detector: Detector,
    forest: Callable[[LabeledWindows], IsolationForestScorer],
    timings: dict[str, float],
) -> DatasetResult:
    t = time.perf_counter()
    parsed = [parse_obj(e) for e in events]
    windows = windows_of_results(parsed, detector.grid)
    lw = label(name, first_windows(windows), spans, user_days)
    timings[f"{name}_windows"] = time.perf_counter() - t
    t = time.perf_counter()
    scores, reasons, carries = scorer_scores(detector, forest(lw), windows)
    timings[f"{name}_score"] = time.perf_counter() - t
    t = time.perf_counter()
    scores["seed_method"] = seed_scores(parsed, lw.windows)
    timings[f"{name}_seed_method"] = time.perf_counter() - t
    sent = {s: c.sent_ns for s, c in carries.items()}
    results = {s: evaluate_scores(lw, s, v, sent.get(s)) for s, v in scores.items()}
    return DatasetResult(
        lw, scores, results, reasons, sent_ns=sent, carried={s: c.count for s, c in carries.items()}
    )


def normal_windows(lw: LabeledWindows, exclude_users: set[str]) -> list[Window]:
    return [
        w
        for w, n in zip(lw.windows, lw.normal, strict=True)
        if n and w.user_id not in exclude_users
    ]


def evaluate(config: EvalConfig, progress: Callable[[str], None] = print) -> Evaluation:
    """Runs both benchmarks; writes nothing (see ``model_export.eval.report.write_report``)."""
    timings: dict[str, float] = {}
    detector = load_detector(config.model_path)
    meta = detector.autoencoder.meta
    rate = meta.false_alert_rate if np.isfinite(meta.false_alert_rate) else 0.0005

    progress("training the IsolationForest baseline on normal simulated windows")
    t = time.perf_counter()
    train = simulate(config.if_train_users, config.if_train_days, IF_TRAIN_SEED, cheats=False)
    train_windows = build_windows(train.events, detector.grid)
    timings["if_train_windows"] = time.perf_counter() - t
    held = set(meta.training.get("fitabase_calibration", {}).get("user_ids", []))

    def forest_for(lw: LabeledWindows) -> IsolationForestScorer:
        # Like the autoencoder, it also learns the real users' normal days (not held-out users).
        extra = normal_windows(lw, held) if lw.name == "real" else []
        return IsolationForestScorer(seed=0).fit(train_windows + extra, rate)

    datasets: dict[str, DatasetResult] = {}
    progress(f"simulated benchmark: {config.sim_users} users x {config.sim_days} days")
    t = time.perf_counter()
    sim = simulate(config.sim_users, config.sim_days, config.sim_seed)
    timings["sim_simulate"] = time.perf_counter() - t
    datasets["simulated"] = run_dataset(
        "simulated", sim.events, sim.spans, sim.user_days, detector, forest_for, timings
    )
    if realdata.available():
        users = realdata.load_fitabase()[: config.real_users]
        if config.real_days is not None:
            users = [replace(u, steps=u.steps[: config.real_days * 1440]) for u in users]
        progress(f"real benchmark: {len(users)} Fitabase users with injected cheats")
        bench = realdata.inject_cheats(
            users, config.real_seed, config.real_cheat_rate, legit_rate=config.real_legit_rate
        )
        res = run_dataset(
            "real", bench.events, bench.spans, bench.user_days, detector, forest_for, timings
        )
        res.notes = real_notes(res, held, users)
        datasets["real"] = res
    else:
        progress("real benchmark skipped: ../shared/data/fitabase is absent")
    return Evaluation(config, detector.version, rate, datasets, timings, detector)


def real_notes(
    res: DatasetResult, held: set[str], users: list[realdata.RealUser]
) -> dict[str, Any]:
    """False alerts on the Fitabase users the autoencoder did not train on, reported apart
    (it trained on the other users' real days, which are this benchmark's normal time)."""
    unseen = [u for u in users if u.user_id in held]
    if not unseen:
        return {"held_out_users": 0}
    ids = {u.user_id for u in unseen}
    days = sum(len(u.days()) for u in unseen)
    mask = np.array([w.user_id in ids for w in res.labeled.windows]) & res.labeled.normal
    alerts = {s: int(((v >= 1.0) & mask).sum()) for s, v in res.scores.items()}
    return {
        "held_out_users": len(unseen),
        "held_out_user_days": days,
        "held_out_false_alerts": alerts,
        "held_out_false_alerts_per_user_day": {s: a / days for s, a in alerts.items()},
    }
