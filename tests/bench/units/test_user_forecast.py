"""forecast-user units on designed files: seasons from any pandas alias, scores per origin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.units.forecasting import probabilistic_floor_unit
from diffrnn.bench.user_data import prepare_user_data, user_problem
from diffrnn.data.windows import ForecastProblem
from diffrnn.errors import DataError


def _seasonal_file(path: Path, freq: str, season: int, rows: int) -> Path:
    """One series repeating a season exactly, on `freq`'s dates: seasonal naive is perfect."""
    stamps = pd.date_range("2000-10-01", periods=rows, freq=freq)  # a Sunday
    pattern = 10 + 5 * np.sin(2 * np.pi * np.arange(season) / season) + np.arange(season) % 3
    values = pattern[np.arange(rows) % season]
    frame = pd.DataFrame(
        {"unique_id": "s", "ds": stamps.strftime("%Y-%m-%d %H:%M:%S"), "y": values}
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("freq", "season", "rows"),
    [("MS", 12, 120), ("ME", 12, 120), ("W-SUN", 52, 300), ("QS-OCT", 4, 80), ("15min", 96, 700)],
)
def test_seasonal_naive_repeats_the_season_of_any_alias(
    tmp_path: Path, freq: str, season: int, rows: int
) -> None:
    options = prepare_user_data(_seasonal_file(tmp_path / "s.csv", freq, season, rows), horizon=3)
    problem = user_problem(options)
    inferred = options["summary"]["frequency"]  # "QS-OCT" dates read as the same "QS-JAN"
    assert inferred.startswith(freq.split("-")[0]) and inferred.endswith("(inferred)")
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    seasonal = probabilistic_floor_unit(problem, ctx, "seasonal-naive")
    last = probabilistic_floor_unit(problem, ctx, "last-value")
    # the series repeats exactly: a true seasonal naive is perfect, the last value is not
    assert seasonal.metrics["crps"] == pytest.approx(0.0, abs=1e-12)
    assert last.metrics["crps"] > 0.05
    assert f"season: {season} steps" in " ".join(seasonal.notes)


def test_seasonal_naive_without_a_season_of_history_says_so() -> None:
    problem = ForecastProblem(np.ones((20, 1)), 10, (15, 20), horizon=5, context=5, freq="MS")
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=Path("."))
    with pytest.raises(DataError, match=r"needs a 12-step season .* there are 10 steps"):
        probabilistic_floor_unit(problem, ctx, "seasonal-naive")


@pytest.mark.parametrize("method", ["last-value", "random-walk", "linear-ar"])
def test_crps_per_origin_averages_to_the_headline_crps(method: str, tmp_path: Path) -> None:
    t = np.arange(300.0)
    values = np.stack([10 + np.sin(t / 5), 20 + np.cos(t / 7)], axis=1)
    problem = ForecastProblem(values, 240, (252, 264, 276, 288, 300), 12, 12, "D")
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    out = probabilistic_floor_unit(problem, ctx, method)  # type: ignore[arg-type]
    curve = out.curves["crps_vs_origin"]
    assert curve["x"] == [0, 1, 2, 3, 4]
    assert np.mean(curve["y"]) == pytest.approx(out.metrics["crps"], rel=1e-12)


def test_every_network_spec_is_a_forecast_user_unit() -> None:
    from diffrnn.bench.registry import load_registry
    from diffrnn.forecast_specs import MODELS

    models = load_registry()["forecast-user"].models
    networks = [name for name, spec in MODELS.items() if spec.network is not None]
    assert "segrnn" in networks
    for name in networks:
        assert models[name].family == MODELS[name].family


def test_segrnn_backtests_on_a_users_file_as_a_point_forecast(tmp_path: Path) -> None:
    from diffrnn.bench.registry import get_model

    stamps = pd.date_range("2024-01-01", periods=300, freq="h")
    t = np.arange(300)
    frame = pd.DataFrame({"ds": stamps, "a": 50 + 10 * np.sin(2 * np.pi * t / 24), "b": 3 + t})
    frame.to_csv(tmp_path / "f.csv", index=False)
    options = prepare_user_data(tmp_path / "f.csv", horizon=12)
    ctx = UnitContext(seed=0, budget_s=5.0, suite="quick", out_dir=tmp_path, options=options)
    out = get_model("forecast-user", "segrnn").run(ctx)
    assert set(out.metrics) == {"crps", "crps_sum", "mse", "mae"}
    assert all(np.isfinite(v) for v in out.metrics.values())
    assert out.params > 0 and out.steps > 0
    assert "point forecast" in " ".join(out.notes)
    # one path per window: the CRPS of a point mass is the absolute error weighted by |y|
    _, future = user_problem(options).test_windows()
    weighted = out.metrics["mae"] * future.size / np.abs(future).sum()
    assert out.metrics["crps"] == pytest.approx(weighted, rel=1e-9)
