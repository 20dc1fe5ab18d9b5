"""`train_for_unit` / `fitted_output`: a unit's budget, seed and checkpoints in one place."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
from diffrnn.training import OptimConfig, TrainConfig


class Line(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        (x,) = batch
        return (self.linear(x).squeeze(-1) - x.sum(-1)).pow(2).mean()


def _ctx(tmp_path: Path, budget_s: float = 100.0, seed: int = 3) -> UnitContext:
    return UnitContext(
        seed=seed, budget_s=budget_s, suite="quick", out_dir=tmp_path, checkpoint_dir=tmp_path
    )


def _loader(seed: int = 0):  # type: ignore[no-untyped-def]
    return seeded_loader(TensorDataset(torch.randn(32, 2)), 8, seed)


RECIPE = TrainConfig(max_steps=5, optim=OptimConfig(lr=1e-2), checkpoint_every_n_steps=1)


def test_the_units_budget_ends_training_and_the_output_says_so(tmp_path: Path) -> None:
    recipe = TrainConfig(max_steps=-1, max_epochs=100_000)
    result = train_for_unit(Line(), _loader(), _ctx(tmp_path, budget_s=0.1), recipe)
    assert result.stopped_by == "budget" and result.cpu_seconds >= 0.1
    output = fitted_output(result, {"mse": 0.5}, notes=["mine"])
    assert (output.steps, output.stopped_by) == (result.steps, "budget")
    assert output.params == 3 and output.train_cpu_seconds == result.cpu_seconds
    assert output.notes == ["mine"] and len(output.curves["train_loss"]) == result.steps


def test_a_step_cap_is_recorded_with_the_seconds_it_used(tmp_path: Path) -> None:
    result = train_for_unit(Line(), _loader(), _ctx(tmp_path), RECIPE)
    output = fitted_output(result, {"mse": 0.5}, infer_seconds_per_sample=0.25)
    assert (output.steps, output.stopped_by) == (5, "step_cap")
    assert output.infer_seconds_per_sample == 0.25
    assert output.notes[0].startswith("stopped at its step cap: 5 steps in")


def test_the_seed_and_checkpoints_are_the_units(tmp_path: Path) -> None:
    torch.manual_seed(0)
    a = train_for_unit(Line(), _loader(), _ctx(tmp_path / "a", seed=3), RECIPE, name="T10")
    torch.manual_seed(0)
    b = train_for_unit(
        Line(),
        _loader(),
        _ctx(tmp_path / "b", seed=3),
        dataclasses.replace(RECIPE, seed=99),
        name="T10",
    )
    assert (tmp_path / "a" / "T10" / "last.ckpt").exists()  # the named training's subfolder
    assert torch.equal(
        a.model.linear.weight, b.model.linear.weight
    )  # the recipe's seed is replaced


def test_several_trainings_sum_their_costs(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    capped = train_for_unit(Line(), _loader(), ctx, RECIPE, name="one")
    epochs = train_for_unit(
        Line(), _loader(), ctx, TrainConfig(max_steps=-1, max_epochs=1), name="two"
    )
    output = fitted_output([capped, epochs], {"mse": 0.1})
    assert (output.steps, output.stopped_by) == (9, "mixed")
    assert output.train_seconds == capped.train_seconds + epochs.train_seconds
    assert output.curves == {}
    with pytest.raises(ValueError, match="share"):
        train_for_unit(Line(), _loader(), ctx, RECIPE, share=0)
    with pytest.raises(TypeError, match="no field"):
        fitted_output(capped, {}, speed=1)
