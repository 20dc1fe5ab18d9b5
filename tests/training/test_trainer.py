"""`fit` leaves the caller's autograd mode as it found it."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.training import TrainConfig, fit


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
