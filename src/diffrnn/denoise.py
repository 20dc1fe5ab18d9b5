"""Noise reduction on your own series, without clean examples: the bi-GRU denoiser trained the
Noisier2Noise way (Moran et al., CVPR 2020).

Only noisy observations y = x + n (n white, standard deviation sigma) are given, so the
supervised denoiser of `diffrnn.rnn.denoiser` cannot be trained on (clean, noisy) pairs. It is
trained instead to recover y from z = y + m, with m a second draw of the same noise (its own
loss adds it). For Gaussian noise E[y | z] = (x + E[x | z]) / 2 in expectation, so

    E[x | z] = 2 E[y | z] - z                    (Moran et al. 2020, eq. 5 with alpha = 1)

and the clean estimate is that, averaged over `draws` fresh m. The noise level is the user's
(`sigma`, in the data's units) or estimated per series from its first differences: for a
signal that changes little from one step to the next, y_t - y_{t-1} is about n_t - n_{t-1},
whose standard deviation is sqrt(2) sigma; the median absolute deviation over 0.6745 estimates
a standard deviation robustly, so

    sigma_hat = MAD(diff(y)) / (sqrt(2) * 0.6745),

which over-estimates sigma when the signal itself moves by as much as the noise per step.

    result = denoise_series(load_user_data("sensor.csv"), sigma="auto", budget=30)
    result.values          # (N, T) estimates, NaN outside each series' span
    result.sigmas          # (N,) the noise level used per series, in the data's units
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from diffrnn.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from diffrnn.data.user import UserSeries

log = logging.getLogger(__name__)

MAD_TO_SD = 0.6745
"""Median absolute deviation of a standard normal: MAD / 0.6745 estimates its sd."""
WINDOW = 64
"""Steps per training window (shorter series: their length)."""
MIN_LENGTH = 16
"""Fewest observed steps a series needs to be denoised."""
DEFAULT_DRAWS = 32
"""Fresh noise draws m the Noisier2Noise estimate is averaged over."""


def noise_sd_from_differences(values: np.ndarray) -> float:
    """sigma of white noise on a slowly moving series: MAD(diff) / (sqrt(2) * 0.6745).

    Args:
        values: (T,) finite observations.

    Returns:
        the estimate, in the values' units (0 for a series whose steps are mostly exactly 0).
    """
    steps = np.diff(np.asarray(values, dtype=np.float64))
    mad = np.median(np.abs(steps - np.median(steps)))
    return float(mad / (math.sqrt(2.0) * MAD_TO_SD))


@dataclass(frozen=True)
class Denoised:
    """What `denoise_series` returns.

    Attributes:
        values: (N, T) clean estimates in the data's units, NaN outside each series' span (a
            series without noise, sigma 0, is copied unchanged).
        sigmas: (N,) the noise standard deviation removed from each series.
        estimated: whether `sigmas` were estimated from the data.
        steps, cpu_seconds, wall_seconds, stopped_by: of the training.
    """

    values: np.ndarray
    sigmas: np.ndarray
    estimated: bool
    steps: int
    cpu_seconds: float
    wall_seconds: float
    stopped_by: str


def _scaled(data: UserSeries, sigmas: np.ndarray) -> tuple[list[np.ndarray], float]:
    """Each noisy series centred and divided by sigma_i g, where g = the median over series of
    std_i / sigma_i: the noise is then 1 / g in every series and the signals about unit size."""
    series = [data.values[i, s:e] for i, (s, e) in enumerate(data.spans)]
    ratios = [np.std(y) / s for y, s in zip(series, sigmas, strict=True) if s > 0]
    gain = max(1.0, float(np.median(ratios))) if ratios else 1.0
    return [
        (y - np.median(y)) / (s * gain) if s > 0 else np.zeros_like(y)
        for y, s in zip(series, sigmas, strict=True)
    ], gain


def _windows(series: list[np.ndarray], length: int) -> np.ndarray:
    """Every window of `length` steps of every series: (M, length, 1)."""
    from diffrnn.data.windows import forecast_windows

    parts = [forecast_windows(u[:, None], length, 0)[0] for u in series if len(u) >= length]
    return np.concatenate(parts).astype(np.float32)


def denoise_series(
    data: UserSeries,
    sigma: float | Literal["auto"] = "auto",
    budget: float = 30.0,
    max_steps: int | None = None,
    seed: int = 0,
    draws: int = DEFAULT_DRAWS,
    progress: Callable[[str, float | None], None] | None = None,
) -> Denoised:
    """Train one bi-GRU denoiser on the user's noisy series (Noisier2Noise) and denoise them.

    Args:
        data: the loaded series (`diffrnn.data.user.load_user_data`).
        sigma: noise standard deviation in the data's units (the same for every series), or
            "auto": estimated per series from its first differences.
        budget: CPU seconds of training.
        max_steps: optimiser steps instead of the budget (repeatable).
        seed: seeds the weights, the data order and the noise draws.
        draws: noise draws the estimate is averaged over.
        progress: called with a description and the budget as training starts.

    Returns:
        `Denoised` with (N, T) estimates and the (N,) noise levels.

    Raises:
        ConfigError: sigma is neither "auto" nor a positive number.
        DataError: a series is shorter than `MIN_LENGTH`, or no series has any noise.
    """
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.bench.unit_training import seeded_loader
    from diffrnn.bench.units.denoising import bigru_recipes
    from diffrnn.rnn.denoiser import RNNDenoiser
    from diffrnn.training import fit
    from diffrnn.training.overrides import TrainOverrides

    estimated = sigma == "auto"
    if not estimated and not (
        isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0
    ):
        raise ConfigError(f"sigma must be 'auto' or a positive number, got {sigma!r}.", "")
    short = [i for i, n in enumerate(data.lengths) if n < MIN_LENGTH]
    if short:
        i = short[0]
        raise DataError(
            f"series {data.series_ids[i]!r} has {data.lengths[i]} values; denoising needs at "
            f"least {MIN_LENGTH}.",
            "drop or extend the short series.",
        )
    if estimated:
        sigmas = np.array(
            [noise_sd_from_differences(data.values[i, s:e]) for i, (s, e) in enumerate(data.spans)]
        )
    else:
        sigmas = np.full(len(data.series_ids), float(sigma))
    if not (sigmas > 0).any():
        raise DataError(
            "no noise found: every series' steps are mostly exactly zero.",
            "pass the noise level with --sigma S if there is noise to remove.",
        )
    series, gain = _scaled(data, sigmas)
    length = min(WINDOW, int(data.lengths[sigmas > 0].min()))
    windows = _windows([u for u, s in zip(series, sigmas, strict=True) if s > 0], length)
    recipe = bigru_recipes(features=1, noise_sd=1.0 / gain)["quick"]
    torch.manual_seed(seed)
    model = RNNDenoiser(recipe.model)
    config = dataclasses.replace(recipe.train, budget_s=budget, seed=seed)
    if max_steps is not None:
        config = TrainOverrides(max_steps=max_steps).apply(config)
    loader = seeded_loader(TensorDataset(torch.from_numpy(windows)), recipe.batch_size, seed)
    if progress is not None:
        progress(f"training the bi-GRU denoiser on {len(windows)} windows", budget)
    result = fit(model, loader, None, config)
    out = np.full_like(data.values, np.nan)
    generator = torch.Generator().manual_seed(seed)
    for i, (u, s) in enumerate(zip(series, sigmas, strict=True)):
        start, end = data.spans[i]
        if s == 0:
            out[i, start:end] = data.values[i, start:end]
            continue
        z = torch.as_tensor(u, dtype=torch.float32)[None, :, None].repeat(draws, 1, 1)
        z = z + torch.randn(z.shape, generator=generator) / gain  # (K, T, 1): y + m
        clean = (2.0 * result.model.denoise(z) - z).mean(dim=0)[:, 0].double().numpy()  # (T,)
        y = data.values[i, start:end]
        out[i, start:end] = clean * s * gain + np.median(y)
    log.info("denoised %d series, %d steps of training", len(series), result.steps)
    return Denoised(
        values=out,
        sigmas=sigmas,
        estimated=estimated,
        steps=result.steps,
        cpu_seconds=result.cpu_seconds,
        wall_seconds=result.train_seconds,
        stopped_by=result.stopped_by,
    )


def as_frame(data: UserSeries, values: np.ndarray) -> pd.DataFrame:
    """(N, T) values on the data's grid as a frame in the data's own format: wide (`ds` + a
    column per series) or long (`unique_id, ds, y`, rows inside each span only)."""
    import pandas as pd

    stamps = pd.DatetimeIndex(data.timestamps)
    if data.format == "wide":
        frame = pd.DataFrame(values.T, columns=list(data.series_ids))
        frame.insert(0, "ds", stamps)
        return frame
    parts = [
        pd.DataFrame({"unique_id": sid, "ds": stamps[s:e], "y": values[i, s:e]})
        for i, (sid, (s, e)) in enumerate(zip(data.series_ids, data.spans, strict=True))
    ]
    return pd.concat(parts, ignore_index=True)
