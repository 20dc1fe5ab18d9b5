"""Diffusion window generator: every sampler stays in [0, 1], determinism, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from diffrnn.diffusion.denoisers_1d import ConvDenoiser1dConfig
from diffrnn.diffusion.gaussian import GaussianProcessConfig
from diffrnn.diffusion.ts_generator import WindowDiffusion, WindowDiffusionConfig


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # tiny models; a second thread only spins on a loaded CPU


def _model() -> WindowDiffusion:
    torch.manual_seed(0)
    model = WindowDiffusion(
        WindowDiffusionConfig(ConvDenoiser1dConfig(num_series=3, horizon=8, hidden=8, layers=2))
    )
    torch.nn.init.normal_(model.diffusion.denoiser.head.weight, std=0.5)  # a rough denoiser
    return model


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmsolver++"])
def test_samples_stay_in_the_data_range(sampler: str) -> None:
    model = _model()
    x = model.sample(6, sampler=sampler, steps=5, generator=torch.Generator().manual_seed(0))
    y = model.sample(6, sampler=sampler, steps=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (6, 8, 3) and torch.equal(x, y)
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_loss_sees_windows_in_minus_one_one() -> None:
    model = _model()
    seen = []
    model.diffusion.loss = lambda batch: seen.append(batch) or torch.zeros(())  # type: ignore[method-assign]
    model.loss(torch.tensor([[[0.0, 0.5, 1.0]]]))
    assert torch.equal(seen[0], torch.tensor([[[-1.0, 0.0, 1.0]]]))


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="context 0"):
        WindowDiffusionConfig(ConvDenoiser1dConfig(context=4))
    with pytest.raises(ValueError, match="data_range"):
        WindowDiffusionConfig(process=GaussianProcessConfig(data_range=None))


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = _model()
    model.save_pretrained(tmp_path / "w")
    loaded = WindowDiffusion.from_pretrained(tmp_path / "w")
    g = torch.Generator
    assert torch.equal(
        loaded.sample(2, steps=3, generator=g().manual_seed(1)),
        model.sample(2, steps=3, generator=g().manual_seed(1)),
    )
