"""Forward process, targets, loss weighting, label dropout, save/load and a tiny overfit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from diffusers import DDPMScheduler
from torch.utils.data import DataLoader, TensorDataset

import diffrnn
from diffrnn.diffusion.audio import SpectrogramDenoiser, SpectrogramDenoiserConfig
from diffrnn.diffusion.denoisers import ResidualMLP, ResidualMLPConfig
from diffrnn.diffusion.gaussian import (
    GaussianDiffusion,
    GaussianProcess,
    GaussianProcessConfig,
)
from diffrnn.diffusion.likelihood import reverse_step_bits
from diffrnn.diffusion.sampling import sample
from diffrnn.errors import ConfigError
from diffrnn.training import OptimConfig, TrainConfig, fit

PREDICTIONS = ("epsilon", "sample", "v_prediction")


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedule_is_diffusers_ddpm_schedule(schedule: str) -> None:
    process = GaussianProcess(GaussianProcessConfig(schedule=schedule))  # type: ignore[arg-type]
    reference = DDPMScheduler(**process.config.scheduler_kwargs())
    torch.testing.assert_close(process.alphas_cumprod, reference.alphas_cumprod, rtol=1e-5, atol=0)
    # DDPM's posterior variance beta~_t (eq. 7) is diffusers' "fixed_small" variance
    reference.set_timesteps(1000)
    for t in (1, 10, 500, 999):
        torch.testing.assert_close(process.posterior_variance[t], reference._get_variance(t))


def test_q_sample_moments() -> None:
    process = GaussianProcess(GaussianProcessConfig(schedule="linear"))
    x0 = torch.full((200_000, 1), 0.7)
    t = torch.full((200_000,), 300)
    x_t = process.q_sample(x0, t, torch.randn_like(x0))
    a, s = process.sqrt_alphas_cumprod[300], process.sqrt_one_minus_alphas_cumprod[300]
    assert abs(x_t.mean() - a * 0.7) < 4 * s / 200_000**0.5
    assert abs(x_t.std() - s) < 0.01 * s
    assert torch.allclose(a**2 + s**2, torch.tensor(1.0))


def test_epsilon_target_of_zero_data_is_x_t_over_sigma() -> None:
    process = GaussianProcess(GaussianProcessConfig(prediction="epsilon"))
    x0, noise = torch.zeros(6, 3), torch.randn(6, 3)
    t = torch.tensor([0, 1, 100, 500, 900, 999])
    x_t = process.q_sample(x0, t, noise)
    s = process.sqrt_one_minus_alphas_cumprod[t][:, None]
    torch.testing.assert_close(process.target(x0, noise, t), x_t / s)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_targets_convert_back_to_x0_and_eps(prediction: str) -> None:
    process = GaussianProcess(GaussianProcessConfig(prediction=prediction))  # type: ignore[arg-type]
    x0, noise = torch.rand(64, 5) * 2 - 1, torch.randn(64, 5)
    t = torch.randint(0, 900, (64,))
    x_t = process.q_sample(x0, t, noise)
    x0_hat, eps_hat = process.split(x_t, t, process.target(x0, noise, t))
    torch.testing.assert_close(x0_hat, x0, atol=2e-3, rtol=0)
    torch.testing.assert_close(eps_hat, noise, atol=2e-3, rtol=0)


def test_v_target_is_a_eps_minus_s_x0() -> None:
    process = GaussianProcess(GaussianProcessConfig(prediction="v_prediction"))
    x0, noise, t = torch.ones(1, 1), torch.zeros(1, 1), torch.tensor([400])
    assert process.target(x0, noise, t).item() == pytest.approx(
        -process.sqrt_one_minus_alphas_cumprod[400].item()
    )


def test_min_snr_weights() -> None:
    gamma = 5.0
    process = GaussianProcess(GaussianProcessConfig(min_snr_gamma=gamma))
    snr = process.snr
    high, low = int((snr > 2 * gamma).nonzero()[-1]), int((snr < gamma / 2).nonzero()[0])
    weights = process.loss_weight(torch.tensor([high, low]))
    torch.testing.assert_close(weights, torch.stack([gamma / snr[high], torch.tensor(1.0)]))


def test_invalid_prediction_is_config_error() -> None:
    with pytest.raises(ConfigError, match="prediction must be one of"):
        GaussianProcessConfig(prediction="x0")  # type: ignore[arg-type]


def _mlp_diffusion(**kwargs: object) -> GaussianDiffusion:
    return GaussianDiffusion.around(
        ResidualMLP,
        ResidualMLPConfig(dim=2, hidden=32, depth=2, num_classes=kwargs.pop("num_classes", None)),
        process=GaussianProcessConfig(num_timesteps=100, **kwargs),  # type: ignore[arg-type]
    )


def test_label_dropout_uses_the_null_class(monkeypatch: pytest.MonkeyPatch) -> None:
    model = GaussianDiffusion.around(
        ResidualMLP,
        ResidualMLPConfig(dim=2, hidden=8, depth=1, num_classes=3),
        process=GaussianProcessConfig(num_timesteps=10),
        num_classes=3,
        cond_drop_prob=0.5,
    )
    seen: list[torch.Tensor] = []
    forward = model.denoiser.forward
    monkeypatch.setattr(
        model.denoiser, "forward", lambda x, t, c: seen.append(c.clone()) or forward(x, t, c)
    )
    labels = torch.zeros(4000, dtype=torch.long)
    model.train()
    model.loss((torch.zeros(4000, 2), labels))
    null_share = (seen[0] == 3).float().mean().item()
    assert set(seen[0].tolist()) == {0, 3}
    assert abs(null_share - 0.5) < 0.05


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = _mlp_diffusion(prediction="v_prediction", schedule="linear")
    model.save_pretrained(tmp_path / "m")
    loaded = diffrnn.load(tmp_path / "m")
    assert type(loaded) is GaussianDiffusion and loaded.config == model.config
    x, t = torch.randn(5, 2), torch.tensor([0, 3, 50, 70, 99])
    torch.testing.assert_close(loaded(x, t), model(x, t), rtol=0, atol=0)


@pytest.mark.parametrize("sampler", ["ddpm", "dpmsolver++"])
def test_sample_method_is_the_sampler_on_the_denoisers_shape(sampler: str) -> None:
    torch.manual_seed(0)
    model = _mlp_diffusion(num_classes=3).eval()
    labels = torch.tensor([2, 0, 1, 1])
    g = torch.Generator
    by_method = model.sample(4, generator=g().manual_seed(1), sampler=sampler, steps=5, cond=labels)
    by_function = sample(model, (4, 2), sampler, 5, g().manual_seed(1), labels)
    assert torch.equal(by_method, by_function)
    balanced = model.sample(4, generator=g().manual_seed(1), sampler=sampler, steps=5)
    by_function = sample(model, (4, 2), sampler, 5, g().manual_seed(1), torch.tensor([0, 1, 2, 0]))
    assert torch.equal(balanced, by_function)


def test_sample_method_needs_a_denoiser_that_knows_its_shape() -> None:
    # a spectrogram denoiser takes clips of any length: the caller gives the shape
    denoiser = SpectrogramDenoiserConfig(n_mels=4, channels=8, layers=1, embed_dim=8)
    model = GaussianDiffusion.around(SpectrogramDenoiser, denoiser, num_classes=10)
    with pytest.raises(ConfigError, match="shape of one sample"):
        model.sample(2)


def test_tiny_model_overfits_two_points() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    points = torch.tensor([[0.5, -0.5], [-0.5, 0.5]])
    data = points.repeat(256, 1)
    model = _mlp_diffusion()
    loader = DataLoader(TensorDataset(data), batch_size=128, shuffle=True)
    result = fit(
        model,
        loader,
        config=TrainConfig(max_steps=200, optim=OptimConfig(lr=3e-3), grad_clip=1.0),
    )
    x = sample(result.model, (200, 2), "ddim", steps=20, generator=torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, points).min(dim=1).values  # (200,)
    assert nearest.median() < 0.1
    assert result.train_losses[-1] < 0.5 * result.train_losses[0]


def test_learned_range_is_diffusers_interpolation_between_the_endpoints() -> None:
    process = GaussianProcess(GaussianProcessConfig(schedule="cosine", variance="learned_range"))
    t = torch.tensor([1, 2, 30, 500, 998])
    v = torch.tensor([-1.0, 1.0, 0.0, 0.3, -0.7]).reshape(5, 1, 1, 1)
    log_var = process.reverse_log_variance(t, v, 4)  # (5, 1, 1, 1)
    small = process.posterior_log_variance_clipped[t]  # log beta~_t
    large = torch.log(process.betas[t])  # log beta_t
    assert log_var[0].item() == pytest.approx(small[0].item(), rel=1e-6)
    assert log_var[1].item() == pytest.approx(large[1].item(), rel=1e-6)
    assert log_var[2].item() == pytest.approx((small[2] + large[2]).item() / 2, rel=1e-6)
    assert (small < large).all()  # beta~_t < beta_t: v moves between them
    reference = DDPMScheduler(
        num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", variance_type="learned_range"
    )
    reference.set_timesteps(1000)
    for k in range(5):
        expected = reference._get_variance(int(t[k]), predicted_variance=v[k])
        torch.testing.assert_close(log_var[k], expected, rtol=1e-4, atol=0)  # theirs: float32
    # at t = 0, beta~ is clipped to beta~_1 (DDPM's decoder variance)
    zero = process.reverse_log_variance(torch.tensor([0]), -torch.ones(1, 1), 2)
    assert zero.item() == pytest.approx(math.log(process.posterior_variance[1].item()), rel=1e-6)


def test_default_loss_is_the_weighted_mse_of_the_target() -> None:
    model = _mlp_diffusion(prediction="v_prediction")
    x0 = torch.randn(64, 2)
    torch.manual_seed(5)
    loss = model.loss(x0)
    torch.manual_seed(5)
    t = model.process.sample_timesteps(64)
    noise = torch.randn_like(x0)
    output = model.denoiser(model.process.q_sample(x0, t, noise), t, None)
    expected = (output - model.process.target(x0, noise, t)).pow(2).mean()
    torch.testing.assert_close(loss, expected, rtol=0, atol=0)


def test_hybrid_loss_is_l_simple_plus_lambda_t_l_vlb_with_the_mean_held_fixed() -> None:
    config = GaussianProcessConfig(num_timesteps=100, variance="learned_range", bin_width=0.125)
    process = GaussianProcess(config)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randint(0, 17, (8, 1, 2, 2), generator=generator) / 8.0 - 1.0
    t = torch.tensor([0, 1, 2, 10, 50, 90, 99, 0])
    noise = torch.randn(x0.shape, generator=generator)
    x_t = process.q_sample(x0, t, noise)
    output = torch.randn((8, 2, 2, 2), generator=generator).requires_grad_()
    loss = process.hybrid_loss(output, x0, x_t, noise, t)
    prediction, v = output[:, :1], output[:, 1:]
    simple = process.loss(prediction, x0, noise, t)
    mean, _ = process.posterior(process.split(x_t, t, prediction)[0], x_t, t)
    log_var = process.reverse_log_variance(t, v, 4)
    vlb = reverse_step_bits(process, x0, x_t, t, mean, log_var, 0.125).mean()
    torch.testing.assert_close(loss, simple + 1e-3 * 100 * vlb)
    # stop-gradient: the prediction's gradient is L_simple's alone; v's comes from L_vlb
    (grad,) = torch.autograd.grad(loss, output)
    (grad_simple,) = torch.autograd.grad(simple, output)
    torch.testing.assert_close(grad[:, :1], grad_simple[:, :1], rtol=0, atol=0)
    assert grad[:, 1:].abs().min() > 0


def test_learned_variance_model_trains_and_needs_twice_the_channels() -> None:
    model = _mlp_diffusion(variance="learned_range")  # the MLP outputs D, not 2D
    with pytest.raises(ConfigError, match="twice the data's channels"):
        model.process.split_variance(torch.zeros(4, 3))
    with pytest.raises(ConfigError, match="variance must be one of"):
        GaussianProcessConfig(variance="learned")  # type: ignore[arg-type]
