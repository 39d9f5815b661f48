"""Calibration: the threshold leaves at most the stated share of held-out normal errors above it,
and it is the smallest such value; the shipped model's threshold is what scores 1.0."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.scoring.autoencoder import AutoencoderScorer
from stream.scoring.calibration import FALSE_ALERT_RATE, false_alert_rate, threshold_at_rate
from tests.scoring_cases import simulated_normal

TINY = float(np.finfo(np.float32).tiny)


def test_threshold_on_a_known_sample() -> None:
    errors = np.arange(10_000, dtype=np.float64)
    threshold = threshold_at_rate(errors, 0.01)
    assert threshold == 9_899.0
    assert false_alert_rate(errors, threshold) == 0.01


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=500),
    st.floats(0.0005, 0.5),
)
def test_rate_is_honoured_and_threshold_is_tight(errors: list[float], rate: float) -> None:
    values = np.asarray(errors)
    threshold = threshold_at_rate(values, rate)
    assert false_alert_rate(values, threshold) <= rate
    assert threshold > 0  # a zero threshold would divide by zero when normalising
    lower = values[values < threshold]
    if lower.size and threshold > TINY:  # a smaller cut would put more than the rate above it
        assert false_alert_rate(values, float(lower.max())) > rate


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        threshold_at_rate(np.array([]), 0.01)
    with pytest.raises(ValueError):
        threshold_at_rate(np.array([1.0]), 0.0)


def test_shipped_threshold_maps_to_score_one() -> None:
    scorer = AutoencoderScorer()
    windows = list(simulated_normal())
    values = np.stack([w.values for w in windows])
    masks = np.stack([w.mask for w in windows])
    errors, _ = scorer.errors(values, masks)
    scores, _ = scorer.score_arrays(values, masks)
    np.testing.assert_allclose(scores, errors / scorer.meta.threshold, rtol=1e-6)
    assert scorer.meta.false_alert_rate == FALSE_ALERT_RATE
