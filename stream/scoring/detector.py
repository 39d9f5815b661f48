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

from stream.scoring.autoencoder import DEFAULT_MODEL_PATH, AutoencoderScorer, unusual_reason
from stream.scoring.base import THRESHOLD, WindowScore
from stream.scoring.features import channel_dict, stack_windows
from stream.scoring.plausibility import PlausibilityScorer, check_ratios, verdicts
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
        n = len(windows)
        manual = np.fromiter((w.manual_points for w in windows), dtype=np.int64, count=n)
        repeats = np.fromiter((w.repeats_earlier for w in windows), dtype=np.bool_, count=n)
        ratios = check_ratios(values, masks, manual, repeats, self.grid)
        checks = verdicts(ratios, masks)
        ae_scores, ae_shares = self.autoencoder.score_arrays(values, masks)
        out: list[WindowScore] = []
        for check, ae, shares in zip(checks, ae_scores.tolist(), ae_shares, strict=True):
            reasons = check.reasons
            if ae >= THRESHOLD:
                reasons = (*reasons, unusual_reason(shares))
            if ae > check.score:
                out.append(WindowScore(ae, channel_dict(shares), reasons))
            else:
                out.append(WindowScore(check.score, check.channels, reasons))
        return out


def load_detector(path: Path | None = None) -> Detector:
    """The detector of ``path``, else of ``LIFEUP_MODEL_PATH``, else of the shipped model."""
    if path is None:
        from stream.settings import get_settings

        path = get_settings().model_path or DEFAULT_MODEL_PATH
    return Detector(AutoencoderScorer(path))
