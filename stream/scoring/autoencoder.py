"""The autoencoder scorer: one onnxruntime session and the metadata the ONNX file carries.

Everything needed to run a model is inside the ``.onnx`` file (``onnx.helper.set_model_props``),
so a file is self-describing and a worker can never pair a model with the wrong scales or
threshold. Keys (all strings; JSON where structured):

=====================  ==========================================================================
key                    value
=====================  ==========================================================================
``version``            model version, e.g. ``ae-2026.11.1`` (goes into every alert)
``grid``               ``GridSpec.to_dict()`` the model was trained on (JSON)
``normalisation``      ``Normalisation.to_dict()``: divisors, transform and clip (JSON)
``threshold``          raw error (mean of the 5 worst bins) that maps to score 1.0
``false_alert_rate``   share of held-out normal windows above ``threshold`` it was calibrated at
``training``           summary of the training data (JSON: sources, users, windows, seed, epochs)
``features``           input layout and error statistic (``FEATURES_VERSION``)
=====================  ==========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from stream.grid import GridSpec
from stream.points import CHANNEL_NAMES
from stream.scoring.base import WindowScore
from stream.scoring.features import (
    F32,
    Bool,
    Normalisation,
    channel_dict,
    features,
    reconstruction_errors,
    stack_windows,
)
from stream.windows import Window

FEATURES_VERSION = "capped-log1p-values+weights-no-vehicles/top5-bins/v4"
DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "lifeup-ae.onnx"
CHUNK = 4096


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """What the ONNX file says about itself."""

    version: str
    grid: GridSpec
    normalisation: Normalisation
    threshold: float
    false_alert_rate: float
    training: dict[str, Any] = field(default_factory=dict)
    features: str = FEATURES_VERSION

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` written into the ONNX file."""
        return {
            "version": self.version,
            "grid": json.dumps(self.grid.to_dict(), sort_keys=True),
            "normalisation": json.dumps(self.normalisation.to_dict(), sort_keys=True),
            "threshold": repr(float(self.threshold)),
            "false_alert_rate": repr(float(self.false_alert_rate)),
            "training": json.dumps(self.training, sort_keys=True),
            "features": self.features,
        }

    @classmethod
    def from_props(cls, props: Mapping[str, str]) -> ModelMeta:
        missing = {"version", "grid", "normalisation", "threshold"} - set(props)
        if missing:
            raise ValueError(f"ONNX model lacks LifeUp metadata: {sorted(missing)}")
        return cls(
            version=props["version"],
            grid=GridSpec.from_dict(json.loads(props["grid"])),
            normalisation=Normalisation.from_dict(json.loads(props["normalisation"])),
            threshold=float(props["threshold"]),
            false_alert_rate=float(props.get("false_alert_rate", "nan")),
            training=json.loads(props.get("training", "{}")),
            features=props.get("features", FEATURES_VERSION),
        )


def open_session(path: Path) -> ort.InferenceSession:
    """One single-threaded CPU session: the worker scales by processes, not threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class AutoencoderScorer:
    """Scores windows by reconstruction error divided by the calibrated threshold."""

    name = "autoencoder"

    def __init__(self, path: Path = DEFAULT_MODEL_PATH) -> None:
        self.path = path
        self.session = open_session(path)
        self.meta = ModelMeta.from_props(self.session.get_modelmeta().custom_metadata_map)
        if self.meta.features != FEATURES_VERSION:
            raise ValueError(f"{path}: features {self.meta.features!r}, need {FEATURES_VERSION!r}")
        self._input = self.session.get_inputs()[0].name

    @property
    def version(self) -> str:
        return self.meta.version

    def _run(self, x: F32) -> F32:
        parts = [
            self.session.run(None, {self._input: x[i : i + CHUNK]})[0]
            for i in range(0, x.shape[0], CHUNK)
        ]
        out: F32 = np.concatenate(parts).astype(np.float32, copy=False)
        return out

    def errors(self, values: F32, masks: Bool) -> tuple[F32, F32]:
        """Raw reconstruction errors ``[batch]`` and channel shares ``[batch, 3]``."""
        x, weights = features(values, masks, self.meta.normalisation)
        # A window with nothing to reconstruct costs no inference and scores 0.
        live = np.flatnonzero(weights.any(axis=(1, 2)))
        errors = np.zeros(x.shape[0], dtype=np.float32)
        shares = np.zeros((x.shape[0], len(CHANNEL_NAMES)), dtype=np.float32)
        if live.size == x.shape[0]:  # the usual batch: no copies
            errors, shares = reconstruction_errors(x, self._run(x), weights)
        elif live.size:
            xl = x[live]
            err, sh = reconstruction_errors(xl, self._run(xl), weights[live])
            errors[live] = err
            shares[live] = sh
        return errors, shares

    def score_arrays(self, values: F32, masks: Bool) -> tuple[F32, F32]:
        """Normalised scores (1.0 = threshold) and channel shares of a stacked batch."""
        errors, shares = self.errors(values, masks)
        return (errors / np.float32(self.meta.threshold)).astype(np.float32), shares

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        if not windows:
            return []
        scores, shares = self.score_arrays(*stack_windows(windows))
        return [_verdict(float(s), sh) for s, sh in zip(scores, shares, strict=True)]

    def reconstruct(self, windows: Sequence[Window]) -> npt.NDArray[np.float32]:
        """The model's reconstruction ``[batch, 3, bins]`` in channel units, for plots."""
        values, masks = stack_windows(windows)
        x, _ = features(values, masks, self.meta.normalisation)
        scaled = np.expm1(np.maximum(self._run(x), 0.0))
        return (scaled * self.meta.normalisation.scales()[None, :, None]).astype(np.float32)


def unusual_reason(shares: npt.NDArray[np.floating]) -> str:
    """``unusual_pattern_<channel>`` naming the channel with the largest error share."""
    return f"unusual_pattern_{CHANNEL_NAMES[int(np.argmax(shares))]}"


def _verdict(score: float, shares: npt.NDArray[np.floating]) -> WindowScore:
    reasons = (unusual_reason(shares),) if score >= 1.0 else ()
    return WindowScore(score=score, channels=channel_dict(shares), reasons=reasons)
