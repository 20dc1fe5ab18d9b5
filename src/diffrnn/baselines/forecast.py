"""Forecasting floors a learned model must beat: last value, seasonal naive, random walk, linear AR.

All take the conditioning windows `past (W, C, N)` and return point forecasts (W, H, N) or sample
paths (W, S, H, N), so they are scored by `diffrnn.evaluation.forecast` exactly like the models.
Parameters are fitted on the training rows only (`train (T, N)`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffrnn.data.windows import forecast_windows
from diffrnn.errors import DataError


def last_value(past: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last observed value: past (W, C, N) -> (W, H, N)."""
    return np.repeat(past[:, -1:], horizon, axis=1)


def seasonal_naive(past: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last observed season: y_hat[t] = past[C - season + t mod season].

    Args:
        past: (W, C, N) with C >= season.
        horizon: steps H.
        season: period in steps (5 for business days' weeks, 24 for hourly data's days).

    Returns:
        (W, H, N).
    """
    if past.shape[1] < season:
        raise DataError(f"seasonal naive needs {season} past steps, got {past.shape[1]}.", "")
    last_season = past[:, -season:]  # (W, season, N)
    return last_season[:, np.arange(horizon) % season]


@dataclass(frozen=True)
class RandomWalk:
    """Gaussian random walk y_t = y_{t-1} + drift + sigma * eps, one per series (independent).

    Attributes:
        drift: (N,) mean step (zeros when fitted without drift).
        sigma: (N,) standard deviation of the steps.
    """

    drift: np.ndarray
    sigma: np.ndarray

    @classmethod
    def fit(cls, train: np.ndarray, with_drift: bool = False) -> RandomWalk:
        """Fit on training differences: sigma = std of y_t - y_{t-1} per series. train (T, N)."""
        steps = np.diff(train, axis=0)  # (T - 1, N)
        drift = steps.mean(axis=0) if with_drift else np.zeros(train.shape[1])
        return cls(drift=drift, sigma=steps.std(axis=0, ddof=1))

    def sample(
        self, past: np.ndarray, horizon: int, num_samples: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Sample paths from the last observed value: past (W, C, N) -> (W, S, H, N)."""
        num_windows, _, num_series = past.shape
        eps = rng.standard_normal((num_windows, num_samples, horizon, num_series))
        steps = self.drift + self.sigma * eps  # (W, S, H, N)
        return past[:, None, -1:] + np.cumsum(steps, axis=2)


@dataclass(frozen=True)
class LinearAR:
    """Linear autoregression fitted by least squares, shared across series or one per series.

    With `horizon_out` = 1 it is the classic AR(p), forecast by iterating one step at a time;
    with `horizon_out` = H > 1 it maps the last p values straight to the next H (the direct
    multi-horizon linear model of the long-horizon benchmarks).

    Attributes:
        coef: (G, p + 1, horizon_out): G = 1 (shared) or N groups; row p is the intercept.
        sigma: (G, horizon_out) residual standard deviation on the training windows.
    """

    coef: np.ndarray
    sigma: np.ndarray

    @property
    def order(self) -> int:
        return self.coef.shape[1] - 1

    @property
    def horizon_out(self) -> int:
        return self.coef.shape[2]

    @classmethod
    def fit(
        cls,
        train: np.ndarray,
        order: int,
        horizon_out: int = 1,
        shared: bool = True,
        ridge: float = 1e-6,
    ) -> LinearAR:
        """Least squares (with a small ridge for conditioning) on all training windows.

        Args:
            train: (T, N) training rows.
            order: p, the number of past values read.
            horizon_out: steps predicted at once (1 = iterated AR).
            shared: one set of coefficients for all series (pooled) instead of one per series.
            ridge: L2 penalty times the number of windows, on the lag weights only.
        """
        past, future = forecast_windows(train, order, horizon_out)  # (W, p, N), (W, Ho, N)
        design = np.concatenate([past, np.ones_like(past[:, :1])], axis=1)  # (W, p + 1, N)
        design = np.moveaxis(design, -1, 0)  # (N, W, p + 1)
        targets = np.moveaxis(future, -1, 0)  # (N, W, Ho)
        if shared:
            design = design.reshape(1, -1, order + 1)
            targets = targets.reshape(1, -1, horizon_out)
        penalty = ridge * design.shape[1] * np.diag(np.r_[np.ones(order), 0.0])
        coef, sigma = [], []
        for x, y in zip(design, targets, strict=True):  # 2-D products go straight to BLAS
            x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)  # (W, p + 1), (W, Ho)
            c = np.linalg.solve(x.T @ x + penalty, x.T @ y)  # (p + 1, Ho)
            coef.append(c)
            sigma.append((y - x @ c).std(axis=0))
        return cls(coef=np.stack(coef), sigma=np.stack(sigma))

    def _step(self, window: np.ndarray) -> np.ndarray:
        """window (..., p, N) -> the next horizon_out values (..., Ho, N)."""
        design = np.concatenate([window, np.ones_like(window[..., :1, :])], axis=-2)
        coef = self.coef if self.coef.shape[0] > 1 else self.coef[[0] * window.shape[-1]]
        return np.einsum("...pn,npo->...on", design, coef)  # coef (N, p + 1, Ho)

    def _check(self, past: np.ndarray, horizon: int) -> None:
        if past.shape[1] < self.order:
            raise DataError(f"AR({self.order}) needs {self.order} past steps.", "")
        if self.horizon_out > 1 and horizon != self.horizon_out:
            raise ValueError(f"this direct model forecasts {self.horizon_out} steps, not {horizon}")

    def predict(self, past: np.ndarray, horizon: int) -> np.ndarray:
        """Point forecast: past (W, C, N) -> (W, H, N)."""
        self._check(past, horizon)
        if self.horizon_out > 1:
            return self._step(past[:, -self.order :])
        window = past[:, -self.order :]
        for _ in range(horizon):
            window = np.concatenate([window, self._step(window[:, -self.order :])], axis=1)
        return window[:, self.order :]

    def sample(
        self, past: np.ndarray, horizon: int, num_samples: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Sample paths with Gaussian residual noise: past (W, C, N) -> (W, S, H, N).

        The iterated model feeds its noisy draws back in; the direct model adds independent
        noise with each step's residual standard deviation to the point forecast.
        """
        self._check(past, horizon)
        num_windows, _, num_series = past.shape
        sigma = np.broadcast_to(self.sigma.T, (self.horizon_out, num_series))  # (Ho, N)
        eps = rng.standard_normal((num_windows, num_samples, horizon, num_series))
        if self.horizon_out > 1:
            return self.predict(past, horizon)[:, None] + sigma * eps
        window = np.repeat(past[:, None, -self.order :], num_samples, axis=1)  # (W, S, p, N)
        for t in range(horizon):
            nxt = self._step(window[:, :, -self.order :]) + sigma * eps[:, :, t : t + 1]
            window = np.concatenate([window, nxt], axis=2)
        return window[:, :, self.order :]
