"""The evaluation's AUC is the probability that a cheat outscores a normal window."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from model_export.eval.metrics import auc

scores = st.lists(st.integers(0, 5).map(float), min_size=1, max_size=30)


@given(scores, scores)
def test_auc_counts_every_pair_with_ties_as_half(
    positive: list[float], negative: list[float]
) -> None:
    pairs = [(p > n) + 0.5 * (p == n) for p in positive for n in negative]
    expected = sum(pairs) / len(pairs)
    got = auc(np.asarray(positive), np.asarray(negative))
    assert got is not None and abs(got - expected) < 1e-12


def test_auc_is_undefined_without_both_classes() -> None:
    assert auc(np.asarray([]), np.asarray([1.0])) is None
