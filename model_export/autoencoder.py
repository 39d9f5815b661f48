"""The autoencoder as a torch module: a small Conv1d encoder/decoder over one window.

Input ``[batch, 6, 60]`` (three scaled channels and their weights, see
``stream.scoring.features``); output ``[batch, 3, 60]``, the reconstructed channels. Two strided
convolutions see minute-to-hour structure (a walk's ramp, pauses, the cadence–distance link), a
16-number bottleneck forces the model to keep only what normal windows share. ~11 k parameters:
one batch of 1,024 windows is ~150 MFLOP, so a single CPU thread scores >100 k windows/s.
"""

from __future__ import annotations

import torch
from torch import nn

from stream.scoring.features import N_CHANNELS, N_INPUTS

HIDDEN = 16
LATENT = 16


class WindowAutoencoder(nn.Module):
    """Conv1d autoencoder for windows of ``bins`` bins (``bins`` divisible by 4)."""

    def __init__(self, bins: int = 60, hidden: int = HIDDEN, latent: int = LATENT) -> None:
        super().__init__()
        if bins % 4:
            raise ValueError(f"bins must be divisible by 4, got {bins}")
        self.hidden = hidden
        self.reduced = bins // 4
        self.encoder = nn.Sequential(
            nn.Conv1d(N_INPUTS, hidden, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv1d(hidden, hidden, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(hidden * self.reduced, latent),
            nn.ReLU(),
        )
        self.expand = nn.Sequential(nn.Linear(latent, hidden * self.reduced), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(hidden, hidden, kernel_size=4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose1d(hidden, N_CHANNELS, kernel_size=4, stride=2, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.expand(self.encoder(x)).view(-1, self.hidden, self.reduced)
        out: torch.Tensor = self.decoder(z)
        return out


def masked_mse(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """The training loss: the runtime's error (weighted MSE) averaged over the batch."""
    weights = x[:, N_CHANNELS:, :]
    sq = (x[:, :N_CHANNELS, :] - recon).square() * weights
    per_window = sq.sum(dim=(1, 2)) / weights.sum(dim=(1, 2)).clamp(min=1.0)
    return per_window.mean()
