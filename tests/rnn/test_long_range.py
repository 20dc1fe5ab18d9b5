"""Long-range models: each cell learns a short adding/copy batch, gradient split, save/load."""

from __future__ import annotations

import pytest
import torch

from diffrnn.data.long_range import ADDING_MEMORYLESS_MSE, adding_problem, copy_memory
from diffrnn.modeling import load
from diffrnn.rnn.long_range import LongRangeConfig, LongRangeModel


@pytest.fixture(autouse=True)
def _one_thread(_seed_and_threads: None) -> None:
    torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation


def _train(
    model: LongRangeModel, batch: tuple[torch.Tensor, torch.Tensor], steps: int, lr: float
) -> float:
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        optimiser.step()
    return float(model.loss(batch))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "mingru", "minlstm"])
def test_overfits_one_adding_batch(cell: str) -> None:
    torch.manual_seed(0)
    model = LongRangeModel(LongRangeConfig(task="adding", cell=cell, hidden_size=32))
    batch = adding_problem(8, 6, torch.Generator().manual_seed(0))
    assert _train(model, batch, 300, lr=1e-2) < 0.1 * ADDING_MEMORYLESS_MSE


def test_overfits_one_copy_batch() -> None:
    torch.manual_seed(0)
    model = LongRangeModel(LongRangeConfig(task="copy", cell="gru", hidden_size=64))
    batch = copy_memory(4, 3, torch.Generator().manual_seed(0))
    assert _train(model, batch, 120, lr=1e-2) < 0.05
    assert torch.equal(model.predict(batch[0]), batch[1])


def test_last_step_loss_matches_the_forward_pass() -> None:
    model = LongRangeModel(LongRangeConfig(task="copy", cell="lstm", hidden_size=8))
    inputs, targets = copy_memory(3, 5, torch.Generator().manual_seed(1))
    logits = model(inputs)
    expected = torch.nn.functional.cross_entropy(logits[:, -1], targets[:, -1], reduction="sum")
    torch.testing.assert_close(model.last_step_loss(model.features(inputs), targets), expected)


def test_save_load_round_trip(tmp_path) -> None:
    model = LongRangeModel(LongRangeConfig(task="adding", cell="minlstm", hidden_size=8))
    model.save_pretrained(tmp_path / "lr")
    loaded = load(tmp_path / "lr")
    inputs, _ = adding_problem(2, 9, torch.Generator().manual_seed(2))
    torch.testing.assert_close(loaded(inputs), model(inputs))
