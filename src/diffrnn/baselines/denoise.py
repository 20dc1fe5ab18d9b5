"""Classical floors of the noise-reduction tasks: five filters a learned denoiser has to beat.

Images (N, 1, 8, 8): `gaussian_blur` (width in pixels) and `wiener` (scipy's adaptive filter,
window size). Windows (N, T, D): `moving_average` (width in steps), `gaussian_smoothing` (sd in
steps) and `savitzky_golay` (window, polynomial order), all along time, channel by channel.

Every filter has one signature (`Filter`): the noisy data, its parameter and the noise sigma
(only the Wiener filter uses it). The bench tunes each filter's parameter per noise level
(`diffrnn.bench.units.denoise_baselines`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

TIME_AXIS = 1
"""Windows are (N, T, D): the time filters run along T."""

Filter = Callable[[np.ndarray, Any, float], np.ndarray]
"""(noisy data (N, ...), the filter's parameter, the noise sigma) -> estimates."""


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


def moving_average(windows: np.ndarray, width: int, noise_sigma: float = 0.0) -> np.ndarray:
    """Centred mean over `width` steps of (N, T, D) windows (edges reflected)."""
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(windows, int(width), axis=TIME_AXIS, mode="reflect")


def gaussian_smoothing(windows: np.ndarray, sigma: float, noise_sigma: float = 0.0) -> np.ndarray:
    """Gaussian kernel of `sigma` steps along time of (N, T, D) windows (edges reflected)."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(windows, sigma, axis=TIME_AXIS, mode="reflect")


def savitzky_golay(
    windows: np.ndarray, window_order: tuple[int, int], noise_sigma: float = 0.0
) -> np.ndarray:
    """Savitzky-Golay: a local polynomial of order `order` fitted over `window` steps along
    time of (N, T, D) windows (scipy's `interp` edges: the fit of the first / last window)."""
    from scipy.signal import savgol_filter

    window, order = window_order
    return savgol_filter(windows, window, order, axis=TIME_AXIS, mode="interp")
