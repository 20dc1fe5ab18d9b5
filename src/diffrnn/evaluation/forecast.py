"""Forecast metrics: CRPS and CRPS-sum as GluonTS computes them, sample CRPS, MSE and MAE.

CRPS here is GluonTS's `mean_wQuantileLoss` (the number papers such as TimeGrad report as CRPS):
for each of 19 quantile levels q = 0.05, ..., 0.95 the quantile of the sample paths is the sorted
sample at index round((S - 1) q), its quantile loss is
    QL_q = 2 * sum_points |(y - y_hat_q) * (1{y <= y_hat_q} - q)|
summed over every window, time step and series, weighted by sum |y|, and the 19 weighted losses
are averaged. CRPS-sum is the same on the sum over series (GluonTS's `m_sum_mean_wQuantileLoss`).
`tests/evaluation/test_forecast.py` checks both against GluonTS 0.17's MultivariateEvaluator.

Shapes throughout: targets (W, T, N) = windows x horizon x series, samples (W, S, T, N).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

QUANTILE_LEVELS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))


def sample_quantiles(
    samples: ArrayLike, levels: tuple[float, ...] = QUANTILE_LEVELS, axis: int = 0
) -> NDArray[np.float64]:
    """GluonTS's sample quantile: sorted samples at index round((S - 1) q).

    Args:
        samples: sample paths with the sample axis at `axis`, e.g. (W, S, T, N) with axis=1.
        levels: quantile levels in (0, 1).
        axis: the sample axis.

    Returns:
        (len(levels), ...) the quantiles, the sample axis removed.
    """
    ordered = np.sort(np.asarray(samples, dtype=np.float64), axis=axis)
    num_samples = ordered.shape[axis]
    index = np.round((num_samples - 1) * np.asarray(levels)).astype(int)
    return np.moveaxis(np.take(ordered, index, axis=axis), axis, 0)


def weighted_quantile_loss(
    target: ArrayLike, samples: ArrayLike, levels: tuple[float, ...] = QUANTILE_LEVELS
) -> float:
    """Mean over levels of sum(QL_q) / sum|y|, the sum running over every point.

    Args:
        target: (W, T, N) observed values (any shape, matching samples without the sample axis).
        samples: (W, S, T, N) sample paths, the sample axis second.
        levels: quantile levels.

    Returns:
        GluonTS's mean_wQuantileLoss.
    """
    y = np.asarray(target, dtype=np.float64)
    quantiles = sample_quantiles(samples, levels, axis=1)  # (Q, W, T, N)
    q = np.asarray(levels).reshape(-1, *([1] * y.ndim))  # (Q, 1, 1, 1)
    losses = 2 * np.abs((y - quantiles) * ((y <= quantiles) - q)).sum(
        axis=tuple(range(1, y.ndim + 1))
    )
    return float(np.mean(losses / np.abs(y).sum()))


def crps(target: ArrayLike, samples: ArrayLike) -> float:
    """CRPS as GluonTS reports it (mean_wQuantileLoss over all series).

    Args:
        target: (W, T, N).
        samples: (W, S, T, N).
    """
    return weighted_quantile_loss(target, samples)


def crps_by_window(
    target: ArrayLike, samples: ArrayLike, scale: float | None = None
) -> NDArray[np.float64]:
    """Each window's CRPS: its quantile losses (averaged over the levels) over `scale`.

    With the default scale, the mean |y| mass of one window (sum |y| / W), the windows' mean is
    exactly `crps(target, samples)`; pass the scale of a larger set of windows to score a subset
    on the same footing (models scored on different origins stay comparable origin by origin).

    Args:
        target: (W, T, N).
        samples: (W, S, T, N).
        scale: the divisor (default: sum |target| / W).

    Returns:
        (W,) per-window CRPS.
    """
    y = np.asarray(target, dtype=np.float64)
    quantiles = sample_quantiles(samples, QUANTILE_LEVELS, axis=1)  # (Q, W, T, N)
    q = np.asarray(QUANTILE_LEVELS).reshape(-1, 1, 1, 1)
    losses = 2 * np.abs((y - quantiles) * ((y <= quantiles) - q)).sum(axis=(2, 3))  # (Q, W)
    scale = np.abs(y).sum() / len(y) if scale is None else scale
    return losses.mean(axis=0) / scale


def crps_sum(target: ArrayLike, samples: ArrayLike) -> float:
    """CRPS-sum: the weighted quantile loss of the sum over series (m_sum_mean_wQuantileLoss).

    Args:
        target: (W, T, N).
        samples: (W, S, T, N).
    """
    y = np.asarray(target, dtype=np.float64).sum(axis=-1, keepdims=True)  # (W, T, 1)
    s = np.asarray(samples, dtype=np.float64).sum(axis=-1, keepdims=True)  # (W, S, T, 1)
    return weighted_quantile_loss(y, s)


def crps_ensemble(target: ArrayLike, samples: ArrayLike, axis: int = 1) -> NDArray[np.float64]:
    """Pointwise sample CRPS E|X - y| - E|X - X'| / 2 (scoringrules' unbiased estimator).

    Args:
        target: observed values, e.g. (W, T, N).
        samples: the same shape with a sample axis at `axis`, e.g. (W, S, T, N).

    Returns:
        CRPS at every point, the shape of `target`.
    """
    import scoringrules as sr

    return np.asarray(
        sr.crps_ensemble(np.asarray(target, float), np.asarray(samples, float), m_axis=axis)
    )


def mse(target: ArrayLike, forecast: ArrayLike) -> float:
    """Mean squared error of a point forecast (for sample paths pass their mean over samples)."""
    return float(np.mean((np.asarray(target, float) - np.asarray(forecast, float)) ** 2))


def mae(target: ArrayLike, forecast: ArrayLike) -> float:
    """Mean absolute error of a point forecast (for sample paths pass their median)."""
    return float(np.mean(np.abs(np.asarray(target, float) - np.asarray(forecast, float))))


def sample_metrics(target: ArrayLike, samples: ArrayLike) -> dict[str, float]:
    """crps, crps_sum, mse (of the sample mean) and mae (of the sample median) in one call.

    Args:
        target: (W, T, N).
        samples: (W, S, T, N).
    """
    s = np.asarray(samples, dtype=np.float64)
    return {
        "crps": crps(target, s),
        "crps_sum": crps_sum(target, s),
        "mse": mse(target, s.mean(axis=1)),
        "mae": mae(target, np.median(s, axis=1)),
    }
