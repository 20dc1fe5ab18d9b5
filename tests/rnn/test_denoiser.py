"""The supervised recurrent denoiser: identity at initialisation, learns a designed signal."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from diffrnn.rnn.denoiser import RNNDenoiser, RNNDenoiserConfig


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _model(cell: str = "gru", noise_sd: float = 0.3) -> RNNDenoiser:
    torch.manual_seed(0)
    return RNNDenoiser(
        RNNDenoiserConfig(features=3, noise_sd=noise_sd, cell=cell, hidden_size=16, num_layers=2)
    )


@pytest.mark.parametrize("cell", ["gru", "lstm", "mingru"])
def test_untrained_model_is_the_identity_and_its_loss_is_the_noise_variance(cell: str) -> None:
    model = _model(cell)
    y = torch.randn(4, 10, 3)
    torch.testing.assert_close(model.denoise(y), y)
    torch.manual_seed(1)
    loss = model.loss(torch.zeros(512, 10, 3))  # E (sigma eps)^2 = sigma^2 = 0.09
    assert loss.item() == pytest.approx(0.09, rel=0.03)


def test_learns_to_denoise_a_constant_signal() -> None:
    # every sequence is the constant 0.5: the best estimate is the constant itself, so a trained
    # denoiser must remove most of the noise (the mean of 30 noisy values has 1/30 of its variance)
    model = _model(noise_sd=0.3)
    clean = torch.full((64, 10, 3), 0.5)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    losses = []
    for _ in range(150):
        optimiser.zero_grad()
        loss = model.loss(clean)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.2 * losses[0]
    noisy = clean + 0.3 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(5))
    mse = ((model.denoise(noisy) - clean) ** 2).mean().item()
    assert mse < 0.2 * 0.09


def test_bidirectional_output_depends_on_the_future() -> None:
    model = _model()
    torch.nn.init.normal_(model.head.weight, std=0.5)
    y = torch.randn(1, 10, 3)
    later = y.clone()
    later[0, -1] += 1.0
    assert not torch.allclose(model.denoise(y)[0, 0], model.denoise(later)[0, 0])


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = _model()
    torch.nn.init.normal_(model.head.weight, std=0.5)
    loaded = RNNDenoiser.from_pretrained(model.save_pretrained(tmp_path / "m"))
    y = torch.randn(2, 10, 3)
    assert loaded.config == model.config
    torch.testing.assert_close(loaded.denoise(y), model.denoise(y))


def test_config_rejects_unknown_cell_and_zero_noise() -> None:
    with pytest.raises(ValueError, match="cell"):
        RNNDenoiserConfig(cell="transformer")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="noise_sd"):
        RNNDenoiserConfig(noise_sd=0.0)
