"""Time budgets: CPU seconds on a CPU, one callback enforces them, resumed runs spend the rest."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.training import OptimConfig, TrainConfig, fit
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


def _recorded_lr_factors(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """(budget progress, factor) of every learning-rate factor the schedule computes."""
    from diffrnn.training import module

    real, seen = module.lr_factor, []

    def recording(step, config, budget_progress=0.0):  # type: ignore[no-untyped-def]
        factor = real(step, config, budget_progress)
        seen.append((budget_progress, factor))
        return factor

    monkeypatch.setattr(module, "lr_factor", recording)
    return seen


def test_budget_cosine_decays_over_the_cpu_budget_to_its_floor_at_the_end(
    clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The steps a time budget allows are unknown in advance: the schedule's clock is the
    fraction of the budget spent, so the last step's factor is the floor, whatever the pace."""
    seen = _recorded_lr_factors(monkeypatch)
    optim = OptimConfig(lr=1e-2, schedule="budget_cosine", min_lr_fraction=0.05)
    result = _fit(clocks, TrainConfig(max_steps=-1, budget_s=8, budget_clock="cpu", optim=optim))
    assert (result.steps, result.stopped_by) == (8, "budget")
    progress = [p for p, _ in seen[-8:]]  # the factor after each of the 8 steps
    assert progress == [k / 8 for k in range(1, 9)]  # 1 CPU s a step
    factors = [f for _, f in seen[-8:]]
    assert factors == sorted(factors, reverse=True)
    assert factors[-1] == pytest.approx(0.05)  # the floor as the budget ends
    assert factors[3] == pytest.approx(0.05 + 0.95 * 0.5)  # half the budget: half way down


def test_budget_cosine_decays_over_the_step_cap_without_a_time_budget(
    clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`diffrnn train --max-steps` replaces a recipe's time budget by a step cap."""
    seen = _recorded_lr_factors(monkeypatch)
    optim = OptimConfig(schedule="budget_cosine")
    _fit(clocks, TrainConfig(max_steps=4, optim=optim))
    assert [p for p, _ in seen[-4:]] == [0.25, 0.5, 0.75, 1.0]
    assert seen[-1][1] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="budget_cosine schedule decays over budget_s or max"):
        _fit(clocks, TrainConfig(max_steps=-1, max_epochs=1, optim=optim))


def test_snapshots_keep_the_weights_fit_would_have_returned_at_each_mark(clocks: Clocks) -> None:
    """One run gives a learning curve: at each mark of the budget's clock, a copy of the weights
    (under `keep_best`, those of the best validation so far)."""
    val = DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=4)  # 1 CPU s a validation
    config = TrainConfig(
        max_steps=-1,
        max_epochs=10,
        budget_s=9,
        budget_clock="cpu",
        snapshot_s=(3.0, 5.5),
        val_every_n_steps=2,
        keep_best=True,
    )
    result = fit(Ticking(clocks), _loader(), val, config)
    first, second = result.snapshots  # validations at steps 2, 4, 6 (at 3, 6 and 9 CPU s)
    assert (first.mark_s, first.step, first.cpu_seconds, first.wall_seconds) == (3.0, 2, 3.0, 30.0)
    assert (second.mark_s, second.step, second.cpu_seconds) == (5.5, 4, 6.0)
    assert (first.best_step, first.best_val_loss) == (2, result.val_losses[0])
    best = min(range(2), key=result.val_losses.__getitem__)
    assert (second.best_step, second.best_val_loss) == (2 * best + 2, result.val_losses[best])
    assert not torch.equal(first.state["linear.weight"], result.model.linear.weight)
    with pytest.raises(ValueError, match="snapshot_s must be increasing positive seconds"):
        TrainConfig(snapshot_s=(5.0, 3.0))


def test_snapshots_survive_a_resume(clocks: Clocks, tmp_path: Path) -> None:
    config = TrainConfig(
        max_steps=-1,
        budget_s=8,
        budget_clock="cpu",
        snapshot_s=(2.0, 6.0),
        checkpoint_every_n_steps=1,
    )
    first = _fit(clocks, dataclasses.replace(config, max_steps=4), tmp_path)
    assert [s.step for s in first.snapshots] == [2]
    rest = _fit(clocks, config, tmp_path, resume=True)
    assert [(s.mark_s, s.step) for s in rest.snapshots] == [(2.0, 2), (6.0, 6)]
    assert torch.equal(
        rest.snapshots[0].state["linear.weight"], first.snapshots[0].state["linear.weight"]
    )
