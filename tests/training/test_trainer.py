"""`fit` leaves the caller's autograd mode as it found it."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.training import OptimConfig, TrainConfig, budgeted, fit


class Quadratic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        return self.linear(batch[0]).pow(2).mean()


@pytest.mark.parametrize("grad_mode", [False, True])
def test_fit_trains_and_restores_the_callers_grad_mode(grad_mode: bool) -> None:
    """An evaluator that trains its scorer on first use inside `torch.no_grad()` (the digits
    classifier under a sample scorer) used to get gradients switched on for good."""
    torch.manual_seed(0)
    model = Quadratic()
    before = model.linear.weight.detach().clone()
    loader = DataLoader(TensorDataset(torch.randn(32, 2)), batch_size=8)
    with torch.set_grad_enabled(grad_mode):
        fit(model, loader, config=TrainConfig(max_steps=3))
        assert torch.is_grad_enabled() is grad_mode
    assert not torch.equal(before, model.linear.weight)  # it did train under no_grad


class Pulled(nn.Module):
    """One weight w, pulled by the training batches to their target while the validation
    loss is lowest at another target: it overfits by construction."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        return ((self.w - batch[0]) ** 2).mean()


def _fit_pulled(keep_best: bool, steps: int, checkpoint_dir=None, resume=False):  # type: ignore[no-untyped-def]
    train = DataLoader(TensorDataset(torch.ones(8)), batch_size=4)  # target 1
    val = DataLoader(TensorDataset(torch.full((4,), 0.3)), batch_size=4)  # best at w = 0.3
    config = TrainConfig(
        max_steps=steps,
        val_every_n_steps=1,
        keep_best=keep_best,
        grad_clip=None,
        checkpoint_every_n_steps=1,
        optim=OptimConfig(lr=0.05),
    )
    return fit(Pulled(), train, val, config, checkpoint_dir=checkpoint_dir, resume=resume)


def test_keep_best_returns_the_weights_of_the_lowest_validation_loss(tmp_path) -> None:  # type: ignore[no-untyped-def]
    last = _fit_pulled(keep_best=False, steps=30)
    assert float(last.model.w) > 0.8 and last.best_step is None
    best = _fit_pulled(keep_best=True, steps=30)
    index = min(range(len(best.val_losses)), key=best.val_losses.__getitem__)
    assert best.best_step == index + 1  # validated after every step
    assert abs(float(best.model.w) - 0.3) < 0.05 and 0 < best.best_step < 30
    # the choice survives a resume: the second run only sees worse validations
    first = _fit_pulled(keep_best=True, steps=15, checkpoint_dir=tmp_path)
    resumed = _fit_pulled(keep_best=True, steps=30, checkpoint_dir=tmp_path, resume=True)
    assert resumed.best_step == first.best_step == best.best_step
    assert torch.equal(resumed.model.w, best.model.w)
    with pytest.raises(ValueError, match="val_loader"):
        fit(Pulled(), DataLoader(TensorDataset(torch.ones(4))), config=TrainConfig(keep_best=True))


def test_budgeted_is_an_uncapped_adamw_recipe_with_the_other_fields_passed_through() -> None:
    config = budgeted(3e-3, 50, ema_decay=0.995, keep_best=True)
    assert config == TrainConfig(
        max_steps=-1,
        ema_decay=0.995,
        keep_best=True,
        optim=OptimConfig(lr=3e-3, warmup_steps=50),
    )
    assert budgeted(1e-2).optim == OptimConfig(lr=1e-2, warmup_steps=0)


def test_validate_at_end_lets_the_last_weights_compete_once() -> None:
    """Validated every 4 steps, a 10-step run's last 2 steps would never be selectable."""
    train = DataLoader(TensorDataset(torch.ones(8)), batch_size=4)  # pulled towards 1
    val = DataLoader(TensorDataset(torch.ones(4)), batch_size=4)  # best: the last weights
    base = TrainConfig(max_steps=10, val_every_n_steps=4, keep_best=True, grad_clip=None)
    without = fit(Pulled(), train, val, base)
    assert (len(without.val_losses), without.best_step) == (2, 8)
    with_end = fit(Pulled(), train, val, dataclasses.replace(base, validate_at_end=True))
    assert (len(with_end.val_losses), with_end.best_step) == (3, 10)
    assert with_end.val_losses[-1] < without.val_losses[-1]
    on_a_validation = dataclasses.replace(base, max_steps=8, validate_at_end=True)
    assert len(fit(Pulled(), train, val, on_a_validation).val_losses) == 2  # not twice
