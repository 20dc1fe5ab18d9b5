"""Classical floors of the noise-reduction tasks, each with its parameter tuned per noise level.

denoise-digits: `gaussian-blur` and `wiener`; denoise-etth1: `moving-average`,
`gaussian-smoothing` and `savitzky-golay` (the filters: `diffrnn.baselines.denoise`).

Each filter's parameter is chosen on the validation split for each noise level, then scored by
PSNR on the test split with the same noisy inputs the learned denoisers see
(`diffrnn.data.noisy_inputs`). Every filter is given the noise level, as the learned
denoisers are (trained or started for it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from diffrnn.baselines.denoise import (
    Filter,
    gaussian_blur,
    gaussian_smoothing,
    moving_average,
    savitzky_golay,
    wiener,
)
from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit

if TYPE_CHECKING:
    from diffrnn.data.noisy_inputs import NoisyData

BLUR_SIGMAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0)
WIENER_WINDOWS = (2, 3, 4, 5)
MOVING_AVERAGE_WIDTHS = (1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 17, 24)  # 1: none; 24: the window
SMOOTHING_SIGMAS = (0.3, 0.5, 0.7, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 6.5, 8.0, 12.0)
SAVGOL_WINDOWS = tuple(
    (window, order) for order in (1, 2, 3) for window in (5, 7, 9, 11, 13, 17, 23)
)


def tuned_filter_unit(
    ctx: UnitContext, data: NoisyData, apply: Filter, grid: tuple, name: str
) -> UnitOutput:
    """`apply` with its parameter chosen from `grid` on `data`'s validation split per noise
    level, scored by PSNR on its test split; `name` keys the chosen parameters in the metrics."""
    import torch

    from diffrnn.data.noisy_inputs import NOISE_FRACTIONS
    from diffrnn.evaluation.psnr import psnr
    from diffrnn.evaluation.timing import timed_call

    def denoised(param: Any, noisy: torch.Tensor, sigma: float) -> torch.Tensor:
        return torch.as_tensor(apply(noisy.numpy().astype(np.float64), param, sigma))

    def score(param: Any, clean: torch.Tensor, noisy: torch.Tensor, sigma: float) -> float:
        return psnr(data.clamp(denoised(param, noisy, sigma)), clean, data.data_range)

    by_sigma: dict[str, float] = {}
    chosen: dict[str, Any] = {}
    tune_wall = tune_cpu = seconds = 0.0
    examples = 0
    for fraction in NOISE_FRACTIONS:
        sigma = data.data_range * fraction
        val_clean, val_noisy = data.noisy("val", fraction, ctx.seed)
        wall, cpu = time.perf_counter(), time.process_time()
        best = max(grid, key=lambda p: score(p, val_clean, val_noisy, sigma))
        tune_wall += time.perf_counter() - wall
        tune_cpu += time.process_time() - cpu
        clean, noisy = data.noisy("test", fraction, ctx.seed)
        estimate, filter_s = timed_call(
            lambda best=best, noisy=noisy, sigma=sigma: denoised(best, noisy, sigma)
        )
        by_sigma[str(fraction)] = psnr(data.clamp(estimate), clean, data.data_range)
        chosen[str(fraction)] = best
        seconds += filter_s
        examples += len(clean)
    return UnitOutput(
        metrics={
            "psnr": sum(by_sigma.values()) / len(by_sigma),
            "psnr_by_sigma": by_sigma,
            f"{name}_by_sigma": chosen,
        },
        train_seconds=tune_wall,
        train_cpu_seconds=tune_cpu,
        infer_seconds_per_sample=seconds / examples,
        notes=[
            f"{name} chosen on the validation split per noise level from {list(grid)}: "
            + ", ".join(f"sigma {k}: {v}" for k, v in chosen.items())
            + f"; PSNR (dB, peak-to-peak {data.data_range:g}) on the test split; the tuning "
            "is the train seconds, the chosen filter alone the seconds per example."
        ],
    )


@register_unit("denoise-digits", "gaussian-blur", family="baseline")
def gaussian_blur_unit(ctx: UnitContext) -> UnitOutput:
    """Gaussian blur with its width tuned on validation digits per noise level."""
    from diffrnn.data.noisy_inputs import noisy_data

    return tuned_filter_unit(ctx, noisy_data("digits"), gaussian_blur, BLUR_SIGMAS, "blur_sigma")


@register_unit("denoise-digits", "wiener", family="baseline")
def wiener_unit(ctx: UnitContext) -> UnitOutput:
    """scipy's adaptive Wiener filter with its window tuned on validation digits."""
    from diffrnn.data.noisy_inputs import noisy_data

    return tuned_filter_unit(
        ctx, noisy_data("digits"), wiener, tuple(float(w) for w in WIENER_WINDOWS), "wiener_window"
    )


@register_unit("denoise-etth1", "moving-average", family="baseline")
def moving_average_unit(ctx: UnitContext) -> UnitOutput:
    """Centred moving average along time, width tuned on validation windows per noise level."""
    from diffrnn.data.noisy_inputs import noisy_data

    return tuned_filter_unit(
        ctx, noisy_data("etth1"), moving_average, MOVING_AVERAGE_WIDTHS, "width"
    )


@register_unit("denoise-etth1", "gaussian-smoothing", family="baseline")
def gaussian_smoothing_unit(ctx: UnitContext) -> UnitOutput:
    """Gaussian smoothing along time, sd tuned on validation windows per noise level."""
    from diffrnn.data.noisy_inputs import noisy_data

    return tuned_filter_unit(
        ctx, noisy_data("etth1"), gaussian_smoothing, SMOOTHING_SIGMAS, "smoothing_sigma"
    )


@register_unit("denoise-etth1", "savitzky-golay", family="baseline")
def savitzky_golay_unit(ctx: UnitContext) -> UnitOutput:
    """Savitzky-Golay filter along time, window and order tuned on validation windows."""
    from diffrnn.data.noisy_inputs import noisy_data

    return tuned_filter_unit(
        ctx, noisy_data("etth1"), savitzky_golay, SAVGOL_WINDOWS, "savgol_window_order"
    )
