"""The noisy inputs of the noise-reduction tasks (denoise-digits, denoise-etth1).

Every denoiser of a seed sees the same noisy data: Gaussian noise of standard deviation
`fraction * data_range` per element, drawn from a generator seeded by (seed, noise level, split).
Scores are PSNR (`diffrnn.evaluation.psnr`) against the clean data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import torch

NoisyDataName = Literal["digits", "etth1"]

NOISE_FRACTIONS = (0.1, 0.3, 0.5)
"""Noise standard deviations as fractions of the data range (issue 4, use 4)."""
SPLITS = ("val", "test")
"""Splits with fixed noisy inputs (training pairs draw fresh noise every batch)."""
ETTH1_TEST_STRIDE = 24
"""denoise-etth1 windows of the val and test splits start every 24 rows: no two overlap."""


def add_noise(
    clean: torch.Tensor, fraction: float, data_range: float, split: str, seed: int
) -> torch.Tensor:
    """`clean` (B, ...) plus N(0, (fraction * data_range)^2) noise, fixed by (seed, fraction,
    split) for `fraction` in `NOISE_FRACTIONS` and `split` in `SPLITS`: (B, ...)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    salt = NOISE_FRACTIONS.index(fraction) + (10 if split == "test" else 0)
    generator = torch.Generator().manual_seed(1000 * seed + salt)
    return clean + fraction * data_range * torch.randn(clean.shape, generator=generator)


def noisy_etth1(split: str, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, noisy) ETTh1 windows of the "val" or "test" split, (N, 24, 7) each.

    Windows start every `ETTH1_TEST_STRIDE` rows of the split and are min-max scaled with the
    training rows' statistics (`etth1_windows`), so the data range is 1.
    """
    from diffrnn.data.timeseries import etth1_windows

    clean = torch.from_numpy(etth1_windows(split, ETTH1_TEST_STRIDE))  # (N, 24, 7)
    return clean, add_noise(clean, fraction, 1.0, split, seed)


def noisy_digits(split: str, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, noisy) digits of the "val" or "test" split, (N, 1, 8, 8) in the [-1, 1] scale.

    The noise is N(0, (2 * fraction)^2) per pixel (`add_noise`: the data range is 2), fixed by
    (seed, fraction, split), so every denoiser of a seed sees the same noisy images.
    """
    from diffrnn.data.images import levels_to_unit, load_digits

    digits = load_digits()
    index = {"val": digits.val, "test": digits.test}[split]
    clean = levels_to_unit(torch.as_tensor(digits.images[index]))[:, None]
    return clean, add_noise(clean, fraction, 2.0, split, seed)


def _digits_train() -> torch.Tensor:
    from diffrnn.data.images import levels_to_unit, load_digits

    digits = load_digits()
    return levels_to_unit(torch.as_tensor(digits.images[digits.train]))[:, None]


def _etth1_train() -> torch.Tensor:
    from diffrnn.data.timeseries import etth1_windows

    return torch.from_numpy(etth1_windows("train"))


@dataclass(frozen=True)
class NoisyData:
    """One noise-reduction task's data, as every denoiser of it sees them.

    Attributes:
        data_range: peak-to-peak range of the clean data: the unit of the noise sd and PSNR's peak.
        low: estimates are clamped to [low, low + data_range].
        noisy: (split, fraction, seed) -> (clean, noisy) of "val" or "test", (N, ...) each.
        train: () -> the clean training examples (N, ...).
    """

    data_range: float
    low: float
    noisy: Callable[[str, float, int], tuple[torch.Tensor, torch.Tensor]]
    train: Callable[[], torch.Tensor]

    def clamp(self, estimate: torch.Tensor) -> torch.Tensor:
        """`estimate` clamped to the clean data's range."""
        return estimate.clamp(self.low, self.low + self.data_range)


def noisy_data(name: NoisyDataName) -> NoisyData:
    """denoise-digits ("digits": (N, 1, 8, 8) in [-1, 1]) or denoise-etth1 ("etth1": (N, 24, 7)
    in [0, 1])."""
    if name not in get_args(NoisyDataName):
        raise ValueError(f"name must be one of {get_args(NoisyDataName)}, got {name!r}")
    if name == "digits":
        return NoisyData(2.0, -1.0, noisy_digits, _digits_train)
    return NoisyData(1.0, 0.0, noisy_etth1, _etth1_train)
