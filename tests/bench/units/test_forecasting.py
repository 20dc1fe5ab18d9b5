"""Forecasting units: task protocols, the floors' peer-measured numbers, the generic pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.units.forecasting import (
    direct_unit,
    etth1_problem,
    exchange_problem,
    forecast_unit,
    probabilistic_floor_unit,
)
from diffrnn.data.windows import ForecastProblem


def test_exchange_protocol_and_last_value_floor_match_the_issue(tmp_path) -> None:
    problem = exchange_problem()
    assert problem.values.shape == (6221, 8) and problem.train_end == 6071
    assert problem.test_ends == (6101, 6131, 6161, 6191, 6221) and problem.horizon == 30
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    metrics = probabilistic_floor_unit(problem, ctx, "last-value").metrics
    # GluonTS's evaluator on the same windows gave 0.0093 / 0.0062 (issue 3's table)
    assert metrics["crps"] == pytest.approx(0.0093, abs=5e-5)
    assert metrics["crps_sum"] == pytest.approx(0.0062, abs=5e-5)


def test_etth1_protocol_has_the_informer_test_windows() -> None:
    problem = etth1_problem(96)
    assert problem.train_end == 8640 and problem.context == 96
    assert len(problem.test_ends) == 2785  # 14400 - 11520 - 96 + 1
    past, future = problem.test_windows()
    assert past.shape == (2785, 96, 7) and future.shape == (2785, 96, 7)
    long = etth1_problem(96, input_length=720)  # the same windows, read from 720 steps back
    long_past, long_future = long.test_windows()
    assert long_past.shape == (2785, 720, 7)
    np.testing.assert_array_equal(long_future, future)
    np.testing.assert_array_equal(long_past[:, -96:], past)
    np.testing.assert_allclose(problem.train.mean(0), 0.0, atol=1e-9)  # standardised on train


def _toy_problem(horizon: int = 6, dated: bool = True) -> ForecastProblem:
    t = np.arange(400.0)
    values = np.stack([10 + np.sin(t / 5), 20 + np.cos(t / 7), 5 + 0.01 * t], axis=1)
    start = np.datetime64("2020-01-06") if dated else None
    return ForecastProblem(values, 370, (382, 394, 400), horizon, 12, "B", start)


@pytest.mark.parametrize("dated", [True, False])
def test_deepar_over_the_contract_runs_on_any_problem_with_a_fan_chart(
    tmp_path, dated: bool
) -> None:
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    out = forecast_unit(_toy_problem(dated=dated), ctx, "deepar-gru")
    assert set(out.metrics) == {"crps", "crps_sum", "mse", "mae"}
    assert all(np.isfinite(v) for v in out.metrics.values())
    assert out.params > 0 and out.throughput > 0
    assert (tmp_path / out.artefacts["fan_chart"]).stat().st_size > 1000


def test_direct_unit_reports_every_horizon_of_the_point_forecaster(tmp_path) -> None:
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    out = direct_unit([_toy_problem(6), _toy_problem(3)], ctx, "point-mingru")
    assert set(out.metrics["by_horizon"]) == {"6", "3"}
    assert out.metrics["mse"] == out.metrics["by_horizon"]["6"]["mse"]


def test_direct_unit_scores_every_horizon_of_segrnn_from_one_model(tmp_path) -> None:
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    out = direct_unit([_toy_problem(6), _toy_problem(3)], ctx, "segrnn")
    assert set(out.metrics["by_horizon"]) == {"6", "3"}
    assert out.metrics["mse"] == out.metrics["by_horizon"]["6"]["mse"]
    assert all(np.isfinite(m["mse"]) for m in out.metrics["by_horizon"].values())
    assert out.params > 0 and out.steps > 0


def test_one_meaning_per_forecasting_name_with_the_old_exchange_names_as_aliases() -> None:
    """On forecast-exchange `gru`, `mingru`, `minlstm` meant DeepAR with that cell, on
    forecast-etth1 `gru`, `mingru` a point forecaster: the DeepAR ones are `deepar-<cell>` now,
    and the old names still run them."""
    from diffrnn.bench.registry import load_registry

    tasks = load_registry()
    exchange, etth1 = tasks["forecast-exchange"], tasks["forecast-etth1"]
    for cell in ("gru", "mingru", "minlstm"):
        assert f"deepar-{cell}" in exchange.models and cell not in exchange.models
        assert exchange.resolve(cell) == f"deepar-{cell}"
        assert exchange.models[f"deepar-{cell}"].run.keywords == {"name": f"deepar-{cell}"}
    for cell in ("gru", "mingru"):
        assert etth1.models[cell].run.keywords == {"name": f"point-{cell}"}


def test_a_models_evaluation_sets_its_paths_and_windows(tmp_path) -> None:
    """The diffusion forecaster's quick scoring: 16 paths on at most 8 evenly spaced windows,
    each window's CRPS placed at its index among all the problem's windows."""
    t = np.arange(300.0)
    values = np.stack([10 + np.sin(t / 5), 20 + np.cos(t / 7)], axis=1)
    problem = ForecastProblem(values, 200, tuple(range(212, 300, 4)), 6, 12, "D")  # 22 windows
    ctx = UnitContext(seed=0, budget_s=0.5, suite="quick", out_dir=tmp_path)
    out = forecast_unit(problem, ctx, "diffusion-forecaster")
    assert out.curves["crps_vs_origin"]["x"] == list(range(0, 22, 3))
    assert "scored every 3th test window (8 windows)" in out.notes
    assert out.sampler_steps == 5
    assert "16 paths per window" in out.notes


def test_the_exchange_diffusion_forecaster_denoises_moves_and_etth1s_levels(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """forecast-exchange's unit uses the increment recipe; forecast-etth1's keeps the levels."""
    import importlib

    import diffrnn.bench.units.diffusion_forecasting as units
    import diffrnn.bench.units.forecasting as forecasting

    predicts = []

    def fit(problem, ctx, network):  # type: ignore[no-untyped-def]
        module, name = network.recipe.rsplit(".", 1)
        recipe = getattr(importlib.import_module(module), name)
        predicts.append(recipe(problem, "quick").model.predict)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(forecasting, "fit_network", fit)
    monkeypatch.setattr(units, "exchange_problem", _toy_problem)
    monkeypatch.setattr(units, "etth1_problem", lambda horizon: _toy_problem(horizon))
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path)
    for unit in (units.diffusion_forecaster_exchange, units.diffusion_forecaster_etth1):
        with pytest.raises(RuntimeError, match="stop before training"):
            unit(ctx)
    assert predicts == ["increment", "level"]
