"""The one contract every scorer honours (autoencoder, plausibility checks, baselines).

Like River's ``score_one``: higher means more anomalous. Scores are normalised so that the
calibrated threshold is 1.0: ``score >= 1.0`` means the window is anomalous for that scorer.
Scorers work on batches because the autoencoder is cheapest per window in one onnxruntime call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from stream.windows import Window

THRESHOLD = 1.0


@dataclass(frozen=True, slots=True)
class WindowScore:
    """A scorer's verdict on one window.

    ``channels`` maps "steps", "distance", "speed" to that channel's share of the score (sums to
    1 when the score is positive). ``reasons`` are the machine-readable codes listed in the README.
    ``back``: what this window's findings say of the previous window, when the bout behind them
    began there (``stream.scoring.retro.carry`` decides whether that becomes an alert).
    ``carried``: this verdict is such a finding, carried back from the next window.
    """

    score: float
    channels: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    back: WindowScore | None = None
    carried: bool = False

    @property
    def anomalous(self) -> bool:
        return self.score >= THRESHOLD


@runtime_checkable
class WindowScorer(Protocol):
    """Scores a batch of windows; deterministic for the same windows."""

    name: str

    def score(self, windows: Sequence[Window]) -> list[WindowScore]: ...
