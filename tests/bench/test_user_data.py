"""forecast-user: the user's file as a rolling-origin backtest, with what was inferred stated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn.bench.user_data import data_seeds, plan_backtest, prepare_user_data, user_problem
from diffrnn.errors import ConfigError, DataError


def _wide(path: Path, rows: int = 60, freq: str = "D") -> Path:
    stamps = pd.date_range("2024-01-01", periods=rows, freq=freq)
    # series k is 100 k + t at step t: every window's values are known in advance
    frame = pd.DataFrame({"date": stamps.strftime("%Y-%m-%d %H:%M:%S")})
    for k in range(3):
        frame[f"s{k}"] = 100.0 * k + np.arange(rows)
    frame.to_csv(path, index=False)
    return path


def test_wide_file_becomes_five_rolling_origins_with_inferences_stated(tmp_path: Path) -> None:
    options = prepare_user_data(_wide(tmp_path / "w.csv"), horizon=5)
    assert (options["context"], options["windows"]) == (10, 5)
    problem = user_problem(options)
    assert problem.values.shape == (60, 3) and problem.freq == "D"
    assert problem.train_end == 35 and problem.test_ends == (40, 45, 50, 55, 60)
    past, future = problem.test_windows()
    assert future[0, :, 1].tolist() == [135.0, 136.0, 137.0, 138.0, 139.0]  # 100 + t, t = 35..39
    assert past[-1, :, 0].tolist() == list(range(45, 55))
    summary = options["summary"]
    assert summary["format"] == "wide (inferred)" and summary["frequency"] == "D (inferred)"
    assert summary["origins (first forecast step)"].split(", ")[0] == "2024-02-05"  # row 35
    assert "first 35 rows only" in summary["backtest"]


def test_long_file_with_given_format_and_unequal_spans(tmp_path: Path) -> None:
    stamps = pd.date_range("2024-01-01 00:00", periods=48, freq="h")
    rows = [("a", t, float(i)) for i, t in enumerate(stamps)]
    rows += [("b", t, float(-i)) for i, t in enumerate(stamps) if i >= 8]  # starts 8 h later
    pd.DataFrame(rows, columns=["unique_id", "ds", "y"]).to_csv(tmp_path / "l.csv", index=False)
    options = prepare_user_data(tmp_path / "l.csv", horizon=4, format="long", freq="h")
    problem = user_problem(options)
    assert problem.values.shape == (40, 2)  # the 40 hours both series cover
    assert problem.values[0].tolist() == [8.0, -8.0]  # both at 08:00
    assert options["windows"] == 5 and problem.train_end == 20
    summary = options["summary"]
    assert summary["format"] == "long (given)" and summary["frequency"] == "h (given)"
    assert "the range all series cover" in summary["rows used"]
    assert summary["origins (first forecast step)"].startswith("2024-01-02 04:00")  # 08:00 + 20 h


def test_too_short_a_file_says_what_would_fit(tmp_path: Path) -> None:
    short = _wide(tmp_path / "w.csv", rows=20)
    options = prepare_user_data(short, horizon=5)  # context 10 + one training window of 5
    assert (options["windows"], user_problem(options).train_end) == (1, 15)
    with pytest.raises(DataError, match=r"needs at least 60 rows .* your file has 20"):
        prepare_user_data(short, horizon=15)
    with pytest.raises(ConfigError, match="--horizon must be at least 1"):
        prepare_user_data(tmp_path / "w.csv", horizon=0)


def test_a_frequency_without_calendar_features_forecasts_from_values_only(tmp_path: Path) -> None:
    options = prepare_user_data(_wide(tmp_path / "y.csv", rows=40, freq="YS"), horizon=2)
    assert options["summary"]["frequency"] == "YS-JAN (inferred)"
    assert options["summary"]["calendar features"].startswith("none")
    assert user_problem(options).start is None  # so no model asks for calendar features
    quarterly = prepare_user_data(_wide(tmp_path / "q.csv", rows=40, freq="QS"), horizon=2)
    assert user_problem(quarterly).calendar().shape == (40, 1)  # month of year
    daily = prepare_user_data(_wide(tmp_path / "d.csv"), horizon=5)
    assert user_problem(daily).start == np.datetime64("2024-01-01")


def test_long_series_get_up_to_20_origins_over_the_last_15_percent() -> None:
    assert plan_backtest(60, 5, num_series=3) == (10, 5, 5, "")  # short: five blocks, as before
    assert plan_backtest(400, 5, num_series=3) == (10, 12, 5, "")  # 15% = 60 rows = 12 blocks
    context, windows, stride, why = plan_backtest(6000, 30, num_series=8)
    assert (context, windows, stride, why) == (60, 20, 45, "")  # 900 rows: 20 origins, 45 apart
    assert 19 * stride + 30 <= 0.15 * 6000  # within the last 15%
    assert plan_backtest(6000, 30, num_series=8, windows=3)[1:3] == (3, 30)  # given: blocks


def test_origins_are_bounded_by_the_memory_their_paths_need() -> None:
    # 10,000 series x horizon 7 x 100 paths = 7M values per origin: 7 origins fit 50M
    assert plan_backtest(1000, 7, num_series=10_000)[1:] == (
        7,
        7,
        "memory: 10,000 series x horizon 7 x 100 paths per origin",
    )
    with pytest.raises(DataError, match=r"100,000 series x horizon 7 .* 70,000,000 forecast"):
        plan_backtest(1000, 7, num_series=100_000)
    with pytest.raises(DataError, match="pass --windows 7 or fewer"):
        plan_backtest(1000, 7, num_series=10_000, windows=8)


def test_the_backtest_summary_states_origins_stride_and_coverage(tmp_path: Path) -> None:
    options = prepare_user_data(_wide(tmp_path / "w.csv", rows=400), horizon=5)
    problem = user_problem(options)
    assert options["windows"] == 12 and problem.test_ends[0] == 345 and problem.train_end == 340
    assert options["summary"]["backtest"].startswith(
        "12 rolling origin(s) every 5 steps over the last 60 rows (15% of the history)"
    )
    assert "(7 more)" in options["summary"]["origins (first forecast step)"]


def test_three_seeds_by_default_when_the_budget_allows() -> None:
    seeds, why = data_seeds("quick", None, None, None)
    assert seeds == 3 and "the spread over seeds" in why
    seeds, why = data_seeds("full", 600.0, 1, None)  # 3 x 4 learned units x 600 s = 2 hours
    assert seeds == 1 and "pass --seeds 3" in why
    assert data_seeds("full", 600.0, 1, ("last-value", "linear-ar"))[0] == 3  # nothing to train


def test_the_time_limit_grows_with_the_forecasts_a_unit_must_draw(tmp_path: Path) -> None:
    from diffrnn.bench.compare import CompareRequest, prepare
    from diffrnn.bench.suites import QUICK
    from diffrnn.bench.user_data import EVALUATION_S_PER_FORECAST

    def limits(series: int, name: str) -> dict[str, float]:
        stamps = pd.date_range("2024-01-01", periods=60, freq="D")
        columns = {f"s{k}": 100.0 * k + np.arange(60) for k in range(series)}
        frame = pd.DataFrame({"date": stamps.strftime("%Y-%m-%d"), **columns})
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        options = prepare_user_data(tmp_path / f"{name}.csv", horizon=5)
        request = CompareRequest(seeds=1, user_options=options, out=tmp_path / name)
        return {u.model: u.time_limit_s for u in prepare(request).units}

    few, many = limits(2, "few"), limits(400, "many")
    factor = QUICK.timeout_factor
    for model, limit in few.items():
        extra = factor * EVALUATION_S_PER_FORECAST * 5 * (400 - 2)  # 5 origins
        assert many[model] == pytest.approx(limit + extra), model
