"""Numerical faults stop training with the step named; the last good checkpoint survives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.errors import TrainingDivergedError
from diffrnn.training import OptimConfig, TrainConfig, fit


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    return DataLoader(TensorDataset(x, x.sum(-1)), batch_size=8, shuffle=True)


class Faulty(nn.Module):
    """A linear regression whose loss turns `fault` at call `at` (counting from 0)."""

    def __init__(self, at: int | None, fault: str = "nan_loss") -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.at, self.fault, self.calls = at, fault, 0

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        loss = ((self.linear(x).squeeze(-1) - y) ** 2).mean()
        if self.calls == self.at:
            if self.fault == "nan_loss":
                loss = loss * float("nan")
            else:  # d/dw sqrt(0 * w) = 0 * inf: a NaN gradient under a finite loss
                loss = loss + torch.sqrt(0.0 * self.linear.weight).sum()
        self.calls += 1
        return loss


def _checkpoint(directory: Path) -> dict:
    return torch.load(directory / "last.ckpt", weights_only=True)


def test_nan_loss_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    config = TrainConfig(max_steps=30, checkpoint_every_n_steps=5)
    with pytest.raises(TrainingDivergedError, match="at step 12") as caught:
        fit(Faulty(at=12), _loader(), config=config, checkpoint_dir=tmp_path)
    assert "learning rate" in caught.value.fix
    saved = _checkpoint(tmp_path)
    assert saved["global_step"] == 10
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values())
    resumed = fit(Faulty(at=None), _loader(), config=config, checkpoint_dir=tmp_path, resume=True)
    assert resumed.steps == 30 and len(resumed.train_losses) == 20


def test_nan_gradient_under_a_finite_loss_names_the_parameter_and_step(tmp_path: Path) -> None:
    config = TrainConfig(max_steps=30, checkpoint_every_n_steps=5, grad_clip=None)
    with pytest.raises(TrainingDivergedError, match=r"linear\.weight .*at step 7"):
        fit(Faulty(at=7, fault="nan_grad"), _loader(), config=config, checkpoint_dir=tmp_path)
    assert _checkpoint(tmp_path)["global_step"] == 5


class Saturating(nn.Module):
    """tanh(w) x: the loss and gradients stay finite while huge steps overflow w to inf."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return ((x @ torch.tanh(self.w) - y) ** 2).mean()


def test_overflowing_weights_are_never_checkpointed(tmp_path: Path) -> None:
    config = TrainConfig(
        max_steps=10,
        checkpoint_every_n_steps=1,
        grad_clip=None,
        optim=OptimConfig(lr=1e30, weight_decay=1e-20),
    )
    with pytest.raises(TrainingDivergedError, match=r"weight w became non-finite at step 2"):
        fit(Saturating(), _loader(), config=config, checkpoint_dir=tmp_path)
    saved = _checkpoint(tmp_path)
    assert saved["global_step"] == 1
    assert torch.isfinite(saved["state_dict"]["model.w"]).all()
