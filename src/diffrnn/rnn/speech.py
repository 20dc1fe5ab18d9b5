"""Spoken-digit recogniser: MFCC or log-mel frames -> (bi)directional recurrent stack -> pooling
over the valid frames -> linear -> softmax over the classes.

Features are standardised with per-coefficient mean and standard deviation of the training set,
kept as buffers so a saved recogniser carries them. Padded frames (beyond each recording's length)
are excluded from the pooling. `embed_and_probs` exposes the pooled penultimate features and the
class probabilities, so the recogniser can judge generated audio (accuracy on samples, Frechet
distance, inception-style score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import CellType, RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack

Pooling = Literal["mean", "max", "last"]


def masked_pool(h: Tensor, lengths: Tensor, pooling: Pooling) -> Tensor:
    """Pool the valid steps of each sequence.

    Args:
        h: (B, T, H) outputs.
        lengths: (B,) number of valid steps (>= 1) of each sequence.
        pooling: "mean" or "max" over the valid steps, or "last" valid step.

    Returns:
        (B, H).
    """
    valid = torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None]  # (B, T)
    if pooling == "mean":
        return (h * valid[..., None]).sum(1) / lengths[:, None].to(h.dtype)
    if pooling == "max":
        return h.masked_fill(~valid[..., None], float("-inf")).amax(1)
    return h[torch.arange(h.shape[0]), lengths - 1]


@dataclass(frozen=True)
class SpeechConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    n_features: coefficients per frame (13 MFCC or 40 log-mel bands).
    n_classes: digits 0-9.
    bidirectional: read the recording both ways (the whole utterance is available).
    pooling: "mean", "max" or "last" over the valid frames.
    dropout: between layers and before the classifier.
    """

    n_features: int = 40
    n_classes: int = 10
    bidirectional: bool = True
    pooling: Pooling = "mean"
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pooling not in get_args(Pooling):
            raise ValueError(f"pooling must be one of {get_args(Pooling)}, got {self.pooling!r}")


class SpeechRecogniser(PretrainedMixin, nn.Module):
    """Utterance classifier over feature frames."""

    config_class = SpeechConfig

    def __init__(self, config: SpeechConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("feature_mean", torch.zeros(config.n_features))
        self.register_buffer("feature_std", torch.ones(config.n_features))
        self.rnn = recurrent_stack(config, config.n_features, config.dropout, config.bidirectional)
        width = config.hidden_size * (2 if config.bidirectional else 1)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(width, config.n_classes)

    def set_normalisation(self, features: Tensor, lengths: Tensor) -> None:
        """Store the mean and standard deviation of the valid frames of training `features`.

        Args:
            features: (N, T, F).
            lengths: (N,) valid frames per recording.
        """
        valid = torch.arange(features.shape[1])[None, :] < lengths[:, None]  # (N, T)
        frames = features[valid]  # (frames, F)
        self.feature_mean.copy_(frames.mean(0))
        self.feature_std.copy_(frames.std(0).clamp_min(1e-5))

    def embed(self, features: Tensor, lengths: Tensor) -> Tensor:
        """Pooled penultimate features. features (B, T, F), lengths (B,) -> (B, H * dirs)."""
        x = (features - self.feature_mean) / self.feature_std  # (B, T, F)
        h, _ = self.rnn(x)  # (B, T, H * dirs)
        return masked_pool(h, lengths, self.config.pooling)

    def forward(self, features: Tensor, lengths: Tensor) -> Tensor:
        """features (B, T, F), lengths (B,) -> logits (B, n_classes)."""
        return self.head(self.drop(self.embed(features, lengths)))

    def loss(self, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """Cross-entropy of a batch `(features (B, T, F), lengths (B,), labels (B,))`."""
        features, lengths, labels = batch
        return F.cross_entropy(self(features, lengths), labels)

    @torch.no_grad()
    def embed_and_probs(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """For judging audio: penultimate features (B, H * dirs) and class probabilities (B, C)."""
        was_training = self.training
        self.eval()
        pooled = self.embed(features, lengths)
        probs = F.softmax(self.head(pooled), dim=-1)
        self.train(was_training)
        return pooled, probs

    @torch.no_grad()
    def predict(self, features: Tensor, lengths: Tensor) -> Tensor:
        """Most probable class of each recording, (B,) long."""
        return self.embed_and_probs(features, lengths)[1].argmax(-1)


SpeechRecognizer = SpeechRecogniser
"""The class's former name, which the config.json of recognisers saved before the spelling was
settled still names: `load` and `SpeechRecogniser.from_pretrained` find it through this alias."""


def speech(size: Size = "full", cell: CellType = "gru", n_features: int = 40) -> SpeechConfig:
    """The spoken-digit presets over log-mel frames, mean pooling: "full" is the FSDD model
    (2 bidirectional layers of 64 units), "quick" one layer of 32, "tiny" the same without
    dropout (tests, and the quick suite's judge of generated audio)."""
    presets = {
        "tiny": SpeechConfig(n_features, cell=cell, hidden_size=32, num_layers=1, dropout=0.0),
        "quick": SpeechConfig(n_features, cell=cell, hidden_size=32, num_layers=1),
        "full": SpeechConfig(n_features, cell=cell, hidden_size=64, num_layers=2),
    }
    return pick(size, presets)
