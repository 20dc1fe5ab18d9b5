"""A class-conditional GRU that generates a log-mel spectrogram frame by frame.

    p(x | y) = prod_t p(x_t | x_{<t}, y),   p(x_t | .) = sum_k pi_k N(x_t; mu_k, diag(sigma_k^2))

Each step reads the previous frame (zeros before the first) and the digit's embedding; the GRU's
output gives a mixture of K diagonal Gaussians over the n_mels bands of the next frame (K = 1: a
plain Gaussian; a mixture density network, Bishop 1994, as in Graves 2013's handwriting model).
Training is teacher-forced maximum likelihood; sampling is ancestral, with a temperature that
scales the standard deviations (1.0: the model's own distribution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from diffrnn.generative import class_labels, sample_method
from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack

LOG_SCALE_MIN = -7.0
"""Lower clamp of log sigma (sigma >= 9e-4 in the [-1, 1] scale), so the NLL stays finite."""


def mixture_log_prob(
    x: torch.Tensor, logits: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor
) -> torch.Tensor:
    """log p(x) under a mixture of diagonal Gaussians.

    Args:
        x: (..., D) values.
        logits: (..., K) unnormalised log mixture weights.
        mean, log_scale: (..., K, D).

    Returns:
        (...,) log densities.
    """
    z = (x[..., None, :] - mean) * torch.exp(-log_scale)  # (..., K, D)
    per_component = (-0.5 * z.pow(2) - log_scale - 0.5 * math.log(2 * math.pi)).sum(-1)  # (..., K)
    return torch.logsumexp(F.log_softmax(logits, dim=-1) + per_component, dim=-1)


@dataclass(frozen=True)
class SpectrogramGRUConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    n_mels: bands per frame (D).
    n_frames: frames per generated spectrogram.
    num_classes: digits.
    embed_dim: size of the label embedding fed at every step.
    n_components: K, mixture components per frame (1: a diagonal Gaussian).
    dropout: between layers.
    temperature: default scale of the standard deviations at sampling.
    """

    n_mels: int = 40
    n_frames: int = 64
    num_classes: int = 10
    embed_dim: int = 32
    n_components: int = 4
    dropout: float = 0.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")


class SpectrogramGRU(PretrainedMixin, nn.Module):
    """Autoregressive class-conditional generator of (n_mels, n_frames) spectrograms in [-1, 1].

    Batches are `(x (B, n_mels, n_frames), digits (B,))`, as for `SpectrogramDiffusion`.
    """

    config_class = SpectrogramGRUConfig

    def __init__(self, config: SpectrogramGRUConfig) -> None:
        super().__init__()
        self.config = config
        self.label_embed = nn.Embedding(config.num_classes, config.embed_dim)
        self.rnn = recurrent_stack(config, config.n_mels + config.embed_dim, config.dropout)
        k, d = config.n_components, config.n_mels
        self.head = nn.Linear(config.hidden_size, k + 2 * k * d)
        self.register_buffer("log_mel_range", torch.tensor([-1.0, 1.0]))

    def _mixture(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """GRU outputs (..., H) -> logits (..., K), mean and log_scale (..., K, D)."""
        k, d = self.config.n_components, self.config.n_mels
        out = self.head(h)
        logits, rest = out.split([k, 2 * k * d], dim=-1)
        mean, log_scale = rest.unflatten(-1, (k, 2 * d)).chunk(2, dim=-1)  # (..., K, D) each
        return logits, mean, log_scale.clamp_min(LOG_SCALE_MIN)

    def _inputs(self, frames: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        """frames (B, T, D) and digits (B,) -> the step inputs (B, T, D + E)."""
        label = self.label_embed(digits)[:, None, :].expand(-1, frames.shape[1], -1)
        return torch.cat([frames, label], dim=-1)

    def log_prob(self, x: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        """log p(x | digit) summed over frames and bands. x: (B, n_mels, T) -> (B,)."""
        frames = x.transpose(1, 2)  # (B, T, D)
        previous = F.pad(frames[:, :-1], (0, 0, 1, 0))  # (B, T, D), zeros before the first
        h, _ = self.rnn(self._inputs(previous, digits))  # (B, T, H)
        return mixture_log_prob(frames, *self._mixture(h)).sum(-1)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Negative log-likelihood per band and frame (nats), teacher-forced; a scalar."""
        x, digits = batch
        return -self.log_prob(x, digits).mean() / (x.shape[1] * x.shape[2])

    @sample_method
    def sample(
        self,
        num_samples: int,
        *,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
        temperature: float | None = None,
    ) -> torch.Tensor:
        """Spectrograms one frame at a time (the generative contract, `diffrnn.generative`).

        Args:
            num_samples: B.
            generator: seeds the component choices and the Gaussian noise (None: the global RNG).
            labels: (B,) digits to say (None: balanced digits 0, 1, ..., 9, 0, ...).
            temperature: scale of the standard deviations (None: the config's).

        Returns:
            (B, n_mels, n_frames) in the [-1, 1] scale.
        """
        c = self.config
        tau = c.temperature if temperature is None else temperature
        device = self.log_mel_range.device
        digits = class_labels(num_samples, labels, c.num_classes, device).to(device)
        label = self.label_embed(digits)  # (B, E)
        frame = torch.zeros(num_samples, c.n_mels, device=device)
        state = None
        frames = []
        for _ in range(c.n_frames):
            h, state = self.rnn.step(torch.cat([frame, label], dim=-1), state)  # (B, H)
            logits, mean, log_scale = self._mixture(h)
            component = torch.multinomial(F.softmax(logits, -1), 1, generator=generator)  # (B, 1)
            pick = component[:, :, None].expand(-1, 1, c.n_mels)  # (B, 1, D)
            mu, sigma = mean.gather(1, pick)[:, 0], log_scale.gather(1, pick)[:, 0].exp()
            noise = torch.randn(num_samples, c.n_mels, generator=generator).to(device)
            frame = mu + tau * sigma * noise  # (B, D)
            frames.append(frame)
        return torch.stack(frames, dim=2)  # (B, D, T)


def spectrogram_gru(size: Size = "full", num_classes: int = 10) -> SpectrogramGRUConfig:
    """The FSDD presets: "full" 2 layers of 256 GRU units, 4 mixture components per frame;
    "quick" 1 layer of 64 units, one Gaussian per frame, for the quick suite and tests.
    `num_classes`: the classes to say (10 digits; the user's class folders)."""
    presets = {
        "quick": SpectrogramGRUConfig(
            num_classes=num_classes, hidden_size=64, num_layers=1, n_components=1
        ),
        "full": SpectrogramGRUConfig(
            num_classes=num_classes, hidden_size=256, num_layers=2, n_components=4
        ),
    }
    return pick(size, presets)
