"""TimeGrad's unit: the suite's sampler (the chunked sampling is tested with the model,
tests/hybrid/test_timegrad.py)."""

from __future__ import annotations

from typing import Any

import pytest

from diffrnn import forecast_specs
from diffrnn.bench.registry import UnitContext
from diffrnn.bench.units.forecasting import EVALUATIONS
from diffrnn.bench.units.timegrad import NAME, sampler_sweep


@pytest.mark.parametrize(
    ("suite", "sampler"),
    [("quick", ("dpmsolver++", 5)), ("full", ("ddpm", None)), ("reference", ("dpmsolver++", 10))],
)
def test_each_suite_forecasts_with_its_sampler(suite: str, sampler: tuple[str, Any]) -> None:
    """The headline sampler of a suite (`TIMEGRAD_SAMPLING`), and the sweep in the full suite."""
    ctx = UnitContext(seed=0, budget_s=1.0, suite=suite, out_dir=None)
    spec = forecast_specs.SPECS[NAME].network
    assert spec is not None
    chosen = ctx.preset(spec.sampling)
    assert (chosen["sampler"], chosen["steps"]) == sampler
    extras = ctx.preset(EVALUATIONS[NAME]).extras
    assert (extras is sampler_sweep) == (suite == "full")


def test_forecast_exchange_trains_on_increments_and_other_tasks_keep_the_paper_recipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """forecast-exchange's unit asks for `timegrad_increment_recipe`: the moves scaled by the
    training rows' step std (the random-walk floor's sigma), the white-noise skip, and (full)
    AdamW at 1e-4 decayed over the budget with an EMA; `timegrad_recipe`, the spec's for
    every other task, is the paper's levels at a constant rate."""
    import numpy as np

    from diffrnn.baselines.forecast import RandomWalk
    from diffrnn.bench.units import timegrad
    from diffrnn.data.windows import ForecastProblem

    asked: list[str | None] = []
    monkeypatch.setattr(timegrad, "forecast_unit", lambda *a, **k: asked.append(a[4]))
    monkeypatch.setattr(timegrad, "exchange_problem", lambda: None)
    timegrad.timegrad_exchange_unit(UnitContext(0, 1.0, "reference", None))
    assert asked == [timegrad.EXCHANGE_RECIPE]

    values = 50.0 + np.random.default_rng(0).standard_normal((400, 3)).cumsum(0) * [1, 0.1, 3]
    problem = ForecastProblem(values, 300, (360, 400), 30, 30, "B", np.datetime64("2020-01-01"))
    build = forecast_specs._resolve(timegrad.EXCHANGE_RECIPE)
    for size in ("quick", "full"):
        recipe, paper = build(problem, size), forecast_specs.timegrad_recipe(problem, size)
        assert (recipe.model.predict, recipe.model.white_noise_skip) == ("increment", True)
        np.testing.assert_allclose(recipe.model.step_scale, RandomWalk.fit(problem.train).sigma)
        assert (paper.model.predict, paper.model.step_scale, paper.train.ema_decay) == (
            "level",
            None,
            None,
        )
        assert paper.train.optim.schedule == "constant"
        assert recipe.batch_size == paper.batch_size
    optim = recipe.train.optim
    assert (optim.lr, optim.schedule, recipe.train.ema_decay) == (1e-4, "budget_cosine", 0.995)
