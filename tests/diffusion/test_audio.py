"""Spectrogram diffusion: the denoiser's shapes and the generator's sampling contract."""

from __future__ import annotations

import pytest
import torch

from diffrnn.diffusion.audio import (
    SpectrogramDenoiser,
    SpectrogramDenoiserConfig,
    SpectrogramDiffusion,
    spectrogram_diffusion_config,
)


def _model() -> SpectrogramDiffusion:
    torch.manual_seed(0)
    config = spectrogram_diffusion_config(
        SpectrogramDenoiserConfig(n_mels=8, channels=16, layers=3, embed_dim=16),
        n_frames=12,
        num_timesteps=50,
    )
    model = SpectrogramDiffusion(config)
    # the output layer starts at zero (eps = 0 whatever the label): give it weights
    torch.nn.init.normal_(model.diffusion.denoiser.out.weight, std=0.3)
    return model.eval()


def test_denoiser_keeps_the_shape_and_sees_the_whole_clip() -> None:
    torch.manual_seed(0)
    net = SpectrogramDenoiser(
        SpectrogramDenoiserConfig(n_mels=8, channels=16, layers=4, dilation_cycle=4)
    )
    torch.nn.init.normal_(net.out.weight, std=0.3)
    x = torch.randn(2, 8, 32, requires_grad=True)
    out = net(x, torch.tensor([3, 7]), torch.tensor([1, 10]))  # label 10 is the null class
    assert out.shape == (2, 8, 32)
    # dilations 1, 2, 4, 8 with kernel 3: receptive field 1 + 2 (1 + 2 + 4 + 8) = 31 frames
    out[0, :, 0].sum().backward()
    reached = x.grad[0].abs().sum(0).nonzero().flatten()
    assert reached.max().item() == 15


@pytest.fixture(scope="module")
def model() -> SpectrogramDiffusion:
    return _model()


def test_sampling_contract_shape_seed_and_labels(model: SpectrogramDiffusion) -> None:
    digits = torch.tensor([0, 3, 3, 9])
    a = model.sample(4, labels=digits, generator=torch.Generator().manual_seed(1), steps=5)
    b = model.sample(4, labels=digits, generator=torch.Generator().manual_seed(1), steps=5)
    assert a.shape == (4, 8, 12)
    assert torch.equal(a, b)
    other = model.sample(
        4, labels=torch.tensor([5, 5, 5, 5]), generator=torch.Generator().manual_seed(1), steps=5
    )
    assert not torch.allclose(a, other)
    assert a.abs().max() <= 1.0 + 1e-5  # DPM-Solver++ thresholds x_0 to the data range


def test_guidance_one_is_plain_conditional_sampling(model: SpectrogramDiffusion) -> None:
    digits = torch.tensor([2, 4])
    g = torch.Generator
    plain = model.sample(2, labels=digits, generator=g().manual_seed(0), steps=4, guidance_scale=1)
    guided = model.sample(2, labels=digits, generator=g().manual_seed(0), steps=4, guidance_scale=3)
    assert not torch.allclose(plain, guided)


def test_loss_trains_and_the_model_saves_with_its_range(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = _model().train()
    model.log_mel_range.copy_(torch.tensor([-13.8, 2.5]))
    x0 = torch.rand(6, 8, 12) * 2 - 1
    loss = model.loss((x0, torch.arange(6)))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.diffusion.denoiser.class_embed.weight.grad is not None
    model.save_pretrained(tmp_path / "m")
    loaded = SpectrogramDiffusion.from_pretrained(tmp_path / "m").eval()
    assert loaded.log_mel_range.tolist() == model.log_mel_range.tolist()
    g = torch.Generator
    assert torch.equal(
        loaded.sample(1, labels=torch.tensor([1]), generator=g().manual_seed(0), steps=3),
        model.sample(1, labels=torch.tensor([1]), generator=g().manual_seed(0), steps=3),
    )
