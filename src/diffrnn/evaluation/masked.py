"""Traffic-forecasting errors with missing readings masked out (DCRNN's `masked_mae` etc.).

Loop detectors report 0 when they fail; those points are left out of every error, as in the
reference DCRNN evaluation. Shapes: targets and forecasts (W, T, N) = windows x steps x nodes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def masked_errors(
    target: ArrayLike, forecast: ArrayLike, null_value: float = 0.0
) -> dict[str, float]:
    """MAE, RMSE and MAPE (in %) over the points whose target is not `null_value`.

    Args:
        target: (...) observed values.
        forecast: (...) point forecasts, same shape.
        null_value: the value marking a missing reading.

    Returns:
        {"mae", "rmse", "mape"}; NaN when every point is missing.
    """
    y = np.asarray(target, dtype=np.float64)
    error = np.asarray(forecast, dtype=np.float64) - y
    mask = y != null_value
    if not mask.any():
        return {"mae": float("nan"), "rmse": float("nan"), "mape": float("nan")}
    e, y = error[mask], y[mask]
    return {
        "mae": float(np.abs(e).mean()),
        "rmse": float(np.sqrt((e**2).mean())),
        "mape": float(100.0 * np.abs(e / y).mean()),
    }


def errors_by_horizon(
    target: ArrayLike, forecast: ArrayLike, horizons: tuple[int, ...], null_value: float = 0.0
) -> dict[str, dict[str, float]]:
    """`masked_errors` at each horizon h (1-based step h of the forecast), keyed by str(h).

    Args:
        target, forecast: (W, T, N).
        horizons: steps ahead to report, each in 1..T.
    """
    y, f = np.asarray(target), np.asarray(forecast)
    return {str(h): masked_errors(y[:, h - 1], f[:, h - 1], null_value) for h in horizons}
