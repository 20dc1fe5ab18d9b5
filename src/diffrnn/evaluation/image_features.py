"""Features to score generated images of the user's own data: a classifier, or an autoencoder.

    judge = fit_judge(train_images, train_labels, seed=0)   # classes: a classifier
    judge = fit_judge(train_images, None, seed=0)           # none: an autoencoder
    fd = frechet_distance(judge.features(samples), judge.features(held_out))

The Frechet distance needs features that know the data. With classes, a small MLP classifier is
trained on the user's training split and its penultimate activations are the features (as the
in-project digits classifier's are for the digits); without classes, an MLP autoencoder is
trained to reconstruct the training images and its bottleneck is the feature. Both train for a
fixed number of steps under a seed (deterministic, seconds on small images). `kind` says which,
for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

JUDGE_STEPS = 400
"""Optimiser steps of the judge (Adam, lr 1e-3, batches of JUDGE_BATCH)."""
JUDGE_BATCH = 64
HIDDEN, FEATURES = 256, 64
MEMORISATION_QUANTILE = 0.05
"""A sample is memorised when closer to a training image than 95% of held-out images are."""


@dataclass
class Judge:
    """A trained feature extractor on images (B, C, S, S) in [-1, 1].

    Attributes:
        kind: "classifier" (trained on the user's classes) or "autoencoder" (no classes).
        encoder: images -> (B, FEATURES) features.
        accuracy: the classifier's accuracy on the held-out images it was given (None for
            the autoencoder).
        head: the classifier's last layer, features -> class logits (None for the autoencoder).
    """

    kind: Literal["classifier", "autoencoder"]
    encoder: nn.Module
    accuracy: float | None = None
    head: nn.Module | None = None

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """(B, C, S, S) in [-1, 1] -> (B, FEATURES) float64."""
        self.encoder.eval()
        return self.encoder(images.float()).double().numpy()

    @torch.no_grad()
    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) in [-1, 1] -> (B,) the classifier's most likely class."""
        if self.head is None:
            raise ValueError("classify needs a classifier judge (trained with labels)")
        self.encoder.eval()
        return self.head(self.encoder(images.float())).argmax(1)


def fit_judge(
    images: torch.Tensor,
    labels: torch.Tensor | None,
    seed: int,
    held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Judge:
    """Train the judge on `images` (N, C, S, S) in [-1, 1]: a classifier of `labels` (N,), or an
    autoencoder when `labels` is None; `held_out` (images, labels) measures its accuracy."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        dim = images[0].numel()
        encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(dim, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, FEATURES), nn.ReLU()
        )
        if labels is not None:
            head: nn.Module = nn.Linear(FEATURES, int(labels.max()) + 1)
        else:
            head = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, dim))
    params = [*encoder.parameters(), *head.parameters()]
    optimiser = torch.optim.Adam(params, lr=1e-3)
    for _ in range(JUDGE_STEPS):
        batch = torch.randint(len(images), (JUDGE_BATCH,), generator=generator)
        x = images[batch].float()
        out = head(encoder(x))
        if labels is not None:
            loss = nn.functional.cross_entropy(out, labels[batch])
        else:
            loss = nn.functional.mse_loss(out, x.flatten(1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    if labels is None:
        return Judge("autoencoder", encoder)
    judge = Judge("classifier", encoder, head=head)
    if held_out is not None:
        judge.accuracy = float((judge.classify(held_out[0]) == held_out[1]).float().mean())
    return judge


def memorisation_share(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> float:
    """Share of samples (B, ...) closer to a training image than 95% of held-out images are."""
    train = train.flatten(1).float()
    sample_nn = torch.cdist(samples.flatten(1).float(), train).min(dim=1).values  # (B,)
    held_nn = torch.cdist(held_out.flatten(1).float(), train).min(dim=1).values
    return float((sample_nn < torch.quantile(held_nn, MEMORISATION_QUANTILE)).float().mean())


def save_grid(images: np.ndarray, path: str | Path, columns: int = 8) -> Path:
    """The first columns**2 images (N, C, S, S) uint8 tiled into one PNG, 1 px apart."""
    from PIL import Image

    images = images[: columns * columns]
    n, channels, size, _ = images.shape
    rows = -(-n // columns)
    step = size + 1
    grid = np.zeros((rows * step + 1, columns * step + 1, channels), dtype=np.uint8)
    for k in range(n):
        r, c = divmod(k, columns)
        grid[1 + r * step : 1 + r * step + size, 1 + c * step : 1 + c * step + size] = images[
            k
        ].transpose(1, 2, 0)
    path = Path(path)
    Image.fromarray(grid[..., 0] if channels == 1 else grid).save(path)
    return path
