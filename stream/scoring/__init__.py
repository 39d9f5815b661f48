"""Scoring windows: the autoencoder, the plausibility checks, and the detector that joins them."""
