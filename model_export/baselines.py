"""An IsolationForest on the same windows the detector scores: the generic-ML baseline.

It sees per-channel summaries of a window (total, peak, mean, spread and coverage of steps,
distance and speed; no hand-made ratios such as metres per step, which would smuggle in the
plausibility checks) and is calibrated like the autoencoder: the threshold is the score that
``false_alert_rate`` of normal training windows exceed, and scores are divided by it so 1.0
is the threshold, as for every ``WindowScorer``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stream.scoring.base import WindowScore
from stream.scoring.calibration import threshold_at_rate
from stream.scoring.features import stack_windows
from stream.windows import Window

F64 = npt.NDArray[np.float64]


def summary_features(windows: Sequence[Window]) -> F64:
    """``[batch, 15]``: per channel log1p total, peak, mean and std over covered bins, coverage."""
    values, masks = stack_windows(windows)
    v = values.astype(np.float64) * masks
    covered = masks.sum(axis=2)
    n = np.maximum(covered, 1)
    mean = v.sum(axis=2) / n
    var = (np.square(v - mean[:, :, None]) * masks).sum(axis=2) / n
    cols = [
        np.log1p(v.sum(axis=2)),
        np.log1p(v.max(axis=2)),
        np.log1p(mean),
        np.log1p(np.sqrt(var)),
        covered / values.shape[2],
    ]
    return np.concatenate(cols, axis=1)


class IsolationForestScorer:
    """A ``WindowScorer``; ``fit`` on normal windows before scoring."""

    name = "isolation_forest"

    def __init__(self, seed: int = 0, n_estimators: int = 200) -> None:
        from sklearn.ensemble import IsolationForest

        self.model = IsolationForest(n_estimators=n_estimators, random_state=seed)
        self.threshold = 1.0

    def raw(self, windows: Sequence[Window]) -> F64:
        """Higher is more anomalous (sklearn's ``score_samples`` negated)."""
        return -np.asarray(self.model.score_samples(summary_features(windows)), dtype=np.float64)

    def fit(self, windows: Sequence[Window], false_alert_rate: float) -> IsolationForestScorer:
        self.model.fit(summary_features(windows))
        self.threshold = threshold_at_rate(self.raw(windows), false_alert_rate)
        return self

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        if not windows:
            return []
        return [WindowScore(float(s)) for s in self.raw(windows) / self.threshold]
