"""The shared check suite every scorer passes (River style), and the detector's combination rule.

Scorers: the shipped autoencoder, the plausibility checks and the combined detector, each through
the same ``WindowScorer`` contract: empty in → empty out, deterministic, batch-independent,
silent on normal windows, firing on their target cases.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stream.scoring.autoencoder import AutoencoderScorer
from stream.scoring.base import THRESHOLD, WindowScorer
from stream.scoring.detector import Detector, load_detector
from stream.scoring.plausibility import CHECKS, PlausibilityScorer
from stream.windows import Window
from tests.scoring_cases import CASES, fitabase_or_skip, normal_walk, simulated_normal, walk, window

DETECTOR = load_detector()
SCORERS: dict[str, WindowScorer] = {
    "autoencoder": DETECTOR.autoencoder,
    "plausibility": DETECTOR.plausibility,
    "detector": DETECTOR,
}
# The cases each scorer is built to catch; the autoencoder's own case is an unusual shape.
TARGETS: dict[str, list[str]] = {
    "autoencoder": ["unusual_shape"],
    "plausibility": list(CHECKS),
    "detector": [*CHECKS, "unusual_shape"],
}


def unusual_shape() -> Window:
    """A rhythm no walk or run has: one minute at 230 steps every six minutes, all hour long,
    with matching distance. Within every physical limit: only the model can call it out."""
    steps = np.tile([0.0, 0.0, 0.0, 0.0, 0.0, 230.0], 10)
    return window(steps, steps * 0.7)


def case(name: str) -> Window:
    return unusual_shape() if name == "unusual_shape" else CASES[name]()


@pytest.mark.parametrize("name", SCORERS)
def test_contract(name: str) -> None:
    scorer = SCORERS[name]
    assert isinstance(scorer, WindowScorer)
    assert scorer.score([]) == []


@pytest.mark.parametrize("name", SCORERS)
def test_deterministic_and_batch_independent(name: str) -> None:
    scorer = SCORERS[name]
    windows = [normal_walk(s) for s in range(5)] + [case(c) for c in TARGETS[name]]
    first = scorer.score(windows)
    assert scorer.score(windows) == first
    alone = [scorer.score([w])[0] for w in windows]
    for a, b in zip(alone, first, strict=True):
        assert a.reasons == b.reasons
        assert a.score == pytest.approx(b.score, rel=1e-5, abs=1e-6)
    reverse = scorer.score(windows[::-1])[::-1]
    assert [s.reasons for s in reverse] == [s.reasons for s in first]
    assert [s.score for s in reverse] == pytest.approx([s.score for s in first], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", SCORERS)
def test_fires_on_its_targets(name: str) -> None:
    scorer = SCORERS[name]
    for target in TARGETS[name]:
        verdict = scorer.score([case(target)])[0]
        assert verdict.anomalous, (name, target, verdict)


@pytest.mark.parametrize("name", SCORERS)
def test_silent_on_normal_windows(name: str) -> None:
    """At most 1 % of ordinary simulated hours and 1 % of held-out real hours alert.

    The model is calibrated at 0.05 % of held-out windows; 1 % leaves room for these small samples
    and still fails for a model that alerts on everyday activity."""
    scorer = SCORERS[name]
    for windows in (list(simulated_normal()), fitabase_or_skip()):
        flagged = sum(v.anomalous for v in scorer.score(windows))
        assert flagged <= 0.01 * len(windows), (name, flagged, len(windows))


def test_detector_combines_max_score_and_union_of_reasons() -> None:
    windows = [case(c) for c in [*CHECKS, "unusual_shape"]] + [normal_walk(1)]
    ae = DETECTOR.autoencoder.score(windows)
    checks = DETECTOR.plausibility.score(windows)
    both = DETECTOR.score(windows)
    for a, c, d in zip(ae, checks, both, strict=True):
        assert d.score == pytest.approx(max(a.score, c.score), rel=1e-6)
        assert set(d.reasons) == set(a.reasons) | set(c.reasons)
        assert d.anomalous == (a.anomalous or c.anomalous)


def test_autoencoder_names_the_dominant_channel() -> None:
    verdict = DETECTOR.autoencoder.score([unusual_shape()])[0]
    top = max(verdict.channels, key=lambda k: verdict.channels[k])
    assert verdict.reasons == (f"unusual_pattern_{top}",)
    assert sum(verdict.channels.values()) == pytest.approx(1.0, abs=1e-3)


def test_missing_channels_are_not_anomalies() -> None:
    """A steps-only walk scores like the same walk with its distance: absence is not evidence."""
    steps = walk(10, 30, 110.0)
    only_steps, with_distance = DETECTOR.autoencoder.score(
        [window(steps), window(steps, steps * 0.72)]
    )
    assert only_steps.score < THRESHOLD and with_distance.score < THRESHOLD
    assert only_steps.channels["distance"] == 0.0 and only_steps.channels["speed"] == 0.0


def test_window_without_data_scores_zero_without_inference() -> None:
    empty = dataclasses.replace(window(None), mask=np.zeros((3, 60), dtype=np.bool_))
    assert DETECTOR.autoencoder.score([empty])[0].score == 0.0


def test_reconstruction_has_window_shape_and_units() -> None:
    w = [normal_walk(0), normal_walk(1)]
    recon = DETECTOR.autoencoder.reconstruct(w)
    assert recon.shape == (2, 3, 60) and recon.dtype == np.float32
    walking = w[0].values[0] > 0
    assert abs(float(recon[0, 0, walking].mean()) - float(w[0].values[0, walking].mean())) < 40.0


def test_load_detector_reads_the_settings_path(tmp_path, monkeypatch) -> None:
    from stream.settings import get_settings

    target = tmp_path / "model.onnx"
    target.write_bytes(DETECTOR.autoencoder.path.read_bytes())
    monkeypatch.setenv("LIFEUP_MODEL_PATH", str(target))
    get_settings.cache_clear()
    try:
        assert load_detector().autoencoder.path == target
    finally:
        get_settings.cache_clear()
    assert isinstance(Detector(AutoencoderScorer(target)).plausibility, PlausibilityScorer)
