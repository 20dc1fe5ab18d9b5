"""Time budgets: CPU seconds on a CPU, one callback enforces them, resumed runs spend the rest."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.training import TrainConfig, fit
from diffrnn.training import trainer as trainer_module
from diffrnn.training.budget import ComputeBudget, resolve_clock
from diffrnn.training.overrides import TrainOverrides


class Clocks:
    """Fake clocks a training step advances: 1 CPU second and 10 wall seconds per loss call, as
    on a machine where the process gets a tenth of a core."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0

    def tick(self) -> None:
        self.cpu += 1.0
        self.wall += 10.0


class Ticking(nn.Module):
    def __init__(self, clocks: Clocks) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.clocks = clocks

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        self.clocks.tick()
        return self.linear(batch[0]).pow(2).mean()


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Clocks:
    """`fit`'s budget callback reads the fake clocks."""
    fake = Clocks()

    class FakeClockBudget(ComputeBudget):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, cpu_timer=lambda: fake.cpu, wall_timer=lambda: fake.wall)

    monkeypatch.setattr(trainer_module, "ComputeBudget", FakeClockBudget)
    return fake


def _loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=4)  # 16 batches an epoch


def _fit(clocks: Clocks, config: TrainConfig, checkpoint_dir: Path | None = None, resume=False):  # type: ignore[no-untyped-def]
    if config.max_epochs == -1:  # a budget that never ends fails the test instead of hanging it
        config = dataclasses.replace(config, max_epochs=10)
    model = Ticking(clocks)
    return fit(model, _loader(), config=config, checkpoint_dir=checkpoint_dir, resume=resume)


def test_a_cpu_budget_counts_cpu_seconds_not_wall_seconds(clocks: Clocks) -> None:
    result = _fit(clocks, TrainConfig(max_steps=-1, budget_s=5, budget_clock="cpu"))
    assert (result.steps, result.stopped_by) == (5, "budget")  # 5 CPU s although 50 wall s
    assert (result.cpu_seconds, result.train_seconds) == (5.0, 50.0)
    wall = _fit(clocks, TrainConfig(max_steps=-1, budget_s=50, budget_clock="wall"))
    assert (wall.steps, wall.stopped_by) == (5, "budget")


def test_auto_is_cpu_on_a_cpu_and_wall_elsewhere(clocks: Clocks) -> None:
    assert resolve_clock("auto", on_cpu=True) == "cpu"
    assert resolve_clock("auto", on_cpu=False) == "wall"
    result = _fit(clocks, TrainConfig(max_steps=-1, budget_s=5, accelerator="cpu"))
    assert (result.steps, result.stopped_by) == (5, "budget")


def test_max_time_s_stays_a_wall_limit(clocks: Clocks) -> None:
    result = _fit(clocks, TrainConfig(max_steps=-1, max_time_s=30))
    assert (result.steps, result.stopped_by) == (3, "budget")
    both = _fit(clocks, TrainConfig(max_steps=-1, budget_s=2, max_time_s=30))
    assert both.steps == 2  # whichever limit comes first


def test_stopped_by_names_the_limit_that_ended_training(clocks: Clocks) -> None:
    capped = _fit(clocks, TrainConfig(max_steps=3, budget_s=100))
    assert (capped.steps, capped.stopped_by) == (3, "step_cap")
    epochs = _fit(clocks, TrainConfig(max_steps=-1, max_epochs=2, budget_s=100))
    assert (epochs.steps, epochs.stopped_by) == (32, "epochs")


def test_a_resumed_run_spends_the_rest_of_its_budget_and_reports_the_total(
    clocks: Clocks, tmp_path: Path
) -> None:
    """Issue 17 case 7: a resumed unit recorded 0.018 s of training for 1,099 steps."""
    config = TrainConfig(max_steps=-1, budget_s=7, budget_clock="cpu", checkpoint_every_n_steps=1)
    first = _fit(clocks, dataclasses.replace(config, max_steps=3), tmp_path)
    assert (first.steps, first.cpu_seconds) == (3, 3.0)
    rest = _fit(clocks, config, tmp_path, resume=True)
    assert (rest.steps, rest.stopped_by) == (7, "budget")  # 4 more steps, not 7
    assert (rest.cpu_seconds, rest.train_seconds) == (7.0, 70.0)
    again = _fit(clocks, config, tmp_path, resume=True)  # a spent budget trains no further
    assert (again.steps, again.stopped_by) == (7, "budget")
    assert (again.cpu_seconds, again.train_seconds) == (7.0, 70.0)
    assert clocks.cpu == 7.0


def test_a_real_cpu_budget_stops_training() -> None:
    model = Ticking(Clocks())
    config = TrainConfig(max_steps=-1, max_epochs=10_000, budget_s=0.2)
    result = fit(model, _loader(), config=config)
    assert result.stopped_by == "budget" and result.steps > 0
    assert result.cpu_seconds >= 0.2 and result.train_seconds > 0


def test_bad_budgets_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="budget_clock must be one of"):
        TrainConfig(budget_clock="gpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="budget_s must be positive"):
        TrainConfig(budget_s=0)
    # a step override replaces every time budget, so the run is repeatable
    config = TrainOverrides(max_steps=4).apply(TrainConfig(budget_s=5, max_time_s=9))
    assert (config.budget_s, config.max_time_s, config.max_steps) == (None, None, 4)
    assert TrainOverrides(budget_clock="wall").apply(TrainConfig()).budget_clock == "wall"
    with pytest.raises(ValueError, match="budget_clock must be one of"):
        TrainOverrides(budget_clock="gpu")  # type: ignore[arg-type]
