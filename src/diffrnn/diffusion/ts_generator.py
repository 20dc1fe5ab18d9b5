"""Unconditional generation of multivariate windows (e.g. ETTh1, 24 steps x 7 channels) by
Gaussian diffusion with the 1-D convolutional denoiser.

Windows come min-max scaled to [0, 1] (the TimeGAN protocol); the diffusion runs on 2x - 1 in
[-1, 1], so the samplers clip (DDPM, DDIM) or threshold (DPM-Solver++) their x_0 estimates to the
data range, and samples are mapped back to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from diffrnn.diffusion.denoisers_1d import ConvDenoiser1d, ConvDenoiser1dConfig
from diffrnn.diffusion.gaussian import GaussianDiffusion, GaussianProcessConfig
from diffrnn.diffusion.sdedit import denoise, posterior_mean
from diffrnn.generative import sample_method
from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick


def generator_process() -> GaussianProcessConfig:
    """Cosine schedule, epsilon prediction, data in [-1, 1]."""
    return GaussianProcessConfig(schedule="cosine", prediction="epsilon", data_range=1.0)


@dataclass(frozen=True)
class WindowDiffusionConfig:
    """Args:
    denoiser: the 1-D denoiser with `context=0`; `horizon` is the window length T.
    process: noise schedule and target (data_range 1: samples are clipped to [-1, 1]).
    sampler: default diffusers sampler of `sample`.
    sampler_steps: its number of steps.
    """

    denoiser: ConvDenoiser1dConfig = field(default_factory=ConvDenoiser1dConfig)
    process: GaussianProcessConfig = field(default_factory=generator_process)
    sampler: str = "dpmsolver++"
    sampler_steps: int = 20

    def __post_init__(self) -> None:
        if self.denoiser.context != 0:
            raise ValueError(
                f"an unconditional generator has context 0, got {self.denoiser.context}"
            )
        if self.process.data_range != 1.0:
            raise ValueError(
                "windows are mapped to [-1, 1]: data_range must be 1.0, "
                f"got {self.process.data_range}"
            )


class WindowDiffusion(PretrainedMixin, nn.Module):
    """Diffusion over (B, T, D) windows in [0, 1]. Batches are windows or (windows,)."""

    config_class = WindowDiffusionConfig

    def __init__(self, config: WindowDiffusionConfig) -> None:
        super().__init__()
        self.config = config
        self.diffusion = GaussianDiffusion.around(ConvDenoiser1d, config.denoiser, config.process)

    def loss(self, batch: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Diffusion loss on windows in [0, 1] (a scalar)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch  # (B, T, D)
        return self.diffusion.loss(2.0 * x - 1.0)

    @sample_method
    def sample(
        self,
        num_samples: int,
        *,
        generator: torch.Generator | None = None,
        sampler: str | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """Draw windows (the library's generative contract, `diffrnn.generative`).

        Args:
            num_samples: B.
            generator: seeds the noise (None: the global RNG).
            sampler, steps: override the config's `sampler` and `sampler_steps`.

        Returns:
            (B, T, D) windows in [0, 1].
        """
        x = self.diffusion.sample(
            num_samples,
            generator=generator,
            sampler=sampler or self.config.sampler,
            steps=steps or self.config.sampler_steps,
        )  # (B, T, D) in [-1, 1]
        return ((x + 1.0) / 2.0).clamp(0.0, 1.0)

    @torch.no_grad()
    def denoise(
        self,
        y: torch.Tensor,
        sigma: float,
        steps: int,
        generator: torch.Generator | None = None,
        sampler: str = "ddim",
    ) -> torch.Tensor:
        """Estimate clean windows from y = x + sigma eps, all in the [0, 1] scale: (B, T, D).

        The diffusion runs on 2x - 1, where the noise sd is 2 sigma (`sdedit.denoise`).
        """
        self.eval()
        x = denoise(self.diffusion, 2.0 * y - 1.0, 2.0 * sigma, steps, generator, sampler)
        return (x + 1.0) / 2.0  # in [0, 1]: `denoise` clamps to the process's range

    @torch.no_grad()
    def posterior_mean(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """E[x | y] for y = x + sigma eps, all in the [0, 1] scale (`sdedit.posterior_mean`)."""
        self.eval()
        x = posterior_mean(self.diffusion, 2.0 * y - 1.0, 2.0 * sigma)
        return (x + 1.0) / 2.0


def window_diffusion(
    size: Size = "full", num_series: int = 7, length: int = 24
) -> WindowDiffusionConfig:
    """The window diffusion presets (windows of `length` steps of `num_series` series): a 1-D
    conv denoiser of 6 blocks of 64 channels ("full") or 3 of 16 ("quick"), dilations cycling
    1, 2, 4, 8."""
    presets = {"quick": (16, 3), "full": (64, 6)}
    hidden, layers = pick(size, presets)
    denoiser = ConvDenoiser1dConfig(
        num_series=num_series, horizon=length, hidden=hidden, layers=layers, dilation_cycle=4
    )
    return WindowDiffusionConfig(denoiser)
