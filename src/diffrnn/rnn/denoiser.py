"""Supervised recurrent denoiser: a bidirectional RNN maps a noisy sequence to a correction.

    x_hat = y + W h(y),   h = bi-RNN(y) (B, T, 2H)

trained for one noise level sigma on (clean, noisy) pairs with fresh noise every batch: a batch
of clean sequences x (B, T, D) gets y = x + sigma eps, and the loss is the mean squared error
of x_hat against x, so the network learns E[x | y] for that sigma. The read-out W starts at zero,
so an untrained model is the identity (its loss is sigma^2).

Any (B, T, D) data: a time-series window is T steps of D channels; an 8x8 image is 8 rows of 8
pixels (each step sees a whole row; the two directions carry the rows above and below).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack


@dataclass(frozen=True)
class RNNDenoiserConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    features: D, values per step.
    noise_sd: sigma of the Gaussian noise it is trained to remove, in the data's units.
    bidirectional: read the sequence both ways (a denoiser sees the whole observation).
    """

    features: int = 8
    noise_sd: float = 0.1
    bidirectional: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.noise_sd > 0:
            raise ValueError(f"noise_sd must be positive, got {self.noise_sd}")


class RNNDenoiser(PretrainedMixin, nn.Module):
    """Residual bi-RNN denoiser for one noise level. Batches are clean x or (x, ...)."""

    config_class = RNNDenoiserConfig

    def __init__(self, config: RNNDenoiserConfig) -> None:
        super().__init__()
        self.config = config
        self.rnn = recurrent_stack(config, config.features, bidirectional=config.bidirectional)
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(directions * config.hidden_size, config.features)
        nn.init.zeros_(self.head.weight)  # start as the identity map
        nn.init.zeros_(self.head.bias)

    def forward(self, y: Tensor) -> Tensor:
        """Estimate of the clean sequence: y (B, T, D) -> (B, T, D)."""
        hidden, _ = self.rnn(y)  # (B, T, H * dirs)
        return y + self.head(hidden)

    def loss(self, batch: Tensor | tuple[Tensor, ...]) -> Tensor:
        """MSE of the estimate from x + sigma eps (fresh eps) against clean x (B, T, D)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch  # (B, T, D)
        y = x + self.config.noise_sd * torch.randn_like(x)
        return F.mse_loss(self(y), x)

    @torch.no_grad()
    def denoise(self, y: Tensor) -> Tensor:
        """Estimate in eval mode: y (B, T, D) -> (B, T, D)."""
        self.eval()
        return self(y)


def rnn_denoiser(
    size: Size = "full", features: int = 8, noise_sd: float = 0.1
) -> RNNDenoiserConfig:
    """The supervised denoiser presets (`features` channels per step, trained at noise sd
    `noise_sd`): 2 bidirectional GRU layers of 128 units per direction ("full"), 1 of 32
    ("quick")."""
    presets = {
        "quick": RNNDenoiserConfig(features, noise_sd, hidden_size=32, num_layers=1),
        "full": RNNDenoiserConfig(features, noise_sd, hidden_size=128, num_layers=2),
    }
    return pick(size, presets)
