"""Windows → model input: one pure function shared by training (``model_export``) and runtime.

The autoencoder sees ``[batch, 6, bins]`` float32: three scaled value rows (steps, distance,
speed) and three weight rows saying which values are real. Missing data is never an anomaly:
many phones send no speed and Fitabase has steps only, so the reconstruction error is counted
only where the weight is 1, and the model is told where that is.

- steps and distance: a phone that sends no point for a quiet minute means "no steps", so once a
  channel has any point in the window its weight is 1 on every bin (absent bins are 0);
  a channel with no point at all in the window has weight 0 everywhere;
- speed: a missing sample is unknown, not zero, so its weight is the per-bin mask;
- distance and speed of vehicle rides (``vehicle_bins``) get weight 0: judged by physics.

Values are divided by scales that bring a brisk walk near 1.0 (120 steps/min, 100 m/min,
2.5 m/s), capped for distance and speed where human running ends (``Normalisation.ceilings``),
then compressed with ``log1p``, so a stride off by a factor reads the same at any pace. The result
is clipped to ``CLIP`` so an absurd point (the plausibility checks' business) cannot dominate
float32 maths. Scales and transform travel in the ONNX metadata, so a model is always fed what
it learned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from stream.points import CHANNEL_NAMES
from stream.scoring.rides import STEPPING_CADENCE, rides
from stream.windows import Window

N_CHANNELS = 3
N_INPUTS = 2 * N_CHANNELS
TRANSFORM = "log1p"
TOP_BINS = 5
VEHICLE_SHARE = 0.85  # of the distance/speed ceilings: ~380 m/min, ~6.4 m/s
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
    distance_ceiling: float = 4.5  # x distance: 450 m/min, faster than any runner
    speed_ceiling: float = 3.0  # x speed: 7.5 m/s

    def scales(self) -> F32:
        return np.array([self.steps, self.distance, self.speed], dtype=np.float32)

    def ceilings(self) -> F32:
        """Per channel, the scaled value where a person's range ends: a car at 25 m/s and a
        runner at 7.5 m/s look the same to the model (the plausibility checks tell them
        apart), so rare vehicle rides cannot set the model's threshold. Steps keep their range."""
        return np.array([np.inf, self.distance_ceiling, self.speed_ceiling], dtype=np.float32)

    def to_dict(self) -> dict[str, float | str]:
        return {
            "steps": self.steps,
            "distance": self.distance,
            "speed": self.speed,
            "clip": self.clip,
            "distance_ceiling": self.distance_ceiling,
            "speed_ceiling": self.speed_ceiling,
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
    n = len(windows)
    # one concatenate, then a reshape: ``np.stack`` checks and expands each array on its own
    values = np.concatenate([w.values for w in windows]).astype(np.float32, copy=False)
    masks = np.concatenate([w.mask for w in windows]).astype(np.bool_, copy=False)
    return values.reshape(n, 3, -1), masks.reshape(n, 3, -1)


def vehicle_bins(values: F32, masks: Bool, norm: Normalisation = DEFAULT_NORMALISATION) -> Bool:
    """Bins of honest vehicle rides (``stream.scoring.rides``): runs of minutes with distance
    or speed and no stepping (a ride's few counted bumps are not stepping) of which one is
    beyond human running (``VEHICLE_SHARE`` of the ceilings).

    They are hidden from the model: a car ride is normal, rare in any training set, and the
    plausibility checks judge vehicles (steps credited at vehicle speed) on physics.
    """
    dist, speed = values[:, 1, :], np.where(masks[:, 2, :], values[:, 2, :], 0.0)
    limits = norm.scales()[1:] * norm.ceilings()[1:] * VEHICLE_SHARE
    fast = (dist >= limits[0]) | (speed >= limits[1])
    return rides((dist > 0) | (speed > 0), fast, values[:, 0, :] >= STEPPING_CADENCE, 1)


def error_weights(masks: Bool) -> F32:
    """Where reconstruction error counts: whole rows for steps/distance present, speed per bin."""
    weights = np.empty(masks.shape, dtype=np.float32)
    present = masks[:, :2, :].any(axis=2, keepdims=True)
    weights[:, :2, :] = present
    weights[:, 2, :] = masks[:, 2, :]
    return weights


@lru_cache(maxsize=8)
def _per_bin(norm: Normalisation, bins: int) -> tuple[F32, F32]:
    """Scales and ceilings spread over ``[3, bins]``: dividing by a whole row keeps numpy's
    inner loop contiguous (a ``[None, :, None]`` broadcast makes it 60 bins at a time)."""
    scales = np.repeat(norm.scales()[:, None], bins, axis=1)
    ceilings = np.repeat(norm.ceilings()[:, None], bins, axis=1)
    return scales, ceilings


def features(
    values: F32, masks: Bool, norm: Normalisation = DEFAULT_NORMALISATION
) -> tuple[F32, F32]:
    """Model input ``[batch, 6, bins]`` and error weights ``[batch, 3, bins]`` from raw arrays."""
    weights = error_weights(masks)
    weights[:, 1:, :] *= ~vehicle_bins(values, masks, norm)[:, None, :]
    scales, ceilings = _per_bin(norm, values.shape[2])
    ratio = np.maximum(values, 0.0)
    ratio /= scales
    np.minimum(ratio, ceilings, out=ratio)
    np.log1p(ratio, out=ratio)
    np.minimum(ratio, norm.clip, out=ratio)
    x = np.empty((values.shape[0], N_INPUTS, values.shape[2]), dtype=np.float32)
    np.multiply(ratio, weights, out=x[:, :N_CHANNELS])
    x[:, N_CHANNELS:] = weights
    return x, weights


def window_features(
    windows: Sequence[Window], norm: Normalisation = DEFAULT_NORMALISATION
) -> tuple[F32, F32]:
    """``features`` for a batch of ``Window`` objects."""
    values, masks = stack_windows(windows)
    return features(values, masks, norm)


def reconstruction_errors(x: F32, recon: F32, weights: F32) -> tuple[F32, F32]:
    """Per window the mean error of its ``TOP_BINS`` worst bins, and each channel's share of it.

    A bin's error is its weighted squared error averaged over the channels present in it. The
    worst few bins, not the whole hour, make the score: a teleport or a burst of injected steps
    lasts a minute or two, and averaging it over 60 minutes would hide it.
    Returns ``errors [batch]`` and ``shares [batch, 3]`` (rows sum to 1 where the error is > 0).
    """
    sq = np.square(x[:, :N_CHANNELS, :] - recon)
    sq *= weights
    # channel by channel, in the order a reduction over axis 1 adds them (same bits, no
    # strided reduction loop)
    per_bin = sq[:, 0] + sq[:, 1]
    per_bin += sq[:, 2]
    present = weights[:, 0] + weights[:, 1]
    present += weights[:, 2]
    per_bin /= np.maximum(present, 1.0)
    k = min(TOP_BINS, per_bin.shape[1])
    worst = np.argpartition(-per_bin, k - 1, axis=1)[:, :k]
    rows = np.arange(per_bin.shape[0])[:, None]  # indexing as take_along_axis does, directly
    errors = per_bin[rows, worst].mean(axis=1).astype(np.float32)
    per_channel = sq[rows[:, :, None], np.arange(sq.shape[1])[None, :, None], worst[:, None, :]]
    per_channel = per_channel.sum(axis=2)
    total = per_channel.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(total > 0, per_channel / total, 0.0)
    return errors, shares.astype(np.float32)


def channel_dict(shares: npt.NDArray[np.floating]) -> dict[str, float]:
    """``{"steps": s, "distance": d, "speed": v}`` rounded for alerts."""
    return {name: round(float(s), 4) for name, s in zip(CHANNEL_NAMES, shares, strict=True)}
