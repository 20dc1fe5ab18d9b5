"""Forecasting floors: designed inputs with known forecasts, and recovery of known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from diffrnn.baselines.forecast import LinearAR, RandomWalk, last_value, seasonal_naive


def test_last_value_and_seasonal_naive_on_a_ramp() -> None:
    past = np.arange(12.0).reshape(1, 12, 1) * np.array([1.0, -1.0])  # (W, C, N) = (1, 12, 2)
    np.testing.assert_array_equal(last_value(past, 3)[0, :, 0], [11, 11, 11])
    np.testing.assert_array_equal(
        seasonal_naive(past, 7, season=5)[0, :, 1], -np.array([7, 8, 9, 10, 11, 7, 8])
    )


def test_random_walk_recovers_sigma_and_its_paths_spread_as_sqrt_t() -> None:
    rng = np.random.default_rng(0)
    sigma = np.array([0.5, 2.0])
    train = np.cumsum(rng.normal(0, sigma, size=(20000, 2)), axis=0)
    walk = RandomWalk.fit(train)
    np.testing.assert_allclose(walk.sigma, sigma, rtol=0.02)
    np.testing.assert_array_equal(walk.drift, 0.0)
    past = np.full((3, 5, 2), 7.0)
    paths = walk.sample(past, horizon=16, num_samples=4000, rng=rng)  # (W, S, H, N)
    assert paths.shape == (3, 4000, 16, 2)
    np.testing.assert_allclose(paths.mean(axis=(0, 1))[-1], 7.0, atol=0.2)
    np.testing.assert_allclose(
        paths.std(axis=1).mean(0)[[3, 15]], np.outer([2, 4], walk.sigma), rtol=0.05
    )
    assert RandomWalk.fit(np.arange(10.0)[:, None], with_drift=True).drift == pytest.approx(1.0)


def test_linear_ar_recovers_an_ar2_and_iterates_its_forecast() -> None:
    rng = np.random.default_rng(1)
    phi, c = np.array([0.6, -0.3]), 0.5
    y = np.zeros(30000)
    for t in range(2, len(y)):
        y[t] = c + phi[0] * y[t - 1] + phi[1] * y[t - 2] + rng.normal(0, 0.1)
    model = LinearAR.fit(y[:, None], order=2)
    # coef rows are lags in time order: y_{t-2}, y_{t-1}, then the intercept
    np.testing.assert_allclose(model.coef[0, :, 0], [phi[1], phi[0], c], atol=0.02)
    np.testing.assert_allclose(model.sigma, 0.1, rtol=0.03)
    past = np.array([[[1.0], [2.0]]])  # y_{t-2} = 1, y_{t-1} = 2
    forecast = model.predict(past, 2)[0, :, 0]
    a, b, c_hat = model.coef[0, :, 0]
    first = a * 1 + b * 2 + c_hat
    np.testing.assert_allclose(forecast, [first, a * 2 + b * first + c_hat])
    paths = model.sample(past, 2, 20000, rng)
    np.testing.assert_allclose(paths[0, :, 0, 0].std(), 0.1, rtol=0.05)
    np.testing.assert_allclose(paths.mean(axis=1)[0, :, 0], forecast, atol=0.01)


def test_per_series_and_direct_linear_models_are_exact_on_noiseless_linear_data() -> None:
    t = np.arange(200.0)
    train = np.stack([2 * t + 1, -0.5 * t + 3], axis=1)  # two lines: y_t = 2 y_{t-1} - y_{t-2}
    per_series = LinearAR.fit(train, order=2, shared=False, ridge=0.0)
    assert per_series.coef.shape == (2, 3, 1)
    past = train[None, -10:]
    expected = np.stack(
        [2 * (t[-1] + np.arange(1, 6)) + 1, -0.5 * (t[-1] + np.arange(1, 6)) + 3], 1
    )
    np.testing.assert_allclose(per_series.predict(past, 5)[0], expected, rtol=1e-6)
    direct = LinearAR.fit(train, order=3, horizon_out=5, shared=True, ridge=0.0)
    np.testing.assert_allclose(direct.predict(past, 5)[0], expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="forecasts 5 steps"):
        direct.predict(past, 4)
