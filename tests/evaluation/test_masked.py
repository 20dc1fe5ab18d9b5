"""Masked traffic errors: missing readings (zeros) are left out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diffrnn.evaluation.masked import errors_by_horizon, masked_errors


def test_masked_errors_skip_zeros_by_hand() -> None:
    target = np.array([[50.0, 0.0], [40.0, 20.0]])
    forecast = np.array([[55.0, 33.0], [40.0, 18.0]])
    # kept points: errors 5, 0, -2 against 50, 40, 20
    out = masked_errors(target, forecast)
    assert out["mae"] == pytest.approx(7 / 3)
    assert out["rmse"] == pytest.approx(math.sqrt(29 / 3))
    assert out["mape"] == pytest.approx(100 * (0.1 + 0.0 + 0.1) / 3)


def test_errors_by_horizon_picks_one_based_steps() -> None:
    target = np.ones((2, 4, 3))
    forecast = np.ones((2, 4, 3)) + np.arange(4)[None, :, None]  # error h - 1 at step h
    out = errors_by_horizon(target, forecast, (1, 3))
    assert out["1"]["mae"] == 0.0 and out["3"]["mae"] == 2.0


def test_all_missing_is_nan() -> None:
    assert math.isnan(masked_errors(np.zeros(3), np.ones(3))["mae"])
