"""Windows, scaling, lags and calendar features with designed inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from diffrnn.data.windows import (
    ForecastProblem,
    MinMax,
    PastFutureWindows,
    business_day_lags,
    forecast_windows,
    frequency_unit,
    increment_scaling,
    lag_features,
    lags_for_frequency,
    mean_scaling,
    num_time_features,
    season_length,
    standard_scaling,
    time_features,
)
from diffrnn.errors import DataError


def test_forecast_windows_cut_consecutive_rows() -> None:
    values = np.arange(20.0).reshape(10, 2)  # row t = (2t, 2t + 1)
    past, future = forecast_windows(values, context=3, horizon=2, stride=2)
    assert past.shape == (3, 3, 2) and future.shape == (3, 2, 2)
    np.testing.assert_array_equal(past[1, :, 0], [4, 6, 8])  # window 1 starts at row 2
    np.testing.assert_array_equal(future[2, :, 1], [15, 17])  # rows 7, 8
    with pytest.raises(DataError):
        forecast_windows(values, context=8, horizon=3)


def test_past_future_windows_are_the_forecast_windows_as_items() -> None:
    values = np.arange(20.0).reshape(10, 2)
    windows = PastFutureWindows(values, context=3, horizon=2, stride=2)
    past, future = forecast_windows(values, context=3, horizon=2, stride=2)
    assert len(windows) == len(past) == 3
    for i in range(3):
        np.testing.assert_array_equal(windows[i]["past"].numpy(), past[i])
        np.testing.assert_array_equal(windows[i]["future"].numpy(), future[i])
    assert windows[0]["past"].dtype == torch.float32
    with pytest.raises(DataError, match="no window of 8 \\+ 3 rows"):
        PastFutureWindows(values, context=8, horizon=3)


def test_lags_of_increasing_integers_equal_position_minus_lag() -> None:
    """x[t] = t (times 10 ** n for series n): every lag column must read back p - lag."""
    length_total, lags, length = 40, (1, 2, 3, 7, 11), 12
    series_scale = np.array([1.0, 10.0, 100.0])
    x = np.arange(length_total)[:, None] * series_scale  # (L, N)
    out = lag_features(x, lags, length)  # (P, N, K)
    assert out.shape == (length, 3, len(lags))
    for t in range(length):
        p = length_total - length + t
        for k, lag in enumerate(lags):
            np.testing.assert_array_equal(out[t, :, k], (p - lag) * series_scale)
    # next unseen step: positions [L, L + 1) read x[L - lag]
    nxt = lag_features(x, lags, length=1, end=length_total + 1)
    np.testing.assert_array_equal(nxt[0, 0], [length_total - lag for lag in lags])


def test_lags_work_on_batched_torch_tensors() -> None:
    x = torch.arange(30.0).reshape(1, 30, 1).repeat(4, 1, 2)  # (B, L, N)
    out = lag_features(x, (1, 5), length=3)  # (B, 3, N, 2)
    assert out.shape == (4, 3, 2, 2)
    torch.testing.assert_close(out[2, :, 1, 1], torch.tensor([22.0, 23.0, 24.0]))


def test_lags_refuse_to_read_before_the_start_or_into_the_target() -> None:
    x = np.zeros((10, 1))
    with pytest.raises(ValueError, match="need rows"):
        lag_features(x, (1, 8), length=4)
    with pytest.raises(ValueError, match="need rows"):
        lag_features(x, (1,), length=1, end=12)


def test_business_day_lags_follow_gluonts_derivation() -> None:
    lags = business_day_lags()
    assert lags[:7] == (1, 2, 3, 4, 5, 6, 7)
    assert lags[7:18] == (9, 10, 11, 14, 15, 16, 19, 20, 21, 22, 23)  # weeks of 5 days, month 22
    assert {259, 260, 261, 263, 264, 265, 791, 792, 793} <= set(lags) and max(lags) == 793
    assert list(lags) == sorted(set(lags))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_scalings_round_trip_exactly_and_have_their_statistics(backend: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(5, 50, 4)) * np.array([1.0, 10.0, 0.01, 1e3])
    if backend == "torch":
        x = torch.from_numpy(x)
    mean = mean_scaling(x)
    np.testing.assert_allclose(np.asarray(mean.scale)[..., 0, :], np.abs(np.asarray(x)).mean(1))
    np.testing.assert_allclose(
        np.asarray(mean.inverse(mean.transform(x))), np.asarray(x), rtol=1e-12
    )
    np.testing.assert_allclose(np.abs(np.asarray(mean.transform(x))).mean(1), 1.0)
    std = standard_scaling(x)
    z = np.asarray(std.transform(x))
    np.testing.assert_allclose(z.mean(1), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(1), 1.0)
    np.testing.assert_allclose(np.asarray(std.inverse(std.transform(x))), np.asarray(x), rtol=1e-12)


def test_mean_scaling_of_an_all_zero_context_uses_the_minimum() -> None:
    scaling = mean_scaling(np.zeros((6, 2)), minimum_scale=1e-3)
    np.testing.assert_array_equal(scaling.scale, [[1e-3, 1e-3]])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_increment_scaling_is_the_mean_move_of_the_context_from_its_last_value(
    backend: str,
) -> None:
    """Series 0 moves 9 -> 1 -> 2 -> 4 -> 4 -> 7: over C = 3 steps 2^2 + 0^2 + 3^2 = 13 (the
    row before them, 2 -> 4, is the first of the window). Series 1 is pegged at 5."""
    x = np.array([[9.0, 1.0, 2.0, 4.0, 4.0, 7.0], [5.0] * 6]).T[None]  # (1, 6, 2)
    if backend == "torch":
        x = torch.from_numpy(x)
    scaling = increment_scaling(x, context_length=3, relative_minimum=1e-3)
    np.testing.assert_allclose(np.asarray(scaling.loc), [[[7.0, 5.0]]])
    # series 1: no move, so the floor: 1e-3 x mean |x| over the context
    np.testing.assert_allclose(np.asarray(scaling.scale), [[[(13.0 / 3.0) ** 0.5, 5e-3]]])
    zero = increment_scaling(np.zeros((4, 1)), context_length=3)
    assert zero.scale.item() > 0


def test_business_day_time_features_match_gluonts_formulas() -> None:
    index = pd.date_range("2024-01-01", periods=10, freq="B")  # Mon 1 Jan 2024
    feats = time_features(index, "B")
    assert feats.shape == (10, 3) and feats.min() >= -0.5 and feats.max() <= 0.5
    np.testing.assert_allclose(feats[:5, 0], np.array([0, 1, 2, 3, 4]) / 6 - 0.5)
    assert feats[5, 0] == pytest.approx(-0.5)  # next Monday
    assert feats[0, 1] == pytest.approx(-0.5) and feats[0, 2] == pytest.approx(-0.5)
    np.testing.assert_allclose(feats[7, 1], (10 - 1) / 30 - 0.5)  # Wed 10 Jan
    hourly = time_features(pd.date_range("2024-01-01", periods=24, freq="h"), "h")
    np.testing.assert_allclose(hourly[:, 0], np.arange(24) / 23 - 0.5, rtol=1e-6)


def test_forecast_problem_windows_and_validation() -> None:
    values = np.arange(100.0)[:, None].repeat(2, axis=1)
    problem = ForecastProblem(values, 60, (80, 90, 100), horizon=10, context=20, freq="B")
    past, future = problem.test_windows()
    assert past.shape == (3, 20, 2) and future.shape == (3, 10, 2)
    np.testing.assert_array_equal(future[:, 0, 0], [70, 80, 90])
    np.testing.assert_array_equal(past[:, -1, 0], [69, 79, 89])
    with pytest.raises(DataError):
        ForecastProblem(values, 60, (101,), horizon=10, context=20, freq="B")


def test_calendar_features_follow_the_rows_timestamps() -> None:
    values = np.zeros((30, 1))
    undated = ForecastProblem(values, 20, (30,), horizon=5, context=5, freq="B")
    assert undated.calendar() is None
    dated = ForecastProblem(
        values, 20, (30,), horizon=5, context=5, freq="B", start=np.datetime64("2024-01-01")
    )
    feats = dated.calendar()  # 2024-01-01 is a Monday; business days skip weekends
    index = pd.bdate_range("2024-01-01", periods=30)
    np.testing.assert_array_equal(feats, time_features(index, "B"))
    assert feats.shape[0] == 30


@pytest.mark.parametrize(
    ("freq", "width"),
    [("15min", 5), ("min", 5), ("s", 6), ("h", 4), ("W-SUN", 2), ("MS", 1), ("QE-DEC", 1)],
)
def test_calendar_features_by_frequency_as_gluonts_lists_them(freq: str, width: int) -> None:
    index = pd.date_range("2024-01-01", periods=40, freq=freq)
    feats = time_features(index, freq)
    assert feats.shape == (40, width)
    assert feats.min() >= -0.5 and feats.max() <= 0.5


def test_quarters_carry_their_month_and_years_have_no_calendar() -> None:
    index = pd.date_range("2024-01-01", periods=4, freq="QS")  # Jan, Apr, Jul, Oct
    np.testing.assert_allclose(time_features(index, "QS")[:, 0], np.array([0, 3, 6, 9]) / 11 - 0.5)
    minutes = pd.date_range("2024-01-01 10:00", periods=3, freq="30min")
    np.testing.assert_allclose(time_features(minutes, "30min")[:, 0], [-0.5, 30 / 59 - 0.5, -0.5])
    with pytest.raises(ValueError, match="calendar features"):
        time_features(pd.date_range("2000", periods=3, freq="YE"), "YE")


@pytest.mark.parametrize(
    ("freq", "unit", "season"),
    [
        ("MS", "M", 12),
        ("ME", "M", 12),
        ("BME", "M", 12),
        ("W", "W", 52),
        ("W-SUN", "W", 52),
        ("W-MON", "W", 52),
        ("QS-OCT", "Q", 4),
        ("QE-DEC", "Q", 4),
        ("D", "D", 7),
        ("B", "B", 5),
        ("h", "h", 24),
        ("2h", "h", 12),
        ("15min", "min", 96),
        ("YS", "Y", 1),
        ("7h", "h", 1),  # 24 is no multiple of 7: no whole season
    ],
)
def test_every_alias_of_a_frequency_names_its_unit_and_season(
    freq: str, unit: str, season: int
) -> None:
    assert frequency_unit(freq) == unit and season_length(freq) == season


def test_seasonal_lags_follow_the_offset_not_its_spelling() -> None:
    assert {11, 12, 13} <= set(lags_for_frequency("MS")) and lags_for_frequency("MS") == (
        lags_for_frequency("ME")
    )
    assert {23, 24, 25} <= set(lags_for_frequency("h"))
    assert lags_for_frequency("B") == business_day_lags()
    assert lags_for_frequency("YS") == tuple(range(1, 8))
    with pytest.raises(ValueError, match="not a pandas frequency"):
        season_length("fortnightly")


def test_calendar_features_for_anchored_aliases() -> None:
    months = pd.date_range("2024-01-31", periods=12, freq="ME")
    np.testing.assert_allclose(time_features(months, "ME")[:, 0], np.arange(12) / 11 - 0.5)
    quarters = pd.date_range("2023-10-01", periods=4, freq="QS-OCT")
    assert time_features(quarters, "QS-OCT").shape == (4, 1)
    assert num_time_features("W-SUN") == 2


def test_test_windows_never_read_before_the_first_row() -> None:
    problem = ForecastProblem(np.zeros((30, 1)), 20, (25, 30), horizon=5, context=5, freq="D")
    assert problem.test_windows(history=20)[0].shape == (2, 20, 1)
    with pytest.raises(DataError, match="before the start of the data"):
        problem.test_windows(history=21)  # the first origin is row 20


def test_minmax_maps_the_range_to_unit_interval() -> None:
    values = np.array([[1.0, -2.0], [3.0, 2.0], [2.0, 0.0]])
    scaled = MinMax.fit(values).transform(values)
    assert scaled.min(axis=0) == pytest.approx([0.0, 0.0])
    assert scaled.max(axis=0) == pytest.approx([1.0, 1.0], abs=1e-6)
