"""TimeGrad's sampling over the contract: whole windows at once, never more series paths than the
budget, the suite's sampler."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from diffrnn import forecast_specs
from diffrnn.bench.registry import UnitContext
from diffrnn.bench.units.forecasting import EVALUATIONS
from diffrnn.bench.units.timegrad import NAME, sampler_sweep
from diffrnn.hybrid.timegrad import TimeGrad
from diffrnn.rnn import deepar


class _Recorder:
    """Stands in for TimeGrad: records the windows and sampler of each `sample` call, returns
    their index."""

    config = SimpleNamespace(history_length=6, context_length=4, prediction_length=3)

    def __init__(self) -> None:
        self.calls: list[list[float]] = []
        self.samplers: list[tuple[str, int | None]] = []

    def sample(
        self, history: torch.Tensor, feats: torch.Tensor, n: int, **kwargs: Any
    ) -> torch.Tensor:
        self.calls.append(history[:, 0, 0].tolist())  # (W,) the first value names the window
        self.samplers.append((kwargs["sampler"], kwargs["steps"]))
        w, _, series = history.shape
        return history[:, None, :1, :1].expand(w, n, 3, series).clone()  # (W, S, H, N)


@pytest.mark.parametrize(("budget", "per_call"), [(2 * 5 * 4, 2), (5 * 4 - 1, 1), (10**6, 5)])
def test_windows_are_sampled_in_chunks_within_the_path_budget(
    monkeypatch: pytest.MonkeyPatch, budget: int, per_call: int
) -> None:
    """10,000 series x 100 paths x 3 origins at once asked for far more than one window's worth;
    each call now holds at most budget // (samples x series) windows (one if a window is over)."""
    history = torch.arange(5.0)[:, None, None] * torch.ones(5, 6, 4)  # (W=5, L, N=4)
    monkeypatch.setattr(deepar, "SAMPLE_CHUNK_PATHS", budget)
    model = _Recorder()
    paths = TimeGrad.sample_paths(model, history, None, 5, None, "ddim", 10)  # type: ignore[arg-type]
    sizes = [len(c) for c in model.calls]
    assert max(sizes) == per_call and sum(sizes) == 5
    assert set(model.samplers) == {("ddim", 10)}
    assert paths.shape == (5, 5, 3, 4)
    np.testing.assert_array_equal(paths[:, 0, 0, 0], np.arange(5.0))  # windows in order


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
