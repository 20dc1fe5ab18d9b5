"""An autoregressive recurrent generator of multivariate windows: a GRU (or any cell) with a
diagonal Gaussian output per step, the RNN counterpart of the diffusion window generator.

    p(x_1..T) = prod_t N(x_t; mu_t, diag(sigma_t^2)),  (mu_t, log sigma_t) = W h_t,
    h_t = RNN(h_{t-1}, [x_{t-1}, start_t])

with x_0 = 0 and a start flag on the first step. Trained by exact maximum likelihood (teacher
forcing), sampled ancestrally one step at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from diffrnn.generative import sample_method
from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack


@dataclass(frozen=True)
class ARGeneratorConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    num_series: D, channels of a window.
    length: T, steps of a sampled window.
    min_std: floor of the output standard deviation (keeps the likelihood bounded).
    """

    num_series: int = 7
    length: int = 24
    min_std: float = 1e-3


class ARGenerator(PretrainedMixin, nn.Module):
    """Gaussian autoregressive RNN over (B, T, D) windows. Batches are windows or (windows,)."""

    config_class = ARGeneratorConfig

    def __init__(self, config: ARGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        d = config.num_series
        self.rnn = recurrent_stack(config, d + 1)
        self.head = nn.Linear(config.hidden_size, 2 * d)

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        """[x_{t-1}, start_t] for t = 1..T: (B, T, D) -> (B, T, D + 1)."""
        shifted = F.pad(x[:, :-1], (0, 0, 1, 0))  # (B, T, D), x_0 = 0
        start = torch.zeros_like(x[..., :1])
        start[:, 0] = 1.0
        return torch.cat([shifted, start], dim=-1)

    def _gaussian(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation from states (..., H) -> (..., D) each."""
        mean, raw = self.head(h).chunk(2, dim=-1)
        return mean, F.softplus(raw) + self.config.min_std

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) per window, (B, T, D) -> (B,) nats."""
        h, _ = self.rnn(self._inputs(x))  # (B, T, H)
        mean, std = self._gaussian(h)
        log_p = -0.5 * ((x - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)
        return log_p.sum(dim=(1, 2))

    def loss(self, batch: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Negative log-likelihood in nats per value (a scalar)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch  # (B, T, D)
        return -self.log_likelihood(x).mean() / x[0].numel()

    @sample_method
    def sample(self, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral sampling of windows (the generative contract, `diffrnn.generative`).

        Args:
            num_samples: B.
            generator: seeds the Gaussian noise of every step (None: the global RNG).

        Returns:
            (B, T, D) windows, unbounded (the Gaussians' support).
        """
        d = self.config.num_series
        device = self.head.weight.device
        x_prev = torch.zeros(num_samples, d, device=device)
        start = torch.ones(num_samples, 1, device=device)
        state = None
        steps = []
        for _ in range(self.config.length):
            h, state = self.rnn.step(torch.cat([x_prev, start], dim=-1), state)  # (B, H)
            mean, std = self._gaussian(h)
            noise = torch.randn(mean.shape, generator=generator).to(device)
            x_prev = mean + std * noise
            start = torch.zeros_like(start)
            steps.append(x_prev)
        return torch.stack(steps, dim=1)


def ar_generator(size: Size = "full", num_series: int = 7, length: int = 24) -> ARGeneratorConfig:
    """The autoregressive generator presets (windows of `length` steps of `num_series`
    series): 2 GRU layers of 128 units ("full"), 1 of 32 ("quick")."""
    presets = {
        "quick": ARGeneratorConfig(num_series, length, hidden_size=32, num_layers=1),
        "full": ARGeneratorConfig(num_series, length, hidden_size=128, num_layers=2),
    }
    return pick(size, presets)
