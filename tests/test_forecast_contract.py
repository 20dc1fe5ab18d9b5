"""The forecaster contract, checked on every model of `diffrnn.forecast_specs` (`MODELS` and
`SPECS`) at a tiny size (the "quick" recipe, 2 optimiser steps): paths of shape (W, S, H, N),
finite training losses, the same seed gives the same paths whatever the global RNG, no value after
an origin reaches its forecast (through training or sampling), and a saved Forecaster forecasts
exactly as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from diffrnn import Forecaster, load
from diffrnn.data.windows import ForecastProblem
from diffrnn.forecast_specs import MODELS, SPECS, Fitted, ModelSpec, Settings

HORIZON, CONTEXT, SAMPLES = 6, 12, 4
TRAIN_END, TEST_ENDS = 200, (212, 226, 240)
TINY = Settings("quick", seed=0, budget_s=60.0, max_steps=2)


def _values(rows: int = 240) -> np.ndarray:
    """(rows, 3) hourly series: daily cycles, a trend, noise; all positive."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)[:, None]
    cycle = np.sin(2 * np.pi * t / 24 + np.array([0.0, 1.0, 2.0]))
    return 10 + np.array([1.0, 2.0, 3.0]) * cycle + 0.01 * t + 0.3 * rng.standard_normal((rows, 3))


def _problem(values: np.ndarray) -> ForecastProblem:
    return ForecastProblem(
        values, TRAIN_END, TEST_ENDS, HORIZON, CONTEXT, "h", np.datetime64("2025-01-06T00:00")
    )


def _paths(spec: ModelSpec, fitted: Fitted, problem: ForecastProblem, seed: int) -> np.ndarray:
    """The spec's paths for every test window, each from the rows before its origin:
    (W, S, H, N)."""
    history = spec.history(fitted, problem)
    config = getattr(fitted.network, "config", None)
    calendar = problem.calendar() if spec.uses_calendar and getattr(config, "freq", None) else None
    paths = []
    for end in problem.test_ends:
        origin = end - problem.horizon
        feats = None if calendar is None else calendar[origin - problem.context : end]
        past = problem.values[origin - history : origin]  # (L, N): nothing from `origin` on
        paths.append(spec.sample(fitted, past, feats, problem.horizon, SAMPLES, seed))
    return np.stack(paths)


@pytest.fixture(scope="module", params=list({**MODELS, **SPECS}))
def trained(request: pytest.FixtureRequest) -> tuple[ModelSpec, Fitted, ForecastProblem]:
    torch.set_num_threads(1)
    spec = {**MODELS, **SPECS}[request.param]
    problem = _problem(_values())
    return spec, spec.train(problem, TINY), problem


def test_paths_have_the_contract_shape_and_are_finite(trained) -> None:
    spec, fitted, problem = trained
    paths = _paths(spec, fitted, problem, seed=0)
    assert paths.shape == (len(TEST_ENDS), SAMPLES, HORIZON, 3)
    assert np.isfinite(paths).all()


def test_a_trained_network_has_finite_losses(trained) -> None:
    spec, fitted, _ = trained
    if spec.network_class is None:  # a floor: fitted in closed form, nothing trained
        assert fitted.network is None and fitted.result is None
        return
    losses = fitted.result.train_losses
    assert fitted.result.steps == TINY.max_steps and losses
    assert all(np.isfinite(losses))


def test_the_same_seed_gives_the_same_paths_whatever_the_global_rng(trained) -> None:
    spec, fitted, problem = trained
    torch.manual_seed(1)
    np.random.seed(1)
    first = _paths(spec, fitted, problem, seed=5)
    torch.manual_seed(2)
    np.random.seed(2)
    np.testing.assert_array_equal(_paths(spec, fitted, problem, seed=5), first)
    if not (first == first[:, :1]).all():  # paths that differ: another seed draws others
        assert not np.array_equal(_paths(spec, fitted, problem, seed=6), first)


def test_no_future_value_reaches_a_forecast(trained) -> None:
    """Rows from the last window's origin on are replaced; the model is trained again from the
    same seed: that window's paths (and the others') do not move."""
    spec, fitted, problem = trained
    values = _values()
    origin = TEST_ENDS[-1] - HORIZON
    values[origin:] = -1e3 * values[origin:]
    changed = _problem(values)
    again = spec.train(changed, TINY)
    np.testing.assert_array_equal(
        _paths(spec, again, changed, seed=0), _paths(spec, fitted, problem, seed=0)
    )


@pytest.mark.parametrize("name", list(MODELS))
def test_a_saved_forecaster_gives_identical_paths(tmp_path: Path, name: str) -> None:
    torch.set_num_threads(1)
    stamps = pd.date_range("2025-01-06", periods=TRAIN_END, freq="h")
    frame = pd.DataFrame(_values(TRAIN_END), columns=["a", "b", "c"]).assign(ds=stamps)
    fc = Forecaster(name, horizon=HORIZON, context=CONTEXT, max_steps=2).fit(frame)
    paths = fc.sample_paths(num_samples=SAMPLES)
    assert paths.shape == (SAMPLES, 3, HORIZON)
    fc.save(tmp_path / "saved")
    np.testing.assert_array_equal(load(tmp_path / "saved").sample_paths(num_samples=SAMPLES), paths)


# ---------------------------------------------------------------------------------------------
# network_spec: a forecaster implementing NetworkForecaster is one line of MODELS


def test_standard_scaling_makes_a_network_forecast_equivariant_to_units() -> None:
    """The data in other units (100 y + 7) standardise to the same rows, so the same seed trains
    the same network, and the paths come back in the new units: 100 paths + 7."""
    torch.set_num_threads(1)
    spec = MODELS["segrnn"]
    assert spec.network is not None and spec.network.scaling == "standard"
    problem = _problem(_values())
    moved = _problem(100 * _values() + 7)
    paths = _paths(spec, spec.train(problem, TINY), problem, seed=0)
    np.testing.assert_allclose(
        _paths(spec, spec.train(moved, TINY), moved, seed=0), 100 * paths + 7, rtol=1e-5
    )


def test_a_network_spec_line_names_objects_inside_diffrnn_only() -> None:
    from diffrnn.forecast_specs import network_spec

    with pytest.raises(ValueError, match="inside diffrnn"):
        network_spec("x", "rnn", "d", "os.system", recipe="diffrnn.forecast_specs.segrnn_recipe")
    with pytest.raises(ValueError, match="inside diffrnn"):
        network_spec("x", "rnn", "d", "diffrnn.rnn.segrnn.SegRNN", recipe="os.system")
    with pytest.raises(ValueError, match="scaling must be one of"):
        network_spec("x", "rnn", "d", "diffrnn.rnn.segrnn.SegRNN", "diffrnn.rnn.segrnn.x", "minmax")


def test_a_point_network_forecast_is_one_path_repeated() -> None:
    torch.set_num_threads(1)
    spec = MODELS["segrnn"]
    problem = _problem(_values())
    fitted = spec.train(problem, TINY)
    paths = _paths(spec, fitted, problem, seed=0)  # (W, S, H, N)
    assert (paths == paths[:, :1]).all()
    network = fitted.network
    history = problem.values[TEST_ENDS[0] - HORIZON - CONTEXT : TEST_ENDS[0] - HORIZON]
    mean, std = fitted.params["mean"], fitted.params["std"]
    with torch.no_grad():
        point = network.predict(torch.as_tensor((history - mean) / std, dtype=torch.float32)[None])
    np.testing.assert_allclose(paths[0, 0], point[0].double().numpy() * std + mean, rtol=1e-12)
