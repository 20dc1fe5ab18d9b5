"""Pixel autoregressive model of 8x8 digits: p(x) = prod_t p(x_t | x_<t) in raster order.

Discretisation: each of the 64 pixels is one of the 17 grey levels 0..16 of scikit-learn's digits,
modelled as a 17-way categorical, so the likelihood is exact and discrete (no dequantisation).
Bits/dim is the negative log2-likelihood of an image divided by 64: -log2 p(x) / 64, averaged over
images. A model that knows nothing scores log2 17 = 4.09 bits/dim.

The recurrent stack reads, at step t, the previous pixel's level (a start token at t = 0) plus a
learned embedding of the position t (and of the class label when class-conditional), and outputs
the 17 logits of pixel t. Sampling draws the 64 pixels one by one with O(1) recurrent state.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffrnn.generative import class_labels, sample_method
from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import CellType, RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack

SIDE = 8


@dataclass(frozen=True)
class PixelARConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    levels: grey levels per pixel (17 for the digits, values 0..16).
    embed_dim: size of the level, position and class embeddings (summed).
    n_classes: number of labels (used only when `conditional`).
    conditional: condition every step on the class label.
    dropout: between layers and before the output layer.
    shape: the shape of one image as read in raster order, (8, 8) for the digits; (H, W, C)
        for colour images read pixel by pixel, channel by channel.
    """

    levels: int = 17
    embed_dim: int = 64
    n_classes: int = 10
    conditional: bool = False
    dropout: float = 0.0
    shape: tuple[int, ...] = (SIDE, SIDE)

    @property
    def num_pixels(self) -> int:
        """Values per image, T = prod(shape) (64 for the digits)."""
        return math.prod(self.shape)


class PixelAR(PretrainedMixin, nn.Module):
    """Raster-order autoregressive model of `levels`-valued 8x8 images."""

    config_class = PixelARConfig

    def __init__(self, config: PixelARConfig) -> None:
        super().__init__()
        self.config = config
        self.level_embed = nn.Embedding(config.levels + 1, config.embed_dim)  # + start token
        self.position_embed = nn.Embedding(config.num_pixels, config.embed_dim)
        self.class_embed = nn.Embedding(config.n_classes, config.embed_dim)
        self.rnn = recurrent_stack(config, config.embed_dim, config.dropout)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.levels)

    def _inputs(self, previous: Tensor, positions: Tensor, labels: Tensor | None) -> Tensor:
        """Summed embeddings. previous (B, T) long, positions (T,) long -> (B, T, E)."""
        x = self.level_embed(previous) + self.position_embed(positions)  # (B, T, E)
        if self.config.conditional:
            if labels is None:
                raise ValueError("a class-conditional PixelAR needs labels")
            x = x + self.class_embed(labels)[:, None, :]
        return x

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """Teacher-forced logits. images (B, 8, 8) long -> logits (B, 64, levels)."""
        pixels = images.reshape(images.shape[0], self.config.num_pixels)  # (B, T), raster order
        start = torch.full_like(pixels[:, :1], self.config.levels)
        previous = torch.cat([start, pixels[:, :-1]], dim=1)  # (B, 64)
        positions = torch.arange(self.config.num_pixels, device=images.device)
        h, _ = self.rnn(self._inputs(previous, positions, labels))  # (B, 64, H)
        return self.head(self.drop(h))

    def nll_per_dim(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """-log p(x) / 64 in nats for each image: (B, 8, 8) -> (B,)."""
        logits = self(images, labels)  # (B, 64, levels)
        nll = F.cross_entropy(
            logits.transpose(1, 2),
            images.reshape(images.shape[0], self.config.num_pixels),
            reduction="none",
        )  # (B, 64)
        return nll.mean(1)

    def loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Mean nats/dim of a batch `(images (B, 8, 8) long, labels (B,) long)`."""
        images, labels = batch
        return self.nll_per_dim(images, labels).mean()

    @torch.no_grad()
    def bits_per_dim(self, images: Tensor, labels: Tensor | None = None) -> float:
        """Exact mean bits/dim (-log2 p(x) / 64) of `images` (N, 8, 8) long."""
        was_training = self.training
        self.eval()
        nats = self.nll_per_dim(images, labels).mean()
        self.train(was_training)
        return float(nats) / math.log(2)

    @sample_method
    def sample(
        self,
        num_samples: int,
        *,
        generator: torch.Generator | None = None,
        labels: Tensor | None = None,
        temperature: float = 1.0,
    ) -> Tensor:
        """Draw images pixel by pixel (the generative contract, `diffrnn.generative`).

        Args:
            num_samples: B.
            generator: seeds every pixel's draw (None: the global RNG).
            labels: (B,) long class labels of a conditional model (None: balanced labels
                0, 1, ..., 9, 0, ...); ignored by an unconditional one.
            temperature: divides the logits.

        Returns:
            (B, *shape) long levels, (B, 8, 8) for the digits.
        """
        device = self.head.weight.device
        if self.config.conditional:
            labels = class_labels(num_samples, labels, self.config.n_classes, device)
        previous = torch.full((num_samples,), self.config.levels, dtype=torch.long, device=device)
        state = None
        pixels = []
        for t in range(self.config.num_pixels):
            position = torch.tensor([t], device=device)
            x = self._inputs(previous[:, None], position, labels)[:, 0]  # (B, E)
            h, state = self.rnn.step(x, state)  # (B, H)
            probs = F.softmax(self.head(h) / temperature, dim=-1)  # (B, levels)
            previous = torch.multinomial(probs, 1, generator=generator)[:, 0]
            pixels.append(previous)
        return torch.stack(pixels, dim=1).reshape(num_samples, *self.config.shape)


def pixel_lstm(
    size: Size = "full",
    cell: CellType = "lstm",
    conditional: bool = False,
    levels: int = 17,
    shape: tuple[int, ...] = (SIDE, SIDE),
) -> PixelARConfig:
    """The pixel AR presets: "full" is the digits model (1 layer of 256 units), "quick" 64 units
    for the quick suite, "tiny" 32 for tests; `levels` and `shape` are the data's."""
    presets = {
        "tiny": PixelARConfig(levels, embed_dim=16, cell=cell, hidden_size=32),
        "quick": PixelARConfig(levels, embed_dim=16, cell=cell, hidden_size=64),
        "full": PixelARConfig(levels, embed_dim=64, cell=cell, hidden_size=256),
    }
    return dataclasses.replace(pick(size, presets), conditional=conditional, shape=shape)
