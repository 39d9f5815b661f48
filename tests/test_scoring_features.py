"""Features: the one function between windows and the model, shared by training and runtime."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stream.scoring.features import (
    DEFAULT_NORMALISATION,
    N_INPUTS,
    TOP_BINS,
    Normalisation,
    error_weights,
    features,
    reconstruction_errors,
    vehicle_bins,
)

VALUES = arrays(np.float32, (4, 3, 60), elements=st.floats(0, 1e6, width=32))
MASKS = arrays(np.bool_, (4, 3, 60))


@settings(max_examples=80, deadline=None)
@given(VALUES, MASKS)
def test_inputs_are_bounded_and_hide_what_is_missing(values, masks) -> None:
    x, weights = features(values, masks)
    assert x.shape == (4, N_INPUTS, 60) and x.dtype == np.float32
    assert np.isfinite(x).all()
    assert (x[:, :3] >= 0).all() and (x[:, :3] <= DEFAULT_NORMALISATION.clip).all()
    assert (x[:, :3][weights == 0] == 0).all()  # nothing leaks from a missing channel
    np.testing.assert_array_equal(x[:, 3:], weights)
    # steps: the whole row once the channel has any point; speed: per bin; distance and speed
    # of vehicle rides: hidden
    assert (weights[:, 0].min(axis=1) == masks[:, 0].any(axis=1)).all()
    vehicle = vehicle_bins(values, masks)
    np.testing.assert_array_equal(weights[:, 2], masks[:, 2] & ~vehicle)
    assert (weights[:, 1][vehicle] == 0).all()


@settings(max_examples=80, deadline=None)
@given(VALUES, MASKS, arrays(np.float32, (4, 3, 60), elements=st.floats(-3, 9, width=32)))
def test_errors_and_shares(values, masks, recon) -> None:
    x, weights = features(values, masks)
    errors, shares = reconstruction_errors(x, recon, weights)
    assert errors.shape == (4,) and (errors >= 0).all()
    positive = errors > 0
    np.testing.assert_allclose(shares[positive].sum(axis=1), 1.0, rtol=1e-5)
    assert (shares[~positive] == 0).all()
    perfect, _ = reconstruction_errors(x, x[:, :3], weights)
    assert (perfect == 0).all()


def test_a_one_minute_anomaly_is_not_averaged_away() -> None:
    values = np.zeros((1, 3, 60), np.float32)
    masks = np.zeros((1, 3, 60), np.bool_)
    masks[:, 0] = True
    x, weights = features(values, masks)
    recon = x[:, :3].copy()
    recon[0, 0, 30] += 1.0
    errors, shares = reconstruction_errors(x, recon, weights)
    assert errors[0] == np.float32(1.0 / TOP_BINS)
    assert shares[0, 0] == 1.0


def test_vehicle_rides_are_hidden_walks_are_not() -> None:
    values = np.zeros((1, 3, 60), np.float32)
    masks = np.zeros((1, 3, 60), np.bool_)
    values[0, 0, 0:10] = 100.0  # a walk to the station...
    values[0, 1, 0:10] = 70.0
    values[0, 1, 12:40] = 900.0  # ...a train, slowing to a crawl at a station
    values[0, 1, 25] = 30.0
    values[0, 1, 45:55] = 80.0  # a stepless stroll at walking pace: not a vehicle
    masks[:, :2] = values[:, :2] > 0
    vehicle = vehicle_bins(values, masks)[0]
    assert vehicle[12:40].all() and not vehicle[:12].any() and not vehicle[40:].any()


def test_normalisation_round_trip_and_unknown_transform() -> None:
    norm = Normalisation(steps=100.0, distance=80.0, speed=2.0, clip=5.0)
    assert Normalisation.from_dict(norm.to_dict()) == norm
    with pytest.raises(ValueError, match="transform"):  # a model fed other features is refused
        Normalisation.from_dict({**norm.to_dict(), "transform": "identity"})
    assert error_weights(np.zeros((1, 3, 60), np.bool_)).sum() == 0
