"""Units of `generate-user` and `denoise-user`: the user's series as windows (`--uses`).

Each unit rebuilds the user's windows from `ctx.options` (see `diffrnn.bench.user_series`) and
hands them to the code generate-etth1 and denoise-etth1 run (`units.generation`,
`units.denoising`, `units.denoise_baselines`), so a model is trained and scored on the user's
windows exactly as on ETTh1's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diffrnn.baselines.denoise import gaussian_smoothing, moving_average, savitzky_golay
from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.units.denoise_baselines import (
    MOVING_AVERAGE_WIDTHS,
    SAVGOL_WINDOWS,
    SMOOTHING_SIGMAS,
    tuned_filter_unit,
)
from diffrnn.bench.units.denoising import bigru_denoiser_unit, window_ddpm_denoiser_unit
from diffrnn.bench.units.generation import SCORING, generator_unit, reference_unit
from diffrnn.bench.user_series import WINDOW, user_windows

if TYPE_CHECKING:
    import numpy as np

GENERATE, DENOISE = "generate-user", "denoise-user"


def _real(ctx: UnitContext) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(held-out windows drawn for this seed, training windows, notes): the score's real set is
    the suite's count of windows after the training rows, the seed drawing which."""
    import numpy as np

    windows = user_windows(ctx.options)
    count = min(SCORING[ctx.recipe].num_windows, len(windows.held_out))
    order = np.random.default_rng(ctx.seed).permutation(len(windows.held_out))
    notes = [
        f"scored against {count} of the {len(windows.held_out)} held-out windows (after the "
        f"{len(windows.train)} training windows)"
    ]
    if windows.train.shape[-1] < 2:
        notes.append("no predictive score: it predicts one series from the others (one series)")
    return windows.held_out[order[:count]], windows.train, notes


def _generator(ctx: UnitContext, family: str) -> UnitOutput:
    real, train, notes = _real(ctx)
    output = generator_unit(ctx, family, train, real)
    output.notes.extend(notes)
    return output


def _reference(ctx: UnitContext, kind: str) -> UnitOutput:
    real, train, notes = _real(ctx)
    output = reference_unit(ctx, kind, real, train)
    output.notes.extend(notes)
    return output


@register_unit(GENERATE, "diffusion-generator", family="diffusion")
def diffusion_generator_user(ctx: UnitContext) -> UnitOutput:
    """generate-etth1's 1-D conv Gaussian diffusion on your windows, DPM-Solver++."""
    return _generator(ctx, "diffusion")


@register_unit(GENERATE, "gru", family="rnn")
def gru_generator_user(ctx: UnitContext) -> UnitOutput:
    """generate-etth1's autoregressive GRU (a diagonal Gaussian per step) on your windows."""
    return _generator(ctx, "rnn")


@register_unit(GENERATE, "real-data", family="reference")
def real_data_user(ctx: UnitContext) -> UnitOutput:
    """Training windows as samples: the score of a generator that reproduces the training rows."""
    return _reference(ctx, "real-data")


@register_unit(GENERATE, "shuffled-real", family="reference")
def shuffled_real_user(ctx: UnitContext) -> UnitOutput:
    """Training windows with their steps shuffled: right marginals, no dynamics."""
    return _reference(ctx, "shuffled-real")


@register_unit(DENOISE, "ddpm", family="diffusion")
def ddpm_denoise_user(ctx: UnitContext) -> UnitOutput:
    """The window diffusion prior on your windows; reverse process from the noise level."""
    return window_ddpm_denoiser_unit(ctx, user_windows(ctx.options).noisy_data())


@register_unit(DENOISE, "bigru", family="rnn")
def bigru_denoise_user(ctx: UnitContext) -> UnitOutput:
    """Supervised residual bi-GRU over the window's steps, one model per noise level."""
    windows = user_windows(ctx.options)
    shape = f"{WINDOW} steps of {len(windows.series_ids)} series"
    return bigru_denoiser_unit(ctx, windows.noisy_data(), shape)


@register_unit(DENOISE, "moving-average", family="baseline")
def moving_average_user(ctx: UnitContext) -> UnitOutput:
    """Centred moving average along time, width tuned on your validation windows."""
    data = user_windows(ctx.options).noisy_data()
    return tuned_filter_unit(ctx, data, moving_average, MOVING_AVERAGE_WIDTHS, "width")


@register_unit(DENOISE, "gaussian-smoothing", family="baseline")
def gaussian_smoothing_user(ctx: UnitContext) -> UnitOutput:
    """Gaussian smoothing along time, sd tuned on your validation windows."""
    data = user_windows(ctx.options).noisy_data()
    return tuned_filter_unit(ctx, data, gaussian_smoothing, SMOOTHING_SIGMAS, "smoothing_sigma")


@register_unit(DENOISE, "savitzky-golay", family="baseline")
def savitzky_golay_user(ctx: UnitContext) -> UnitOutput:
    """Savitzky-Golay along time, window and order tuned on your validation windows."""
    data = user_windows(ctx.options).noisy_data()
    return tuned_filter_unit(ctx, data, savitzky_golay, SAVGOL_WINDOWS, "savgol_window_order")
