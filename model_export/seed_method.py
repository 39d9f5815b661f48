"""The earlier LifeUp system's method, kept as a baseline for evaluation and benchmarks.

Per request (one user-hour): the speed, distance and step series are joined on their
timestamps and linearly interpolated with pandas; each joined row goes through a dense
3 → 8 → 3 autoencoder; a row is anomalous when its reconstruction error exceeds the mean + 2σ
of the request's own errors, and the request is anomalous when any row is. Inference is plain
numpy on weights shipped in ``seed_method.npz``, so benchmarks run it without torch or sklearn.
``python -m model_export.seed_method`` retrains those weights (sklearn) on simulated normal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing import parse_obj
from stream.points import Channel, ParseResult
from stream.sources import source_rank

WEIGHTS = Path(__file__).with_name("seed_method.npz")
SERIES = ("speed", "distance", "step_count")
CHANNEL_SERIES = {Channel.SPEED: "speed", Channel.DISTANCE: "distance", Channel.STEPS: "step_count"}
FloatArray = npt.NDArray[np.float64]
Request = Mapping[str, Mapping[str, Sequence[float]]]


@dataclass(frozen=True, slots=True)
class SeedWeights:
    """Dense 3 → 8 (ReLU) → 3 autoencoder and the input standardisation it was trained with."""

    mean: FloatArray
    std: FloatArray
    w1: FloatArray
    b1: FloatArray
    w2: FloatArray
    b2: FloatArray

    def reconstruct(self, x: FloatArray) -> FloatArray:
        z = (x - self.mean) / self.std
        h = np.maximum(z @ self.w1 + self.b1, 0.0)
        return np.asarray(h @ self.w2 + self.b2, dtype=np.float64)

    def errors(self, x: FloatArray) -> FloatArray:
        z = (x - self.mean) / self.std
        return np.asarray(((self.reconstruct(x) - z) ** 2).mean(axis=1), dtype=np.float64)


@lru_cache(maxsize=1)
def load_weights(path: Path = WEIGHTS) -> SeedWeights:
    with np.load(path) as f:
        return SeedWeights(*(np.asarray(f[k], dtype=np.float64) for k in SeedWeights.__slots__))


def joined_frame(request: Request) -> pd.DataFrame:
    """The earlier system's preprocessing: outer join on timestamps, linear interpolation."""
    frames = []
    for name in SERIES:
        part = request.get(name) or {"values": [], "timestamps": []}
        s = pd.Series(
            np.asarray(part.get("values", []), dtype=float),
            index=pd.to_datetime(np.asarray(part.get("timestamps", []), dtype=np.int64), utc=True),
            name=name,
        )
        frames.append(s[~s.index.duplicated()])
    df = pd.concat(frames, axis=1, sort=True)
    return df.interpolate(method="linear", limit_direction="both").fillna(0.0)


def seed_detect(request: Request, weights: SeedWeights | None = None) -> dict[str, Any]:
    """``{"anomalies_detected": 0|1, "points", "anomalous_points", "threshold", "score"}``;
    ``score`` is the largest error over the threshold (above 1.0 exactly when anomalous)."""
    df = joined_frame(request)
    if df.empty:
        return {
            "anomalies_detected": 0,
            "points": 0,
            "anomalous_points": 0,
            "threshold": None,
            "score": 0.0,
        }
    errors = (weights or load_weights()).errors(df[list(SERIES)].to_numpy(dtype=float))
    threshold = float(errors.mean() + 2 * errors.std())
    flagged = int((errors > threshold).sum())
    return {
        "anomalies_detected": int(flagged > 0),
        "points": int(errors.shape[0]),
        "anomalous_points": flagged,
        "threshold": threshold,
        "score": float(errors.max() / threshold) if threshold > 0 else 0.0,
    }


def requests_from_events(
    events: Iterable[object], grid: GridSpec = DEFAULT_GRID
) -> dict[tuple[str, int], Request]:
    """One old-API request per (user, window start): per channel the best-ranked source only
    (the old clients sent one series per channel), points stamped with their start time."""
    return requests_from_results((parse_obj(e) for e in events), grid)


def requests_from_results(
    results: Iterable[ParseResult], grid: GridSpec = DEFAULT_GRID
) -> dict[tuple[str, int], Request]:
    """``requests_from_events`` for events already parsed."""
    best: dict[tuple[str, int, Channel], tuple[int, list[tuple[int, float]]]] = {}
    for result in results:
        for batch in result.batches:
            rank = source_rank(batch.channel, batch.source)
            windows = batch.start_ns // grid.window_ns * grid.window_ns
            for w in np.unique(windows):
                key = (batch.user_id, int(w), batch.channel)
                sel = windows == w
                pts = list(
                    zip(batch.start_ns[sel].tolist(), batch.value[sel].tolist(), strict=True)
                )
                got = best.get(key)
                if got is None or rank > got[0]:
                    best[key] = (rank, pts)
                elif rank == got[0]:
                    got[1].extend(pts)
    requests: dict[tuple[str, int], dict[str, dict[str, list[Any]]]] = defaultdict(dict)
    for (user, w, channel), (_, pts) in best.items():
        pts.sort()
        requests[(user, w)][CHANNEL_SERIES[channel]] = {
            "timestamps": [t for t, _ in pts],
            "values": [v for _, v in pts],
        }
    return dict(requests)


def train(events: Iterable[object], seed: int = 0, path: Path = WEIGHTS) -> SeedWeights:
    """Fits the 3 → 8 → 3 autoencoder on joined rows of normal data (sklearn MLPRegressor)."""
    from sklearn.neural_network import MLPRegressor

    rows = [
        joined_frame(r)[list(SERIES)].to_numpy(dtype=float)
        for r in requests_from_events(events).values()
    ]
    x = np.concatenate(rows)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    mlp = MLPRegressor(hidden_layer_sizes=(8,), activation="relu", max_iter=300, random_state=seed)
    mlp.fit(z, z)
    w = SeedWeights(mean, std, mlp.coefs_[0], mlp.intercepts_[0], mlp.coefs_[1], mlp.intercepts_[1])
    np.savez(path, **{k: getattr(w, k) for k in SeedWeights.__slots__})
    load_weights.cache_clear()
    return w


if __name__ == "__main__":
    from model_export.simulate import simulate

    data = simulate(30, 7, seed=2024, cheats=False, legit_unusual=False)
    trained = train(data.events)
    print(f"wrote {WEIGHTS} ({WEIGHTS.stat().st_size} bytes), input mean {trained.mean.round(2)}")
