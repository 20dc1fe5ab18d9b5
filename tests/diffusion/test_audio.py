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
from diffrnn.diffusion.sampling import sample as run_sampler


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


def _standardised(model: SpectrogramDiffusion) -> tuple[SpectrogramDiffusion, torch.Tensor]:
    """A copy of `model` standardising with the statistics of designed data, and the data:
    band m has mean -0.5 + 0.1 m and standard deviation 0.05 (m + 1)."""
    torch.manual_seed(1)
    m = torch.arange(8.0)[:, None]  # (n_mels, 1)
    data = -0.5 + 0.1 * m + 0.05 * (m + 1) * torch.randn(200, 8, 12)  # (N, n_mels, n_frames)
    copy = SpectrogramDiffusion(model.config)
    copy.load_state_dict(model.state_dict())
    copy.set_standardisation(data)
    return copy.eval(), data


def test_standardisation_takes_each_bands_mean_and_spread(model: SpectrogramDiffusion) -> None:
    standardised, data = _standardised(model)
    m = torch.arange(8.0)
    torch.testing.assert_close(standardised.band_mean[:, 0], -0.5 + 0.1 * m, atol=0.02, rtol=0)
    torch.testing.assert_close(standardised.band_std[:, 0], 0.05 * (m + 1), rtol=0.1, atol=0)
    z = (data - standardised.band_mean) / standardised.band_std
    torch.testing.assert_close(z.mean(dim=(0, 2)), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(dim=(0, 2)), torch.ones(8), atol=1e-5, rtol=0)


def test_the_diffusion_sees_standardised_data_and_samples_map_back(
    model: SpectrogramDiffusion,
) -> None:
    standardised, data = _standardised(model)
    x0, digits = data[:6], torch.arange(6)
    z0 = (x0 - standardised.band_mean) / standardised.band_std
    torch.manual_seed(2)
    loss = standardised.loss((x0, digits))
    torch.manual_seed(2)
    assert torch.equal(loss, model.loss((z0, digits)))  # the same draws on the standardised data
    g = torch.Generator
    labels = torch.tensor([1, 4, 4])
    x = standardised.sample(3, labels=labels, generator=g().manual_seed(0), steps=4)
    z = run_sampler(
        model.diffusion,
        (3, 8, 12),
        sampler=model.config.sampler,
        steps=4,
        generator=g().manual_seed(0),
        cond=labels,
        guidance_scale=model.config.guidance_scale,
    )  # (3, n_mels, n_frames) the standardised sample
    expected = (z * standardised.band_std + standardised.band_mean).clamp(-1.0, 1.0)
    torch.testing.assert_close(x, expected)
    assert not torch.allclose(x, z.clamp(-1.0, 1.0), atol=0.1)


def test_the_statistics_are_saved_with_the_weights(model: SpectrogramDiffusion, tmp_path) -> None:  # type: ignore[no-untyped-def]
    standardised, _ = _standardised(model)
    standardised.save_pretrained(tmp_path / "m")
    loaded = SpectrogramDiffusion.from_pretrained(tmp_path / "m")
    assert torch.equal(loaded.band_mean, standardised.band_mean)
    assert torch.equal(loaded.band_std, standardised.band_std)
