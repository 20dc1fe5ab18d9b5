"""SDEdit noise reduction: the start timestep matches the noise level; outputs in the data range."""

from __future__ import annotations

import pytest
import torch

from diffrnn.diffusion.denoisers_1d import ConvDenoiser1dConfig
from diffrnn.diffusion.gaussian import GaussianProcess, GaussianProcessConfig
from diffrnn.diffusion.sampling import make_scheduler
from diffrnn.diffusion.sdedit import denoise, matching_timestep, noise_level, posterior_mean
from diffrnn.diffusion.ts_generator import WindowDiffusion, WindowDiffusionConfig


class ConstantEps(torch.nn.Module):
    """An epsilon denoiser that predicts `value` everywhere and records the timesteps it sees."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__()
        self.process = GaussianProcess(GaussianProcessConfig(schedule="cosine"))
        self.value = value
        self.seen: list[int] = []

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: object = None) -> torch.Tensor:
        self.seen.append(int(t[0]))
        return torch.full_like(x_t, self.value)


def test_noise_level_is_increasing_and_matches_the_closed_form() -> None:
    process = ConstantEps().process
    levels = noise_level(process)
    assert (levels[1:] > levels[:-1]).all()
    t = 500
    a_bar = process.alphas_cumprod[t].double()
    assert levels[t].item() == pytest.approx(((1 - a_bar) / a_bar).sqrt().item(), rel=1e-5)


@pytest.mark.parametrize("k", [3, 10, 15])
def test_designed_noise_level_selects_its_grid_timestep(k: int) -> None:
    process = ConstantEps().process
    grid = make_scheduler(process, "ddim")
    grid.set_timesteps(20)
    t_k = int(grid.timesteps[k])
    sigma = noise_level(process)[t_k].item()
    assert matching_timestep(process, sigma, 20, "ddim") == t_k
    assert matching_timestep(process, sigma * 1.01, 20, "ddim") == t_k  # nearest, not exact


def test_reverse_process_starts_at_the_matching_timestep_and_runs_the_rest_of_the_grid() -> None:
    model = ConstantEps()
    grid = make_scheduler(model.process, "ddim")
    grid.set_timesteps(20)
    sigma = 0.6
    t_star = matching_timestep(model.process, sigma, 20, "ddim")
    denoise(model, torch.zeros(2, 4), sigma, 20)
    assert model.seen == [int(t) for t in grid.timesteps if t <= t_star]
    assert model.seen[0] == t_star and model.seen[-1] == int(grid.timesteps[-1])


def test_zero_noise_prediction_returns_the_observation_clamped_to_the_range() -> None:
    # with eps = 0, DDIM's x0 estimate is x_t / a_t = y at every step: the output is y itself,
    # clipped to the data range [-1, 1]
    y = torch.linspace(-1.5, 1.5, 12).reshape(3, 4)
    out = denoise(ConstantEps(0.0), y, 0.3, 50)
    torch.testing.assert_close(out, y.clamp(-1, 1), atol=1e-5, rtol=0)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "dpmsolver++"])
def test_a_wild_denoiser_still_returns_data_range_outputs(sampler: str) -> None:
    y = 3 * torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    out = denoise(ConstantEps(5.0), y, 1.0, 10, torch.Generator().manual_seed(0), sampler)
    assert out.shape == y.shape and out.abs().max() <= 1.0


def test_window_diffusion_denoises_in_the_zero_one_scale() -> None:
    torch.manual_seed(0)
    model = WindowDiffusion(
        WindowDiffusionConfig(ConvDenoiser1dConfig(num_series=3, horizon=8, hidden=8, layers=2))
    )
    # the denoiser's head starts at zero: eps = 0, so the output is y, clamped to [0, 1]
    y = torch.rand(2, 8, 3) * 1.4 - 0.2
    out = model.denoise(y, 0.1, 20)
    torch.testing.assert_close(out, y.clamp(0, 1), atol=1e-5, rtol=0)


class ExactGaussianEps(torch.nn.Module):
    """The exact epsilon predictor for x_0 ~ N(0, v I): E[eps | x_t] = s / (a^2 v + s^2) x_t."""

    def __init__(self, variance: float) -> None:
        super().__init__()
        self.process = GaussianProcess(GaussianProcessConfig(schedule="cosine", data_range=None))
        self.variance = variance

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: object = None) -> torch.Tensor:
        a = self.process.sqrt_alphas_cumprod[t].double()[:, None]
        s = self.process.sqrt_one_minus_alphas_cumprod[t].double()[:, None]
        return (s / (a**2 * self.variance + s**2) * x_t.double()).float()


@pytest.mark.parametrize("t", [40, 300, 700])
def test_posterior_mean_is_the_gaussian_shrinkage_estimate(t: int) -> None:
    """For Gaussian data E[x_0 | y] = v / (v + sigma^2) y: Tweedie from the exact denoiser."""
    variance = 0.5
    model = ExactGaussianEps(variance)
    sigma = noise_level(model.process)[t].item()  # exactly on a timestep
    y = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    expected = variance / (variance + sigma**2) * y
    torch.testing.assert_close(posterior_mean(model, y, sigma), expected, rtol=1e-4, atol=1e-5)
