"""Noise reduction with a learned diffusion prior: the reverse process from the matching noise
level (SDEdit, Meng et al. 2022; the Gaussian-denoising case of DDRM, Kawar et al. 2022).

An observation y = x_0 + sigma eps is, scaled by a_t = sqrt(alpha_bar_t), a draw of the forward
marginal q(x_t | x_0) = N(a_t x_0, s_t^2 I) (DDPM eq. 4) at the t where s_t / a_t = sigma:

    a_t y = a_t x_0 + a_t sigma eps,   a_t sigma = s_t.

So the reverse process starts from x_t = a_t y at that t (the nearest timestep of the sampler's
grid) and runs to t = 0: `denoise` returns one draw of a clean signal consistent with y.

The network's own x_0 prediction at that (x_t, t) is, for a trained model, the posterior mean
E[x_0 | x_t] (Tweedie's formula: the epsilon/x_0 regression targets are conditional means), which
minimises the expected squared error, hence maximises PSNR, in one network evaluation:
`posterior_mean`. A reverse-process draw is sharper (it lies on the data manifold) but, being a
sample rather than the mean, has up to twice the mean's expected squared error.

    x0 = denoise(model, y, sigma=0.6, steps=100)   # y (B, ...) in the model's data scale
    x0_mmse = posterior_mean(model, y, sigma=0.6)
"""

from __future__ import annotations

import torch

from diffrnn.diffusion.gaussian import GaussianProcess
from diffrnn.diffusion.sampling import Denoiser, make_scheduler, sample


def noise_level(process: GaussianProcess) -> torch.Tensor:
    """sigma_t = s_t / a_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) of every timestep: (T,)."""
    return (1.0 - process.alphas_cumprod).sqrt() / process.sqrt_alphas_cumprod


def matching_timestep(process: GaussianProcess, sigma: float, steps: int, sampler: str) -> int:
    """The timestep of `sampler`'s `steps`-step grid whose noise level is nearest `sigma`."""
    grid = make_scheduler(process, sampler)
    grid.set_timesteps(steps)
    levels = noise_level(process)[grid.timesteps]  # (steps,)
    return int(grid.timesteps[(levels - sigma).abs().argmin()])


@torch.no_grad()
def denoise(
    denoiser: Denoiser,
    y: torch.Tensor,
    sigma: float,
    steps: int,
    generator: torch.Generator | None = None,
    sampler: str = "ddim",
) -> torch.Tensor:
    """Estimate x_0 from y = x_0 + sigma eps by the reverse process from the matching level.

    Args:
        denoiser: a trained diffusion model (see `sampling.Denoiser`), in eval mode.
        y: (B, ...) noisy data in the model's data scale.
        sigma: the noise standard deviation in that scale.
        steps: size of the sampler's (trailing) timestep grid; only its timesteps at or below
            the matching one are run.
        generator: seeds any stochastic step (DDIM, the default, has none).
        sampler: "ddim", "ddpm", "dpmsolver++" or a diffusers scheduler class name.

    Returns:
        (B, ...) estimates, clamped to [-data_range, data_range] when the process is bounded.
    """
    process = denoiser.process
    t_star = matching_timestep(process, sigma, steps, sampler)
    x_start = process.sqrt_alphas_cumprod[t_star] * y  # (B, ...)
    x0 = sample(
        denoiser, tuple(y.shape), sampler, steps, generator, start_t=t_star, x_start=x_start
    )
    bound = process.config.data_range
    return x0 if bound is None else x0.clamp(-bound, bound)


@torch.no_grad()
def posterior_mean(denoiser: Denoiser, y: torch.Tensor, sigma: float) -> torch.Tensor:
    """E[x_0 | y] for y = x_0 + sigma eps from one network evaluation (Tweedie's formula).

    Evaluates the network at x_t = a_t y at the timestep t of the full schedule whose noise level
    s_t / a_t is nearest `sigma`, and returns its x_0 estimate.

    Args:
        denoiser: a trained diffusion model, in eval mode.
        y: (B, ...) noisy data in the model's data scale.
        sigma: the noise standard deviation in that scale.

    Returns:
        (B, ...) estimates, clamped to [-data_range, data_range] when the process is bounded.
    """
    process = denoiser.process
    t_star = int((noise_level(process) - sigma).abs().argmin())
    x_t = process.sqrt_alphas_cumprod[t_star] * y  # (B, ...)
    t = torch.full((y.shape[0],), t_star, dtype=torch.long, device=y.device)
    prediction, _ = process.split_variance(denoiser(x_t, t))
    x0, _ = process.split(x_t, t, prediction)
    bound = process.config.data_range
    return x0 if bound is None else x0.clamp(-bound, bound)
