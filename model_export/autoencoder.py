"""The autoencoder as a torch module: a small convolutional encoder/decoder over one window.

Input ``[batch, 6, 60]`` (three scaled channels and their weights, see
``stream.scoring.features``); output ``[batch, 3, 60]``, the reconstructed channels. A strided
Conv1d cuts the hour into 4-minute patches (a walk's ramp, pauses, the cadence–distance link
within each), dense layers squeeze the 15 patches through a 16-number bottleneck so the model keeps
only what normal hours share, and a transposed Conv1d draws the minutes back. ~20 k parameters,
~50 kFLOP per window: a single CPU thread scores several hundred thousand windows per second, so
the model never limits the worker.
"""

from __future__ import annotations

import torch
from torch import nn

from stream.scoring.features import N_CHANNELS, N_INPUTS

PATCH = 4
HIDDEN = 24
LATENT = 16


class WindowAutoencoder(nn.Module):
    """Convolutional autoencoder for windows of ``bins`` bins (``bins`` divisible by ``PATCH``)."""

    def __init__(self, bins: int = 60, hidden: int = HIDDEN, latent: int = LATENT) -> None:
        super().__init__()
        if bins % PATCH:
            raise ValueError(f"bins must be divisible by {PATCH}, got {bins}")
        self.hidden = hidden
        self.patches = bins // PATCH
        self.encoder = nn.Sequential(
            nn.Conv1d(N_INPUTS, hidden, kernel_size=PATCH, stride=PATCH),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(hidden * self.patches, latent),
            nn.ReLU(),
        )
        self.expand = nn.Sequential(nn.Linear(latent, hidden * self.patches), nn.ReLU())
        self.decoder = nn.ConvTranspose1d(hidden, N_CHANNELS, kernel_size=PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.expand(self.encoder(x)).view(-1, self.hidden, self.patches)
        out: torch.Tensor = self.decoder(z)
        return out


def masked_mse(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """The training loss: the runtime's error (weighted MSE) averaged over the batch."""
    weights = x[:, N_CHANNELS:, :]
    sq = (x[:, :N_CHANNELS, :] - recon).square() * weights
    per_window = sq.sum(dim=(1, 2)) / weights.sum(dim=(1, 2)).clamp(min=1.0)
    return per_window.mean()
