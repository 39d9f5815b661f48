"""``lifeup evaluate``: its metrics on hand-built cases, the baselines, and the command itself."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from model_export.eval.labels import build_windows, label
from model_export.eval.metrics import auc, evaluate_scores, roc_curve, tpr_at_fpr
from model_export.seed_method import (
    SERIES,
    Request,
    load_weights,
    requests_from_events,
    seed_detect,
)
from model_export.sim.types import LabeledSpan
from model_export.simulate import simulate
from stream.grid import DEFAULT_GRID
from stream.windows import Window, WindowTotals

HOUR_NS = DEFAULT_GRID.window_ns
MIN_NS = 60 * 10**9


def window(user: str, hour: int, steps: float = 0.0) -> Window:
    values = np.zeros((3, 60), dtype=np.float32)
    values[0] = steps
    mask = np.zeros((3, 60), dtype=bool)
    mask[0] = steps > 0
    totals = WindowTotals(int(steps * 60), 0.0, 0)
    return Window(user, hour * HOUR_NS, (hour + 1) * HOUR_NS, values, mask, totals)


def test_auc_and_roc_on_known_orderings():
    pos, neg = np.array([3.0, 4.0]), np.array([1.0, 2.0])
    assert auc(pos, neg) == 1.0
    assert auc(neg, pos) == 0.0
    assert auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5
    assert auc(np.array([]), neg) is None
    fpr, tpr = roc_curve(pos, neg)
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_recall_at_a_matched_false_positive_rate():
    neg = np.arange(100, dtype=float)  # 0..99
    pos = np.array([50.0, 97.5, 98.5, 120.0])
    assert tpr_at_fpr(pos, neg, 0.0) == 0.25  # strictly above the top negative (99)
    assert tpr_at_fpr(pos, neg, 0.02) == 0.75  # above 97: negatives 98 and 99 pass (2 %)
    assert tpr_at_fpr(pos, neg, 1.0) == 1.0


def test_window_metrics_on_a_hand_built_day():
    windows = [window("u", h, steps=10.0) for h in range(6)]
    spans = [
        LabeledSpan(
            "u", 1 * HOUR_NS + 30 * MIN_NS, 2 * HOUR_NS + 10 * MIN_NS, "phone_shaker", True
        ),
        LabeledSpan("u", 4 * HOUR_NS + 5 * MIN_NS, 4 * HOUR_NS + 50 * MIN_NS, "long_run", False),
    ]
    lw = label("t", windows, spans, user_days=2.0)
    assert lw.cheat_family == [None, "phone_shaker", "phone_shaker", None, None, None]
    assert lw.legit_family[4] == "long_run"
    scores = np.array([0.1, 2.0, 0.5, 1.5, 1.2, 0.0])
    r = evaluate_scores(lw, "x", scores)
    fam = r.families["phone_shaker"]
    assert (fam.windows, fam.window_recall, fam.instances, fam.instance_recall) == (2, 0.5, 1, 1.0)
    assert lw.cheat_overlap_ns[1:3] == [30 * MIN_NS, 10 * MIN_NS]
    assert fam.core_window_recall == 0.5  # both windows hold ≥ 10 minutes; one is flagged
    assert r.flagged == 3 and r.precision == pytest.approx(1 / 3)
    assert r.false_alerts == 1 and r.false_alerts_per_user_day == 0.5
    assert r.legit_bouts == 1 and r.legit_flagged == 1.0
    assert r.legit_families == {"long_run": 1.0}
    assert r.median_delay_min == 30.0  # span starts at 1:30, its first flagged window ends at 2:00
    assert fam.auc == pytest.approx(auc(scores[1:3], scores[[0, 3, 5]]))


def request(speed: list[float]) -> Request:
    ts = [10**18 + i * 30 * 10**9 for i in range(len(speed))]
    steps = [55.0 + (i % 3) for i in range(len(speed))]
    return {
        "speed": {"values": speed, "timestamps": ts},
        "distance": {"values": [40.0] * len(speed), "timestamps": ts},
        "step_count": {"values": steps, "timestamps": ts},
    }


def test_seed_method_flags_a_spike_and_its_verdict_matches_its_score():
    calm = request([1.3] * 40)
    spiked = request([1.3] * 20 + [90.0] + [1.3] * 19)
    out = seed_detect(spiked)
    assert out["anomalies_detected"] == 1 and out["anomalous_points"] >= 1
    assert out["score"] > 1.0
    for r in (calm, spiked):
        got = seed_detect(r)
        assert got["anomalies_detected"] == int(got["score"] > 1.0)
    assert seed_detect({})["anomalies_detected"] == 0


def test_seed_method_runs_on_numpy_weights_of_a_3_8_3_network():
    w = load_weights()
    assert (w.w1.shape, w.b1.shape, w.w2.shape, w.b2.shape) == ((3, 8), (8,), (8, 3), (3,))
    assert np.isfinite(w.errors(np.ones((4, 3)))).all()


def test_seed_requests_are_per_user_hour_with_one_source_per_series():
    data = simulate(6, 1, seed=10, cheats=False, legit_unusual=False)
    requests = requests_from_events(data.events)
    assert requests
    for (user, start), req in requests.items():
        assert user in data.profiles and start % HOUR_NS == 0
        for name, series in req.items():
            assert name in SERIES
            ts = series["timestamps"]
            assert ts == sorted(ts) and all(start <= t < start + HOUR_NS for t in ts)
    multi = next(
        p
        for p in data.profiles.values()
        if len(p.sources.steps) == 3 and p.style != "health_connect"
    )
    requested = sum(
        sum(r.get("step_count", {}).get("values", []))
        for (u, _), r in requests.items()
        if u == multi.user_id
    )
    one_source = sum(
        p.value
        for p in data.points[multi.user_id]
        if p.kind == "steps" and p.source == multi.sources.steps[1]
    )
    assert requested == one_source


def test_isolation_forest_scores_a_distorted_window_above_its_threshold():
    from model_export.baselines import IsolationForestScorer

    data = simulate(6, 2, seed=77, cheats=False, legit_unusual=False)
    windows = build_windows(data.events)
    forest = IsolationForestScorer(seed=1, n_estimators=50).fit(windows, false_alert_rate=0.01)
    normal = np.array([s.score for s in forest.score(windows)])
    assert (normal >= 1.0).mean() <= 0.02
    busy = max(windows, key=lambda w: w.totals.steps)
    weird = dataclasses.replace(busy, values=busy.values * np.float32(25.0))
    assert forest.score([weird])[0].score > 1.0


@pytest.mark.slow
def test_lifeup_evaluate_quick_writes_the_report(tmp_path):
    from stream.cli import main

    assert main(["evaluate", "--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "README.md").read_text()
    results = json.loads((tmp_path / "results.json").read_text())
    for scorer in ("combined", "autoencoder", "plausibility", "isolation_forest", "seed_method"):
        assert f"| {scorer} |" in text
    sim = results["datasets"]["simulated"]
    assert sim["windows"] > 0 and set(sim["scorers"]) >= {"combined", "seed_method"}
    families = set(sim["scorers"]["combined"]["families"])
    assert families and all(f"`{f}`" in text for f in families)
    for name in results["datasets"]:
        assert (tmp_path / f"{name}_roc.png").stat().st_size > 10_000
        assert (tmp_path / f"{name}_examples.png").stat().st_size > 10_000
