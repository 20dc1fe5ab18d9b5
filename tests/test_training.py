"""The generic Lightning wrapper: it trains any model with `loss(batch)`, stops on NaN, repeats."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.errors import TrainingDivergedError
from diffrnn.training import OptimConfig, TrainConfig, fit
from diffrnn.training.module import lr_factor


class LinearRegression(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return ((self.linear(x).squeeze(-1) - y) ** 2).mean()


def _loader(seed: int = 0, scale: float = 1.0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 3, generator=g) * scale
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=g)


def test_fit_learns_a_linear_map() -> None:
    result = fit(
        LinearRegression(), _loader(), config=TrainConfig(max_steps=300, optim=OptimConfig(lr=0.05))
    )
    assert result.steps == 300
    assert result.train_losses[-1] < 0.01 < result.train_losses[0]
    assert result.train_seconds > 0 and result.cpu_seconds > 0


def test_fit_is_deterministic_under_a_seed() -> None:
    config = TrainConfig(max_steps=20, seed=3)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)  # the caller seeds the initial weights; fit seeds the data order
        runs.append(fit(LinearRegression(), _loader(), config=config).train_losses)
    assert runs[0] == runs[1]


def test_non_finite_loss_stops_with_the_step_named() -> None:
    config = TrainConfig(max_steps=50, grad_clip=None, optim=OptimConfig(lr=1e6))
    with pytest.raises(TrainingDivergedError, match="step"):
        fit(LinearRegression(), _loader(scale=1e20), config=config)


def test_cosine_schedule_warms_up_then_decays_to_a_tenth() -> None:
    config = OptimConfig(warmup_steps=10, schedule="cosine", total_steps=110)
    assert lr_factor(0, config) == pytest.approx(0.1)
    assert lr_factor(9, config) == pytest.approx(1.0)
    assert lr_factor(10, config) == pytest.approx(1.0)
    assert lr_factor(110, config) == pytest.approx(0.1)
