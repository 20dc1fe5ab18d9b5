"""Forecast metrics against GluonTS's MultivariateEvaluator (golden fixture) and closed forms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from diffrnn.evaluation.forecast import (
    QUANTILE_LEVELS,
    crps,
    crps_ensemble,
    crps_sum,
    mae,
    mse,
    sample_metrics,
    sample_quantiles,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def gluonts_case() -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    arrays = np.load(FIXTURES / "crps_exchange_gluonts.npz")
    golden = json.loads((FIXTURES / "crps_exchange_gluonts.json").read_text())["gluonts"]
    return arrays["targets"], arrays["samples"], golden


def test_crps_and_crps_sum_equal_gluonts(gluonts_case) -> None:
    targets, samples, golden = gluonts_case
    assert crps(targets, samples) == pytest.approx(golden["mean_wQuantileLoss"], rel=1e-9)
    assert crps_sum(targets, samples) == pytest.approx(golden["m_sum_mean_wQuantileLoss"], rel=1e-9)


def test_mse_of_the_sample_mean_equals_gluonts(gluonts_case) -> None:
    targets, samples, golden = gluonts_case
    assert mse(targets, samples.astype(np.float64).mean(axis=1)) == pytest.approx(
        golden["MSE"], rel=1e-6
    )
    metrics = sample_metrics(targets, samples)
    assert metrics["crps"] == pytest.approx(golden["mean_wQuantileLoss"], rel=1e-9)


def test_levels_and_sample_quantile_index() -> None:
    assert QUANTILE_LEVELS[0] == 0.05 and QUANTILE_LEVELS[-1] == 0.95 and len(QUANTILE_LEVELS) == 19
    samples = np.arange(100.0)[::-1]  # sorted value at index i is i
    expected = [round(99 * q) for q in QUANTILE_LEVELS]
    np.testing.assert_array_equal(sample_quantiles(samples), expected)


def test_point_mass_forecast_reduces_crps_to_a_weighted_absolute_error() -> None:
    """With all samples equal to f, mean_q 2|(y-f)(1{y<=f}-q)| = |y - f| (levels symmetric)."""
    rng = np.random.default_rng(0)
    y = rng.normal(5, 1, size=(2, 7, 3))
    f = y + rng.normal(0, 0.3, size=y.shape)
    samples = np.repeat(f[:, None], 10, axis=1)  # (W, S, T, N)
    assert crps(y, samples) == pytest.approx(np.abs(y - f).sum() / np.abs(y).sum())
    assert mae(y, f) == pytest.approx(np.abs(y - f).mean())


def test_crps_of_a_gaussian_matches_the_closed_form() -> None:
    """Sample CRPS and the 19-level quantile CRPS both approach the Gaussian closed form."""
    rng = np.random.default_rng(1)
    mu, sigma = 10.0, 2.0
    y = np.array([7.0, 10.0, 13.5])
    closed = sigma * (
        (z := (y - mu) / sigma) * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi)
    )
    samples = rng.normal(mu, sigma, size=(20000, 3))
    np.testing.assert_allclose(crps_ensemble(y, samples, axis=0), closed, rtol=0.02)
    # the 19-level version equals its own closed form at the true Gaussian quantiles
    true_q = mu + sigma * norm.ppf(np.array(QUANTILE_LEVELS))[:, None]  # (Q, 1)
    levels = np.array(QUANTILE_LEVELS)[:, None]
    expected = np.mean(2 * np.abs((y - true_q) * ((y <= true_q) - levels)).sum(1)) / y.sum()
    assert crps(y[None, None], samples[None, :, None]) == pytest.approx(expected, rel=0.01)
