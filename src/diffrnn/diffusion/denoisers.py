"""A residual MLP denoiser for vectors: `eps_model(x_t (B, D), t (B,), cond) -> (B, D)`.

Time enters as a sinusoidal embedding (Vaswani et al. 2017, as in DDPM) via diffusers'
`get_timestep_embedding`, added to every residual block; an optional class label (with a null
class at index `num_classes` for classifier-free guidance) or a conditioning vector is added the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class StepEmbedding(nn.Sequential):
    """t (B,) -> (B, H): the sinusoidal embedding of the diffusion step (size `embed_dim`,
    diffusers' `get_timestep_embedding`), then Linear, SiLU, Linear to the network's width."""

    def __init__(self, embed_dim: int, hidden: int) -> None:
        super().__init__(nn.Linear(embed_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.embed_dim = embed_dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        from diffusers.models.embeddings import get_timestep_embedding

        return super().forward(get_timestep_embedding(t, self.embed_dim, flip_sin_to_cos=True))


class ResidualBlock(nn.Module):
    """x + W2 SiLU(W1 LayerNorm(x) + emb): a pre-norm residual block with an added embedding."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = nn.functional.silu(self.fc1(self.norm(x)) + emb)  # (B, H)
        return x + self.fc2(self.dropout(h))


@dataclass(frozen=True)
class ResidualMLPConfig:
    """Args:
    dim: D, the vector size.
    hidden: width of the residual stream.
    depth: number of residual blocks.
    time_embed_dim: size of the sinusoidal time embedding.
    num_classes: if set, `cond` is a (B,) label in [0, num_classes] (num_classes = null class).
    cond_dim: if set, `cond` is a (B, cond_dim) vector (e.g. an RNN state).
    dropout: dropout inside the blocks.
    """

    dim: int = 2
    hidden: int = 128
    depth: int = 3
    time_embed_dim: int = 64
    num_classes: int | None = None
    cond_dim: int | None = None
    dropout: float = 0.0


class ResidualMLP(nn.Module):
    """Residual MLP denoiser for (B, D) vectors."""

    config_class = ResidualMLPConfig

    def __init__(self, config: ResidualMLPConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden
        self.time_mlp = StepEmbedding(config.time_embed_dim, hidden)
        self.class_embed = (
            nn.Embedding(config.num_classes + 1, hidden) if config.num_classes is not None else None
        )
        self.cond_proj = nn.Linear(config.cond_dim, hidden) if config.cond_dim else None
        self.inp = nn.Linear(config.dim, hidden)
        self.blocks = nn.ModuleList(
            ResidualBlock(hidden, config.dropout) for _ in range(config.depth)
        )
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, config.dim)

    @property
    def sample_shape(self) -> tuple[int]:
        """(D,) of one vector, for `GaussianDiffusion.sample`."""
        return (self.config.dim,)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """x_t: (B, D), t: (B,) timesteps, cond: (B,) labels or (B, C) vector -> (B, D)."""
        emb = self.time_mlp(t)  # (B, H)
        if self.class_embed is not None and cond is not None:
            emb = emb + self.class_embed(cond)
        if self.cond_proj is not None and cond is not None:
            emb = emb + self.cond_proj(cond)
        h = self.inp(x_t)  # (B, H)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(nn.functional.silu(self.out_norm(h)))  # (B, D)
