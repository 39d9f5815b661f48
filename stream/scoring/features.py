"""Windows → model input: one pure function shared by training (``model_export``) and runtime.

The autoencoder sees ``[batch, 6, bins]`` float32: three scaled value rows (steps, distance,
speed) and three weight rows saying which values are real. Missing data is never an anomaly:
many phones send no speed and Fitabase has steps only, so the reconstruction error is counted
only where the weight is 1, and the model is told where that is.

- steps and distance: a phone that sends no point for a quiet minute means "no steps", so once a
  channel has any point in the window its weight is 1 on every bin (absent bins are 0);
  a channel with no point at all in the window has weight 0 everywhere;
- speed: a missing sample is unknown, not zero, so its weight is the per-bin mask.

Values are divided by scales that bring a brisk walk near 1.0 (120 steps/min, 100 m/min,
2.5 m/s), then compressed with ``log1p``: a car's 1,500 m/min stays distinct from a walk without
dwarfing every other error, and a stride off by a factor reads the same at any pace. The result
is clipped to ``CLIP`` so an absurd point (the plausibility checks' business) cannot dominate
float32 maths. Scales and transform travel in the ONNX metadata, so a model is always fed what
it learned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stream.points import CHANNEL_NAMES
from stream.windows import Window

N_CHANNELS = 3
N_INPUTS = 2 * N_CHANNELS
TRANSFORM = "log1p"
CLIP = 6.0

F32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Normalisation:
    """Per-channel divisors (steps/bin, metres/bin, m/s) and the clip applied after dividing."""

    steps: float = 120.0
    distance: float = 100.0
    speed: float = 2.5
    clip: float = CLIP

    def scales(self) -> F32:
        return np.array([self.steps, self.distance, self.speed], dtype=np.float32)

    def to_dict(self) -> dict[str, float | str]:
        return {
            "steps": self.steps,
            "distance": self.distance,
            "speed": self.speed,
            "clip": self.clip,
            "transform": TRANSFORM,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, float | str]) -> Normalisation:
        if data.get("transform", TRANSFORM) != TRANSFORM:
            raise ValueError(
                f"unknown transform {data['transform']!r}, this runtime has {TRANSFORM}"
            )
        return cls(**{k: float(v) for k, v in data.items() if k in cls.__dataclass_fields__})


DEFAULT_NORMALISATION = Normalisation()


def stack_windows(windows: Sequence[Window]) -> tuple[F32, Bool]:
    """Values ``[batch, 3, bins]`` float32 and masks ``[batch, 3, bins]`` bool of a batch."""
    values = np.stack([w.values for w in windows]).astype(np.float32, copy=False)
    masks = np.stack([w.mask for w in windows]).astype(np.bool_, copy=False)
    return values, masks


def error_weights(masks: Bool) -> F32:
    """Where reconstruction error counts: whole rows for steps/distance present, speed per bin."""
    weights = np.empty(masks.shape, dtype=np.float32)
    present = masks[:, :2, :].any(axis=2, keepdims=True)
    weights[:, :2, :] = present
    weights[:, 2, :] = masks[:, 2, :]
    return weights


def features(
    values: F32, masks: Bool, norm: Normalisation = DEFAULT_NORMALISATION
) -> tuple[F32, F32]:
    """Model input ``[batch, 6, bins]`` and error weights ``[batch, 3, bins]`` from raw arrays."""
    weights = error_weights(masks)
    scaled = np.clip(
        np.log1p(np.maximum(values, 0.0) / norm.scales()[None, :, None]), 0.0, norm.clip
    )
    scaled *= weights
    x = np.concatenate([scaled, weights], axis=1).astype(np.float32, copy=False)
    return x, weights


def window_features(
    windows: Sequence[Window], norm: Normalisation = DEFAULT_NORMALISATION
) -> tuple[F32, F32]:
    """``features`` for a batch of ``Window`` objects."""
    values, masks = stack_windows(windows)
    return features(values, masks, norm)


def reconstruction_errors(x: F32, recon: F32, weights: F32) -> tuple[F32, F32]:
    """Per window the weighted mean squared error, and each channel's share of it.

    Returns ``errors [batch]`` and ``shares [batch, 3]`` (rows sum to 1 where the error is > 0).
    """
    sq = np.square(x[:, :N_CHANNELS, :] - recon) * weights
    per_channel = sq.sum(axis=2)
    total = per_channel.sum(axis=1)
    count = np.maximum(weights.sum(axis=(1, 2)), 1.0)
    errors = (total / count).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(total[:, None] > 0, per_channel / total[:, None], 0.0)
    return errors, shares.astype(np.float32)


def channel_dict(shares: npt.NDArray[np.floating]) -> dict[str, float]:
    """``{"steps": s, "distance": d, "speed": v}`` rounded for alerts."""
    return {name: round(float(s), 4) for name, s in zip(CHANNEL_NAMES, shares, strict=True)}
