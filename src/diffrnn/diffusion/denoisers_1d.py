"""A 1-D convolutional denoiser for multivariate windows: `eps_model(x_t (B, H, N), t, cond)`.

DiffWave-style (Kong et al. 2021, sec. 3 and fig. 2): a stack of residual layers with dilated
convolutions over time, gated tanh * sigmoid units, the diffusion step's sinusoidal embedding
added in every layer, and skip connections summed into the output. The N series are the input
channels, so every layer mixes series and time.

Conditioning on an observed context (CSDI's imputation view, Tashiro et al. 2021): the context
(B, C, N) is written in front of the noisy window, giving a (B, C + H, N) sequence with one more
channel marking the observed steps; the output is read from the last H steps. Without a context
the model is an unconditional denoiser of (B, H, N) windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from diffrnn.diffusion.denoisers import StepEmbedding


class GatedResidualLayer(nn.Module):
    """h -> (h + out) / sqrt(2), skip: a dilated conv with the step embedding and a gated unit."""

    def __init__(self, hidden: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.step = nn.Linear(hidden, hidden)
        self.conv = nn.Conv1d(
            hidden, 2 * hidden, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2
        )
        self.out = nn.Conv1d(hidden, 2 * hidden, 1)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(h + self.step(emb)[:, :, None])  # (B, 2 Hd, L)
        gate, filt = y.chunk(2, dim=1)
        residual, skip = self.out(torch.sigmoid(gate) * torch.tanh(filt)).chunk(2, dim=1)
        return (h + residual) / 2**0.5, skip


@dataclass(frozen=True)
class ConvDenoiser1dConfig:
    """Args:
    num_series: N, channels of the window.
    horizon: H, length of the window denoised.
    context: C, length of the observed context written in front (0: unconditional).
    hidden: residual channels.
    layers: residual layers; dilations cycle 1, 2, 4, ..., 2^(dilation_cycle - 1).
    dilation_cycle: length of the dilation cycle.
    kernel: odd convolution width.
    time_embed_dim: size of the sinusoidal step embedding.
    """

    num_series: int = 1
    horizon: int = 24
    context: int = 0
    hidden: int = 64
    layers: int = 8
    dilation_cycle: int = 6
    kernel: int = 3
    time_embed_dim: int = 64

    def __post_init__(self) -> None:
        if self.kernel % 2 != 1:
            raise ValueError(f"kernel must be odd, got {self.kernel}")


class ConvDenoiser1d(nn.Module):
    """Dilated-convolution denoiser of (B, H, N) windows, optionally given a (B, C, N) context."""

    config_class = ConvDenoiser1dConfig

    def __init__(self, config: ConvDenoiser1dConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden
        self.time_mlp = StepEmbedding(config.time_embed_dim, hidden)
        self.inp = nn.Conv1d(config.num_series + 1, hidden, 1)
        self.layers = nn.ModuleList(
            GatedResidualLayer(hidden, config.kernel, 2 ** (i % config.dilation_cycle))
            for i in range(config.layers)
        )
        self.skip = nn.Conv1d(hidden, hidden, 1)
        self.head = nn.Conv1d(hidden, config.num_series, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def sample_shape(self) -> tuple[int, int]:
        """(H, N) of one window, for `GaussianDiffusion.sample`."""
        return (self.config.horizon, self.config.num_series)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """x_t: (B, H, N), t: (B,) timesteps, cond: (B, C, N) context or None -> (B, H, N)."""
        emb = self.time_mlp(t)  # (B, Hd)
        observed = torch.zeros_like(x_t[..., :1])  # (B, H, 1)
        seq = torch.cat([x_t, observed], dim=-1)  # (B, H, N + 1)
        if cond is not None:
            context = torch.cat([cond, torch.ones_like(cond[..., :1])], dim=-1)  # (B, C, N + 1)
            seq = torch.cat([context, seq], dim=1)  # (B, C + H, N + 1)
        h = self.inp(seq.transpose(1, 2))  # (B, Hd, L)
        skips = torch.zeros_like(h)
        for layer in self.layers:
            h, skip = layer(h, emb)
            skips = skips + skip
        out = self.head(F.silu(self.skip(skips / len(self.layers) ** 0.5)))  # (B, N, L)
        return out[:, :, -x_t.shape[1] :].transpose(1, 2)  # (B, H, N)
