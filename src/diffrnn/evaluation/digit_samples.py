"""Scoring generated 8x8 digits: Frechet distance, class accuracy, memorisation, a sample grid.

Every generator of digits (diffusion, pixel LSTM, ...) is scored the same way:

- samples are snapped to the data's 17 grey levels (`unit_to_levels`), as the data are discrete;
- `fd`: Frechet distance between the in-project classifier's penultimate features of the samples
  and of `HELD_OUT` real held-out images (validation + test split); its floor is
  `real_vs_real_fd()`: `REFERENCE` training images against the same held-out ones;
- `accuracy`: for class-conditional samples, the share the classifier assigns to the asked class;
- `memorisation_share`: share of samples nearer (L2, pixels) to their nearest training image
  than 95% of held-out images are to theirs; about 0.05 for a generator that does not copy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from diffrnn.data.images import levels_to_unit, unit_to_levels
from diffrnn.evaluation.digits_classifier import digits_classifier
from diffrnn.evaluation.frechet import frechet_distance

REFERENCE = 500
"""Images in each real set of the Frechet distance (the issue's 500 vs 500)."""
MEMORISATION_QUANTILE = 0.05


@dataclass(frozen=True, eq=False)
class DigitsReference:
    """Real images in [-1, 1], (N, 1, 8, 8): all training images, the first `REFERENCE` training
    images, and the first `REFERENCE` held-out (validation + test) images with their labels."""

    train: torch.Tensor
    train_ref: torch.Tensor
    held_out: torch.Tensor
    held_out_labels: torch.Tensor


@functools.cache
def digits_reference() -> DigitsReference:
    """The real sets every digits score uses."""
    from diffrnn.data.images import load_digits

    digits = load_digits()
    held = np.concatenate([digits.val, digits.test])[:REFERENCE]
    to_unit = lambda idx: levels_to_unit(torch.as_tensor(digits.images[idx]))[:, None]  # noqa: E731
    return DigitsReference(
        train=to_unit(digits.train),
        train_ref=to_unit(digits.train[:REFERENCE]),
        held_out=to_unit(held),
        held_out_labels=torch.as_tensor(digits.labels[held]),
    )


def snap(samples: torch.Tensor) -> torch.Tensor:
    """Samples in [-1, 1] (B, 1, 8, 8) snapped to the nearest of the 17 grey levels."""
    return levels_to_unit(unit_to_levels(samples))


@torch.no_grad()
def _features(x: torch.Tensor, seed: int) -> np.ndarray:
    return digits_classifier(seed).features(x).numpy()


def fd_to_held_out(samples: torch.Tensor, seed: int = 0) -> float:
    """Frechet distance of snapped samples (B, 1, 8, 8) to the held-out images (features)."""
    reference = digits_reference()
    return frechet_distance(_features(snap(samples), seed), _features(reference.held_out, seed))


def real_vs_real_fd(seed: int = 0) -> float:
    """The floor: `REFERENCE` training images against `REFERENCE` held-out images."""
    reference = digits_reference()
    return frechet_distance(
        _features(reference.train_ref, seed), _features(reference.held_out, seed)
    )


@torch.no_grad()
def class_accuracy(samples: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> float:
    """Share of samples (B, 1, 8, 8) the classifier assigns to their asked labels (B,)."""
    predicted = digits_classifier(seed).probabilities(snap(samples)).argmax(dim=1)
    return float((predicted == labels).float().mean())


def memorisation_share(samples: torch.Tensor) -> float:
    """Share of samples closer to a training image than 95% of held-out images are."""
    reference = digits_reference()
    train = reference.train.flatten(1)  # (N, 64)
    sample_nn = torch.cdist(snap(samples).flatten(1), train).min(dim=1).values  # (B,)
    held_nn = torch.cdist(reference.held_out.flatten(1), train).min(dim=1).values
    threshold = torch.quantile(held_nn, MEMORISATION_QUANTILE)
    return float((sample_nn < threshold).float().mean())


def save_digit_grid(samples: torch.Tensor, path: str | Path, columns: int = 8) -> Path:
    """Write the first `columns**2` samples (B, 1, 8, 8) in [-1, 1], snapped, as one PNG grid."""
    from diffrnn.plots import image_grid

    images = snap(samples[: columns * columns])[:, 0]  # (n, 8, 8)
    return image_grid(images.numpy(), Path(path), columns)
