"""Peak signal-to-noise ratio, the noise-reduction metric."""

from __future__ import annotations

import math

import torch


def psnr(estimate: torch.Tensor, clean: torch.Tensor, data_range: float) -> float:
    """10 log10(data_range^2 / MSE) in dB, the MSE over every element of (B, ...) tensors.

    `data_range` is the peak-to-peak range of the clean signal (2 for images in [-1, 1]).
    """
    mse = float(((estimate.to(torch.float64) - clean.to(torch.float64)) ** 2).mean())
    return 10.0 * math.log10(data_range**2 / mse)
