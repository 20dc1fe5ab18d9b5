"""Classical floors of denoise-digits: `gaussian-blur` and `wiener`, tuned per noise level.

Each filter's one parameter (the blur's standard deviation in pixels; the Wiener window) is
chosen on the validation digits for each noise level, then scored by PSNR on the test digits
with the same noisy inputs the learned denoisers see (`noisy_digits`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit

BLUR_SIGMAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0)
WIENER_WINDOWS = (2, 3, 4, 5)
# Both filters are given the noise level, as the learned denoisers are.

Filter = Callable[[np.ndarray, float, float], np.ndarray]
"""(noisy images (N, 1, 8, 8), the filter's parameter, the noise sigma) -> estimates."""


def gaussian_blur(images: np.ndarray, sigma: float, noise_sigma: float = 0.0) -> np.ndarray:
    """Blur each (8, 8) image of (N, 1, 8, 8) with a Gaussian of `sigma` pixels (reflect edges)."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(images, sigma=(0, 0, sigma, sigma), mode="reflect")


def wiener(images: np.ndarray, window: float, noise_sigma: float) -> np.ndarray:
    """scipy's adaptive Wiener filter on each image, `window` x `window` neighbourhoods, told the
    noise power (left to itself it takes the mean local variance, signal included)."""
    from scipy.signal import wiener as wiener_filter

    size = int(window)
    return np.stack(
        [wiener_filter(img[0], (size, size), noise=noise_sigma**2)[None] for img in images]
    )


def _run(ctx: UnitContext, apply: Filter, grid: tuple[float, ...], name: str) -> UnitOutput:
    import torch

    from diffrnn.evaluation.digit_samples import NOISE_FRACTIONS, noisy_digits
    from diffrnn.evaluation.psnr import psnr

    def score(param: float, clean: torch.Tensor, noisy: torch.Tensor, sigma: float) -> float:
        estimate = torch.as_tensor(apply(noisy.numpy().astype(np.float64), param, sigma))
        return psnr(estimate.clamp(-1, 1), clean, 2.0)

    by_sigma: dict[str, float] = {}
    chosen: dict[str, float] = {}
    start = time.perf_counter()
    images = 0
    for fraction in NOISE_FRACTIONS:
        sigma = 2.0 * fraction  # the data range is 2 in the [-1, 1] scale
        val_clean, val_noisy = noisy_digits("val", fraction, ctx.seed)
        best = max(grid, key=lambda p: score(p, val_clean, val_noisy, sigma))
        clean, noisy = noisy_digits("test", fraction, ctx.seed)
        by_sigma[str(fraction)] = score(best, clean, noisy, sigma)
        chosen[str(fraction)] = best
        images += len(clean)
    seconds = (time.perf_counter() - start) / images
    return UnitOutput(
        metrics={
            "psnr": sum(by_sigma.values()) / len(by_sigma),
            "psnr_by_sigma": by_sigma,
            f"{name}_by_sigma": chosen,
        },
        infer_seconds_per_sample=seconds,
        notes=[
            f"{name} chosen on the validation digits per noise level from {list(grid)}: "
            + ", ".join(f"sigma {k}: {v}" for k, v in chosen.items())
            + "; PSNR (dB, peak-to-peak 2) on the test digits."
        ],
    )


@register_unit("denoise-digits", "gaussian-blur", family="baseline")
def gaussian_blur_unit(ctx: UnitContext) -> UnitOutput:
    """Gaussian blur with its width tuned on validation digits per noise level."""
    return _run(ctx, gaussian_blur, BLUR_SIGMAS, "blur_sigma")


@register_unit("denoise-digits", "wiener", family="baseline")
def wiener_unit(ctx: UnitContext) -> UnitOutput:
    """scipy's adaptive Wiener filter with its window tuned on validation digits."""
    return _run(ctx, wiener, tuple(float(w) for w in WIENER_WINDOWS), "wiener_window")
