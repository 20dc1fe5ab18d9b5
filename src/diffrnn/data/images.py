"""Images: scikit-learn's 8x8 handwritten digits with a fixed stratified train/val/test split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

DIGITS_LEVELS = 16  # grey levels run 0..16
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_SIZE = 360  # 20% of 1,797
DIGITS_VAL_SIZE = 180  # 10%


@dataclass(frozen=True, eq=False)
class Digits:
    """The 1,797 8x8 digits: `images` (N, 8, 8) int64 in 0..16, `labels` (N,), split indices."""

    images: np.ndarray  # (N, 8, 8)
    labels: np.ndarray  # (N,)
    train: np.ndarray  # indices, (1257,)
    val: np.ndarray  # (180,)
    test: np.ndarray  # (360,)
    levels: int = DIGITS_LEVELS


def load_digits() -> Digits:
    """scikit-learn's digits (not vendored) with a stratified 1,257 / 180 / 360 split, seed 0."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = bunch.images.astype(np.int64)  # (N, 8, 8), float64 0..16 in sklearn
    labels = bunch.target.astype(np.int64)
    index = np.arange(len(labels))
    rest, test = train_test_split(
        index, test_size=DIGITS_TEST_SIZE, stratify=labels, random_state=DIGITS_SPLIT_SEED
    )
    train, val = train_test_split(
        rest, test_size=DIGITS_VAL_SIZE, stratify=labels[rest], random_state=DIGITS_SPLIT_SEED
    )
    return Digits(
        images=images, labels=labels, train=np.sort(train), val=np.sort(val), test=np.sort(test)
    )


def levels_to_unit(levels: torch.Tensor, max_level: int = DIGITS_LEVELS) -> torch.Tensor:
    """Integer levels 0..max_level -> float32 in [-1, 1] (level 0 -> -1, max_level -> 1)."""
    import torch

    return levels.to(torch.float32) * (2.0 / max_level) - 1.0


def unit_to_levels(x: torch.Tensor, max_level: int = DIGITS_LEVELS) -> torch.Tensor:
    """Float in [-1, 1] -> the nearest integer level in 0..max_level (int64)."""
    import torch

    return torch.round((x.clamp(-1.0, 1.0) + 1.0) * (max_level / 2.0)).to(torch.int64)
