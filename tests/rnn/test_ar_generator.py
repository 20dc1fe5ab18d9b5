"""Autoregressive Gaussian RNN generator: exact likelihood, causality, sampling, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from diffrnn.rnn.ar_generator import ARGenerator, ARGeneratorConfig


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # tiny models; a second thread only spins on a loaded CPU


def _model(cell: str = "gru") -> ARGenerator:
    torch.manual_seed(0)
    return ARGenerator(
        ARGeneratorConfig(num_series=3, length=6, cell=cell, hidden_size=8, num_layers=2)
    )


def _constant_head(model: ARGenerator, mean: torch.Tensor, raw_std: torch.Tensor) -> None:
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.cat([mean, raw_std]))


def test_likelihood_of_a_constant_head_is_the_gaussian_density() -> None:
    model = _model()
    mean, raw = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, 1.0, -1.0])
    _constant_head(model, mean, raw)
    x = torch.randn(4, 6, 3)
    std = torch.nn.functional.softplus(raw) + model.config.min_std
    expected = torch.distributions.Normal(mean, std).log_prob(x).sum(dim=(1, 2))
    assert torch.allclose(model.log_likelihood(x), expected, atol=1e-5)
    assert model.loss(x).item() == pytest.approx(-expected.mean().item() / 18, rel=1e-5)


@pytest.mark.parametrize("cell", ["gru", "mingru"])
def test_step_t_depends_only_on_earlier_steps(cell: str) -> None:
    model = _model(cell)
    x = torch.randn(2, 6, 3, requires_grad=True)
    h, _ = model.rnn(model._inputs(x))
    model._gaussian(h)[0][:, 3].sum().backward()
    assert (x.grad[:, 3:] == 0).all()
    assert (x.grad[:, :3].abs().sum(dim=(0, 2)) > 0).all()


def test_sampling_contract_and_constant_head_statistics() -> None:
    model = _model()
    a = model.sample(5, generator=torch.Generator().manual_seed(1))
    b = model.sample(5, generator=torch.Generator().manual_seed(1))
    assert a.shape == (5, 6, 3) and torch.isfinite(a).all() and torch.equal(a, b)
    mean, raw = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, 1.0, -1.0])
    _constant_head(model, mean, raw)
    draws = model.sample(4000, generator=torch.Generator().manual_seed(2))
    std = torch.nn.functional.softplus(raw) + model.config.min_std
    assert torch.allclose(draws.mean(dim=(0, 1)), mean, atol=0.05)
    assert torch.allclose(draws.std(dim=(0, 1)), std, rtol=0.05)


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = _model()
    x = torch.randn(2, 6, 3)
    model.save_pretrained(tmp_path / "g")
    loaded = ARGenerator.from_pretrained(tmp_path / "g")
    assert torch.equal(loaded.log_likelihood(x), model.log_likelihood(x))
