"""Calibration: from raw scores on held-out normal windows to the threshold that maps to 1.0.

PySAD's separation: the scorer produces raw scores, calibration picks the cut, the threshold
(1.0 after normalisation) decides. LifeUp calibrates the autoencoder at ``FALSE_ALERT_RATE``: the
share of held-out normal windows whose error is above the threshold. 0.05 % of hour windows is at
most 24 × 0.0005 = 0.012 false alerts per user-day from the model, under the 0.02 target even if
every hour of a day had data.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FALSE_ALERT_RATE = 0.0005


def threshold_at_rate(errors: npt.NDArray[np.floating], rate: float = FALSE_ALERT_RATE) -> float:
    """The smallest error such that at most ``rate`` of ``errors`` lie strictly above it."""
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    values = np.sort(np.asarray(errors, dtype=np.float64).ravel())
    if values.size == 0:
        raise ValueError("no held-out errors to calibrate on")
    allowed = int(np.floor(rate * values.size))  # windows allowed above the threshold
    threshold = float(values[values.size - 1 - allowed])
    return max(threshold, float(np.finfo(np.float32).tiny))


def false_alert_rate(errors: npt.NDArray[np.floating], threshold: float) -> float:
    """Share of ``errors`` strictly above ``threshold``."""
    values = np.asarray(errors, dtype=np.float64).ravel()
    return float((values > threshold).mean()) if values.size else 0.0
