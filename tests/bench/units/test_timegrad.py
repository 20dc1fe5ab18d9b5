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
