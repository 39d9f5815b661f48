"""Training: normal windows → Conv1d autoencoder → calibrated, self-describing ONNX model.

Data, all through the runtime's own chain (parse → buffer → windows, ``stream.pipeline``), so the
model learns exactly the windows it will score:

- simulated users without cheats (``model_export.simulate``; legitimate-unusual bouts included:
  long runs, hikes, night walks and treadmill sessions are normal behaviour), seed ``SIM_SEED``;
- the real Fitabase users (``model_export.realdata``), when ``../shared/data`` is present.

Calibration uses users the model never saw: simulated users of another seed and every fourth
Fitabase user. The threshold is the raw error exceeded by ``FALSE_ALERT_RATE`` of those held-out
windows that carry data (``stream.scoring.calibration``), computed with onnxruntime on the
exported file, i.e. by the runtime that will use it.

Reproducible: one CPU thread, deterministic algorithms, every random draw from ``seed``. On the
same machine and library versions the same seed gives the same weights, threshold and version
(bit-exact); across CPUs or torch builds floating-point summation order may differ in the last
bits, so the threshold can differ in its last digits.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from tqdm import tqdm

from model_export.autoencoder import WindowAutoencoder, masked_mse
from model_export.export import export_onnx, parity
from model_export.windowing import windows_of
from stream.grid import DEFAULT_GRID
from stream.scoring.autoencoder import DEFAULT_MODEL_PATH, AutoencoderScorer, ModelMeta
from stream.scoring.calibration import FALSE_ALERT_RATE, false_alert_rate, threshold_at_rate
from stream.scoring.features import DEFAULT_NORMALISATION, F32, Bool, features, stack_windows
from stream.windows import Window

MODEL_SERIES = "2026.12.1"
SIM_SEED = 1101
SIM_CALIBRATION_SEED = 1102


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that decides the model; defaults build the shipped one."""

    seed: int = 0
    epochs: int = 40
    sim_users: int = 60
    sim_days: int = 14
    calibration_users: int = 30
    calibration_days: int = 7
    batch_size: int = 256
    learning_rate: float = 2e-3
    false_alert_rate: float = FALSE_ALERT_RATE
    keep_idle: float = 0.1  # share of windows without any activity kept for training
    channel_dropout: float = 0.3  # chance per window and epoch of hiding distance or speed
    use_fitabase: bool = True

    @property
    def version(self) -> str:
        """``ae-<series>`` for the defaults, with a short config hash otherwise."""
        if self == TrainConfig():
            return f"ae-{MODEL_SERIES}"
        digest = hashlib.sha256(repr(self).encode()).hexdigest()[:8]
        return f"ae-{MODEL_SERIES}+{digest}"


@dataclass(slots=True)
class WindowSet:
    """Stacked windows with the user of each, and where they came from."""

    values: F32
    masks: Bool
    users: list[str]
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, windows: Sequence[Window], summary: dict[str, Any]) -> WindowSet:
        values, masks = stack_windows(windows)
        return cls(values, masks, [w.user_id for w in windows], summary)

    def select(self, keep: npt.NDArray[np.bool_]) -> WindowSet:
        users = [u for u, k in zip(self.users, keep.tolist(), strict=True) if k]
        return WindowSet(self.values[keep], self.masks[keep], users, self.summary)

    def __len__(self) -> int:
        return int(self.values.shape[0])


def concat(sets: Sequence[WindowSet]) -> WindowSet:
    return WindowSet(
        np.concatenate([s.values for s in sets]),
        np.concatenate([s.masks for s in sets]),
        [u for s in sets for u in s.users],
    )


def simulated(seed: int, users: int, days: int) -> WindowSet:
    from model_export.simulate import simulate

    data = simulate(users, days, seed, cheats=False, legit_unusual=True)
    windows = windows_of(data.events)
    summary = {"seed": seed, "users": users, "days": days, "windows": len(windows)}
    return WindowSet.of(windows, summary)


def fitabase() -> tuple[WindowSet, WindowSet] | None:
    """(training users, held-out users) of Fitabase; None when the data is absent."""
    from model_export import realdata

    if not realdata.available():
        return None
    users = realdata.load_fitabase()
    held = sorted(u.user_id for u in users)[3::4]
    windows = windows_of(realdata.normal_events(users))
    everything = WindowSet.of(windows, {})
    is_held = np.array([u in held for u in everything.users], dtype=np.bool_)
    train = everything.select(~is_held)
    calib = everything.select(is_held)
    train.summary = {"users": len(users) - len(held), "windows": len(train)}
    calib.summary = {"users": len(held), "windows": len(calib), "user_ids": held}
    return train, calib


