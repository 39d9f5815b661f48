"""The detector LifeUp runs: the autoencoder and the plausibility checks, combined.

A window's score is the larger of the two normalised scores (each is 1.0 at its own limit), its
reasons the union of both (physical findings first), its channel shares those of the part that
gave the score. Either part can raise an alert alone: the checks catch what breaks physics
whatever the model learned, the model catches patterns no fixed rule names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stream.points import CHANNEL_NAMES
from stream.scoring.autoencoder import DEFAULT_MODEL_PATH, AutoencoderScorer, unusual_reason
from stream.scoring.base import THRESHOLD, WindowScore
from stream.scoring.features import stack_windows
from stream.scoring.plausibility import (
    PlausibilityScorer,
    summarise,
    top_shares,
    window_findings,
    with_back,
)
from stream.windows import Window


class Detector:
    """A ``WindowScorer`` of ``autoencoder`` and ``plausibility``; ``version`` names the model."""

    name = "detector"

    def __init__(self, autoencoder: AutoencoderScorer) -> None:
        self.autoencoder = autoencoder
        self.plausibility = PlausibilityScorer(autoencoder.meta.grid)
        self.grid = autoencoder.meta.grid

    @property
    def version(self) -> str:
        return self.autoencoder.version

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        if not windows:
            return []
        values, masks = stack_windows(windows)
        ratios, found = window_findings(windows, values, masks, self.grid)
        best, top, reasons = summarise(ratios)
        ae_scores, ae_shares = self.autoencoder.score_arrays(values, masks)
        late = np.fromiter((w.after_close for w in windows), dtype=np.bool_, count=len(windows))
        if late.any():  # only late points: the model would judge an hour missing the rest
            ae_scores = np.where(late, 0.0, ae_scores).astype(ae_scores.dtype)
        shares_of_top = top_shares(top, np.asarray(masks.any(axis=2)))
        ae = ae_scores.astype(np.float64)  # float32 widened: the same numbers as ``tolist``
        model_wins = ae > best
        scores = np.where(model_wins, ae, best).tolist()
        why = list(reasons)
        for i in np.flatnonzero(ae >= THRESHOLD).tolist():
            why[i] = (*why[i], unusual_reason(ae_shares[i]))
        zero = (0.0, 0.0, 0.0)
        chosen = [
            model if wins else (checks if check > 0.0 else zero)
            for model, checks, wins, check in zip(
                np.round(ae_shares, 4).tolist(),
                shares_of_top,
                model_wins.tolist(),
                best.tolist(),
                strict=True,
            )
        ]
        steps, distance, speed = CHANNEL_NAMES
        out = [
            WindowScore(score, {steps: s, distance: d, speed: v}, codes)
            for score, (s, d, v), codes in zip(scores, chosen, why, strict=True)
        ]
        return with_back(out, found) if any(f is not None for f in found) else out


def load_detector(path: Path | None = None) -> Detector:
    """The detector of ``path``, else of ``LIFEUP_MODEL_PATH``, else of the shipped model."""
    if path is None:
        from stream.settings import get_settings

        path = get_settings().model_path or DEFAULT_MODEL_PATH
    return Detector(AutoencoderScorer(path))
