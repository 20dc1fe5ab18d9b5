"""The TimeGrad unit's sampling: whole windows at once, never more series paths than the budget."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from diffrnn.bench.units import timegrad as unit
from diffrnn.data.windows import ForecastProblem


class _Recorder:
    """Stands in for TimeGrad: records the windows of each `sample` call, returns their index."""

    config = SimpleNamespace(history_length=6, context_length=4, prediction_length=3)

    def __init__(self) -> None:
        self.calls: list[list[float]] = []

    def sample(self, history: torch.Tensor, feats: torch.Tensor, n: int, **_: Any) -> torch.Tensor:
        self.calls.append(history[:, 0, 0].tolist())  # (W,) the first value names the window
        w, _, series = history.shape
        return history[:, None, :1, :1].expand(w, n, 3, series).clone()  # (W, S, H, N)


@pytest.mark.parametrize(("budget", "per_call"), [(2 * 5 * 4, 2), (5 * 4 - 1, 1), (10**6, 5)])
def test_windows_are_sampled_in_chunks_within_the_path_budget(
    monkeypatch: pytest.MonkeyPatch, budget: int, per_call: int
) -> None:
    """10,000 series x 100 paths x 3 origins at once asked for far more than one window's worth;
    each call now holds at most budget // (samples x series) windows (one if a window is over)."""
    rows = np.arange(40.0)[:, None] * np.ones((1, 4))  # (T, N=4): row t holds t everywhere
    problem = ForecastProblem(rows, 25, (28, 31, 34, 37, 40), horizon=3, context=4, freq="D")
    monkeypatch.setattr(unit, "SAMPLE_CHUNK_PATHS", budget)
    model = _Recorder()
    paths, _ = unit.forecast_paths(
        model, problem, None, "ddpm", None, seed=0, num_samples=5, repeats=1, warmup=0
    )
    sizes = [len(c) for c in model.calls]
    assert max(sizes) == per_call and sum(sizes) == 5
    starts = [e - 3 - 6 for e in problem.test_ends]  # each window's first history row
    assert paths.shape == (5, 5, 3, 4)
    np.testing.assert_array_equal(paths[:, 0, 0, 0], starts)  # windows in order, none lost