def has_data(ws: WindowSet) -> npt.NDArray[np.bool_]:
    return np.asarray(ws.masks.any(axis=(1, 2)), dtype=np.bool_)


def training_inputs(ws: WindowSet, config: TrainConfig, rng: np.random.Generator) -> F32:
    """Model inputs of the windows with data; idle ones thinned to ``keep_idle``."""
    x, _ = features(ws.values, ws.masks, DEFAULT_NORMALISATION)
    data = has_data(ws)
    active = (ws.values.sum(axis=2) > 0).any(axis=1)
    keep = data & (active | (rng.random(len(ws)) < config.keep_idle))
    out: F32 = x[keep]
    return out


def drop_channels(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Hides distance and/or speed (values and weights): phones often lack them."""
    out = x.clone()
    for ch in (1, 2):
        hide = torch.rand(x.shape[0], generator=generator) < p
        out[hide, ch, :] = 0.0
        out[hide, ch + 3, :] = 0.0
    return out


def fit(x: F32, config: TrainConfig, bins: int) -> tuple[WindowAutoencoder, float]:
    """Trains on ``x`` with Adam; returns the model and the last epoch's mean loss."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = WindowAutoencoder(bins)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    data = torch.from_numpy(x)
    loss_value = float("nan")
    progress = tqdm(range(config.epochs), desc="training", unit="epoch")
    for _ in progress:
        model.train()
        order = torch.randperm(data.shape[0], generator=generator)
        total, count = 0.0, 0
        for start in range(0, data.shape[0], config.batch_size):
            batch = drop_channels(
                data[order[start : start + config.batch_size]], config.channel_dropout, generator
            )
            loss = masked_mse(batch, model(batch))
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            total += loss.item() * batch.shape[0]
            count += batch.shape[0]
        loss_value = total / max(count, 1)
        progress.set_postfix(loss=f"{loss_value:.5f}")
    model.eval()
    return model, loss_value


@dataclass(slots=True)
class TrainingData:
    """Windows to learn from, held-out windows to calibrate on, and where both came from."""

    train: WindowSet
    calibration: WindowSet
    summary: dict[str, Any]


def training_data(config: TrainConfig) -> TrainingData:
    """Simulated users (and Fitabase, when present), split into training and calibration."""
    train_sets = [simulated(SIM_SEED + 10 * config.seed, config.sim_users, config.sim_days)]
    calib_sets = [
        simulated(
            SIM_CALIBRATION_SEED + 10 * config.seed,
            config.calibration_users,
            config.calibration_days,
        )
    ]
    summary: dict[str, Any] = {"simulated": train_sets[0].summary}
    summary["simulated_calibration"] = calib_sets[0].summary
    real = fitabase() if config.use_fitabase else None
    if real is not None:
        train_sets.append(real[0])
        calib_sets.append(real[1])
        summary["fitabase"] = real[0].summary
        summary["fitabase_calibration"] = real[1].summary
    calib = concat(calib_sets)
    return TrainingData(concat(train_sets), calib.select(has_data(calib)), summary)


def train(
    config: TrainConfig | None = None,
    out: Path = DEFAULT_MODEL_PATH,
    data: TrainingData | None = None,
) -> ModelMeta:
    """Builds, trains, exports and calibrates the model; writes it to ``out``."""
    config = config or TrainConfig()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    grid = DEFAULT_GRID
    rng = np.random.default_rng(config.seed)
    data = data or training_data(config)
    summary = dict(data.summary)
    x = training_inputs(data.train, config, rng)
    model, loss = fit(x, config, grid.window_bins)
    summary.update(
        seed=config.seed,
        epochs=config.epochs,
        train_windows=int(x.shape[0]),
        final_loss=round(loss, 6),
    )
    meta = ModelMeta(
        version=config.version,
        grid=grid,
        normalisation=DEFAULT_NORMALISATION,
        threshold=1.0,
        false_alert_rate=config.false_alert_rate,
        training=summary,
    )
    export_onnx(model, meta, out)
    calib = data.calibration
    errors, _ = AutoencoderScorer(out).errors(calib.values, calib.masks)
    threshold = threshold_at_rate(errors, config.false_alert_rate)
    summary.update(
        calibration_windows=len(calib),
        calibration_false_alert_rate=round(false_alert_rate(errors, threshold), 6),
        parity_max_abs_diff=parity(model, out, x[:512]),
    )
    meta = dataclasses.replace(meta, threshold=threshold, training=summary)
    export_onnx(model, meta, out)
    return meta
