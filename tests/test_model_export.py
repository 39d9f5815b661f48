"""ONNX export: parity with torch, the metadata round trip, a dynamic batch, reproducible training,
and the shipped model's self-description."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from model_export.autoencoder import WindowAutoencoder, masked_mse  # noqa: E402
from model_export.export import export_onnx, parity  # noqa: E402
from model_export.train import TrainConfig, train  # noqa: E402
from stream.grid import DEFAULT_GRID, GridSpec  # noqa: E402
from stream.scoring.autoencoder import (  # noqa: E402
    DEFAULT_MODEL_PATH,
    FEATURES_VERSION,
    AutoencoderScorer,
    ModelMeta,
    open_session,
)
from stream.scoring.features import DEFAULT_NORMALISATION, N_INPUTS, window_features  # noqa: E402
from tests.scoring_cases import CASES, normal_walk  # noqa: E402

META = ModelMeta(
    version="ae-test.1",
    grid=DEFAULT_GRID,
    normalisation=DEFAULT_NORMALISATION,
    threshold=0.0421,
    false_alert_rate=0.0005,
    training={"simulated": {"users": 3}, "seed": 7},
)


@pytest.fixture
def model() -> WindowAutoencoder:
    torch.manual_seed(3)
    return WindowAutoencoder(DEFAULT_GRID.window_bins).eval()


def test_onnxruntime_matches_torch(model: WindowAutoencoder, tmp_path: Path) -> None:
    path = export_onnx(model, META, tmp_path / "m.onnx")
    x, _ = window_features([normal_walk(s) for s in range(7)] + [c() for c in CASES.values()])
    assert parity(model, path, x) < 1e-5
    assert parity(model, path, x[:1]) < 1e-5  # batch of one: the batch dimension is dynamic
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 8, (33, N_INPUTS, 60)).astype(np.float32)
    assert parity(model, path, noise) < 1e-5


def test_metadata_round_trip(model: WindowAutoencoder, tmp_path: Path) -> None:
    path = export_onnx(model, META, tmp_path / "m.onnx")
    assert AutoencoderScorer(path).meta == META
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["grid"]) == DEFAULT_GRID.to_dict()
    assert float(props["threshold"]) == 0.0421
    other = ModelMeta(
        "ae-x", GridSpec(bin_s=30, window_bins=120), DEFAULT_NORMALISATION, 2.5, 0.001
    )
    assert ModelMeta.from_props(other.to_props()) == other


def test_model_without_metadata_is_refused(model: WindowAutoencoder, tmp_path: Path) -> None:
    path = export_onnx(model, META, tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "bare.onnx"))
    with pytest.raises(ValueError, match="metadata"):
        AutoencoderScorer(tmp_path / "bare.onnx")


def test_masked_loss_ignores_missing_channels(model: WindowAutoencoder) -> None:
    x, _ = window_features([normal_walk(0)])
    xt = torch.from_numpy(x)
    hidden = xt.clone()
    hidden[:, 2, :] = 0.0
    hidden[:, 5, :] = 0.0
    recon = torch.zeros(1, 3, 60)
    garbage = recon.clone()
    garbage[:, 2, :] = 50.0  # anything where the speed weight is 0 costs nothing
    assert float(masked_mse(hidden, recon)) == pytest.approx(float(masked_mse(hidden, garbage)))


def test_shipped_model_describes_itself() -> None:
    scorer = AutoencoderScorer(DEFAULT_MODEL_PATH)
    meta = scorer.meta
    assert meta.version.startswith("ae-")
    assert meta.grid == DEFAULT_GRID
    assert meta.features == FEATURES_VERSION
    assert 0 < meta.false_alert_rate < 0.01 and meta.threshold > 0
    inputs = open_session(DEFAULT_MODEL_PATH).get_inputs()[0]
    assert inputs.shape[1:] == [N_INPUTS, DEFAULT_GRID.window_bins]
    assert isinstance(inputs.shape[0], str)  # dynamic batch
    assert DEFAULT_MODEL_PATH.stat().st_size < 1_000_000


@pytest.mark.slow
def test_training_is_reproducible(tmp_path: Path) -> None:
    """Same seed → same bytes (one thread, deterministic maths); another seed → another model."""
    config = TrainConfig(
        epochs=2,
        sim_users=3,
        sim_days=2,
        calibration_users=2,
        calibration_days=2,
        use_fitabase=False,
    )
    a = train(config, tmp_path / "a.onnx")
    b = train(config, tmp_path / "b.onnx")
    assert a == b
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert a.version == b.version != TrainConfig().version
    c = train(_reseed(config), tmp_path / "c.onnx")
    assert c.threshold != a.threshold
    assert a.training["parity_max_abs_diff"] < 1e-5
    assert a.training["calibration_windows"] > 0


def _reseed(config: TrainConfig) -> TrainConfig:
    import dataclasses

    return dataclasses.replace(config, seed=config.seed + 1)
