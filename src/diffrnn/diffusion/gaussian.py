"""Gaussian diffusion (Ho et al. 2020, DDPM): the forward process, training targets and the loss.

Symbols follow the DDPM paper once mapped: `beta_t` the noise added at step t,
`alpha_bar_t = prod_{s<=t} (1 - beta_s)`, and the forward marginal (eq. 4)

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)
    x_t = a_t x_0 + s_t eps,   a_t = sqrt(alpha_bar_t),  s_t = sqrt(1 - alpha_bar_t).

The network predicts one of three equivalent targets (diffusers' `prediction_type` names):
"epsilon" (eps), "sample" (x_0) or "v_prediction" (v = a_t eps - s_t x_0, Salimans & Ho 2022).
The beta schedules are diffusers' DDPMScheduler's ("linear" and the cosine "squaredcos_cap_v2"
of Nichol & Dhariwal 2021), so training and the diffusers samplers share one schedule.

The reverse process p(x_{t-1} | x_t) = N(mu_theta, Sigma_theta) has DDPM's fixed variance beta~_t
("fixed_small") or the variance improved DDPM learns (Nichol & Dhariwal 2021, eq. 15,
"learned_range"): the network outputs twice the data's channels, the second half v in [-1, 1]
giving Sigma_theta = exp(u log beta_t + (1 - u) log beta~_t), u = (v + 1) / 2, trained by the
hybrid loss L_simple + lambda L_vlb (eq. 16) with the mean's output held fixed in L_vlb.

`GaussianProcess` holds the schedule and the maths; `GaussianDiffusion` wraps any denoiser
`eps_model(x_t, t, cond)` into a trainable, saveable model (`loss(batch)`), with label dropout to
a null class for classifier-free guidance (Ho & Salimans 2022), and draws samples by the
library's contract (`sample(num_samples, generator=...)`, `diffrnn.generative`); the samplers
themselves live in `diffrnn.diffusion.sampling`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import torch
from torch import nn

from diffrnn.diffusion.likelihood import reverse_step_bits
from diffrnn.errors import ConfigError
from diffrnn.generative import class_labels, sample_method
from diffrnn.modeling import PretrainedMixin, config_from_dict, config_to_dict, resolve_class

Schedule = Literal["linear", "cosine"]
Prediction = Literal["epsilon", "sample", "v_prediction"]
Variance = Literal["fixed_small", "learned_range"]

# our schedule name -> diffusers' beta_schedule name
DIFFUSERS_BETA_SCHEDULE: dict[str, str] = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


def extract(values: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
    """`values[t]` shaped to broadcast against a (B, ...) tensor of `ndim` dimensions."""
    return values[t].reshape(t.shape[0], *([1] * (ndim - 1)))  # (B, 1, ..., 1)


MAX_TIMESTEPS = 100_000
"""Longest forward process accepted (DDPM uses 1000, improved DDPM 4000); diffusers computes the
schedule on the CPU in float64 (the cosine one with a Python loop: 0.12 CPU s for 100k steps,
median of 3)."""


@dataclass(frozen=True)
class GaussianProcessConfig:
    """The noise process and the training objective.

    Args:
        num_timesteps: T, the number of forward steps.
        schedule: "linear" (DDPM) or "cosine" (Nichol & Dhariwal; diffusers' squaredcos_cap_v2).
        beta_start, beta_end: ends of the linear schedule (unused by the cosine one).
        prediction: what the network predicts: "epsilon", "sample" (x_0) or "v_prediction".
        min_snr_gamma: if set, Min-SNR-gamma loss weighting (Hang et al. 2023), e.g. 5.0.
        data_range: the data lie in [-data_range, data_range]; samplers clip (DDPM, DDIM) or
            threshold (DPM-Solver++) their x_0 estimates there. None: unbounded data, no clipping.
        variance: the reverse process's variance: "fixed_small" (DDPM's beta~_t) or
            "learned_range" (improved DDPM: the network outputs twice the data's channels, the
            second half interpolating between beta~_t and beta_t in log space; diffusers'
            `variance_type`), trained with the hybrid loss.
        vlb_weight: lambda of the hybrid loss L_simple + lambda L_vlb (improved DDPM's 0.001),
            with L_vlb = T E_t[L_t] in bits/dim; used with "learned_range" only.
        bin_width: spacing of the data's levels (8x8 digits: 2/16); the hybrid loss's t = 0 term
            is then the discretised decoder NLL, as in the bound. None: continuous data, whose
            t = 0 term is the KL to q's posterior like every other step.
    """

    num_timesteps: int = 1000
    schedule: Schedule = "cosine"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    prediction: Prediction = "epsilon"
    min_snr_gamma: float | None = None
    data_range: float | None = 1.0
    variance: Variance = "fixed_small"
    vlb_weight: float = 1e-3
    bin_width: float | None = None

    def __post_init__(self) -> None:
        if self.variance not in get_args(Variance):
            raise ConfigError(
                f"variance must be one of {get_args(Variance)}, got {self.variance!r}.",
                "pick one of the listed variances.",
            )
        if self.vlb_weight < 0:
            raise ConfigError(f"vlb_weight must be >= 0, got {self.vlb_weight}.", "")
        if self.bin_width is not None and self.bin_width <= 0:
            raise ConfigError(f"bin_width must be > 0 or None, got {self.bin_width}.", "")
        if self.schedule not in get_args(Schedule):
            raise ConfigError(
                f"schedule must be one of {get_args(Schedule)}, got {self.schedule!r}.",
                "pick one of the listed schedules.",
            )
        if self.prediction not in get_args(Prediction):
            raise ConfigError(
                f"prediction must be one of {get_args(Prediction)}, got {self.prediction!r}.",
                "pick one of the listed targets.",
            )
        if not 2 <= self.num_timesteps <= MAX_TIMESTEPS:
            raise ConfigError(
                f"num_timesteps must be in [2, {MAX_TIMESTEPS}], got {self.num_timesteps}.", ""
            )

    def scheduler_kwargs(self) -> dict[str, Any]:
        """The diffusers scheduler arguments that reproduce this training schedule."""
        return {
            "num_train_timesteps": self.num_timesteps,
            "beta_schedule": DIFFUSERS_BETA_SCHEDULE[self.schedule],
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "prediction_type": self.prediction,
        }


def make_betas(config: GaussianProcessConfig) -> torch.Tensor:
    """The (T,) betas of diffusers' DDPMScheduler for `config`, in float64."""
    from diffusers import DDPMScheduler

    kwargs = config.scheduler_kwargs()
    kwargs.pop("prediction_type")
    return DDPMScheduler(**kwargs).betas.to(torch.float64)


class GaussianProcess(nn.Module):
    """The forward process q(x_t | x_0), its posterior, the targets and the loss.

    Buffers (all (T,), computed in float64, stored float32, not saved: they follow the config):
    betas, log_betas, alphas_cumprod, sqrt_alphas_cumprod (a_t),
    sqrt_one_minus_alphas_cumprod (s_t), alphas_cumprod_prev, posterior_variance (beta~_t, eq. 7),
    posterior_log_variance_clipped, posterior_mean_coef1/2 (eq. 7), snr (a_t^2 / s_t^2).
    """

    def __init__(self, config: GaussianProcessConfig) -> None:
        super().__init__()
        self.config = config
        betas = make_betas(config)  # (T,) float64
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
        posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        schedule = {
            "betas": betas,
            "log_betas": torch.log(betas),
            "alphas_cumprod": alphas_cumprod,
            "alphas_cumprod_prev": alphas_cumprod_prev,
            "sqrt_alphas_cumprod": alphas_cumprod.sqrt(),
            "sqrt_one_minus_alphas_cumprod": (1.0 - alphas_cumprod).sqrt(),
            "posterior_variance": posterior_variance,
            # beta~_0 = 0: DDPM uses beta~_1 for the t = 0 log-variance (the decoder's variance)
            "posterior_log_variance_clipped": torch.log(
                torch.cat([posterior_variance[1:2], posterior_variance[1:]])
            ),
            "posterior_mean_coef1": betas * alphas_cumprod_prev.sqrt() / (1.0 - alphas_cumprod),
            "posterior_mean_coef2": (1.0 - alphas_cumprod_prev)
            * (1.0 - betas).sqrt()
            / (1.0 - alphas_cumprod),
            "snr": alphas_cumprod / (1.0 - alphas_cumprod),
        }
        for name, value in schedule.items():
            self.register_buffer(name, value.to(torch.float32), persistent=False)

    @property
    def num_timesteps(self) -> int:
        return self.config.num_timesteps

    def sample_timesteps(
        self, batch: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Uniform training timesteps, (B,) int64 in [0, T)."""
        return torch.randint(
            0, self.num_timesteps, (batch,), generator=generator, device=self.betas.device
        )

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = a_t x_0 + s_t eps (eq. 4). x0, noise: (B, ...); t: (B,) -> (B, ...)."""
        a = extract(self.sqrt_alphas_cumprod, t, x0.ndim)
        s = extract(self.sqrt_one_minus_alphas_cumprod, t, x0.ndim)
        return a * x0 + s * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the network should output at (x_t, t) for the configured prediction. (B, ...)."""
        if self.config.prediction == "epsilon":
            return noise
        if self.config.prediction == "sample":
            return x0
        a = extract(self.sqrt_alphas_cumprod, t, x0.ndim)
        s = extract(self.sqrt_one_minus_alphas_cumprod, t, x0.ndim)
        return a * noise - s * x0  # v

    def split(
        self, x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_0, eps) implied by the network's `output` at (x_t, t); each (B, ...)."""
        a = extract(self.sqrt_alphas_cumprod, t, x_t.ndim)
        s = extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.ndim)
        if self.config.prediction == "epsilon":
            return (x_t - s * output) / a, output
        if self.config.prediction == "sample":
            return output, (x_t - a * output) / s
        return a * x_t - s * output, s * x_t + a * output  # from v

    def posterior(
        self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(x_{t-1} | x_t, x_0) (eq. 6-7); log-variance clipped at t=0."""
        mean = (
            extract(self.posterior_mean_coef1, t, x_t.ndim) * x0
            + extract(self.posterior_mean_coef2, t, x_t.ndim) * x_t
        )
        return mean, extract(self.posterior_log_variance_clipped, t, x_t.ndim)

    @property
    def learned_variance(self) -> bool:
        """Whether the network outputs the reverse variance too ("learned_range")."""
        return self.config.variance == "learned_range"

    def split_variance(self, output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the prediction (B, C, ...), v (B, C, ...) or None) from the network's output: with
        learned variances its channels are the prediction's C then v's C (diffusers' layout)."""
        if not self.learned_variance:
            return output, None
        if output.shape[1] % 2:
            raise ConfigError(
                f"variance='learned_range' needs a network that outputs twice the data's "
                f"channels, got {output.shape[1]} channels.",
                "build the denoiser with out_channels = 2 x channels (ddpm_digits(..., "
                "learned_variance=True)).",
            )
        prediction, v = output.chunk(2, dim=1)  # (B, C, ...) each
        return prediction, v

    def reverse_log_variance(
        self, t: torch.Tensor, v: torch.Tensor | None, ndim: int
    ) -> torch.Tensor:
        """log Sigma_theta(x_t, t) of p(x_{t-1} | x_t): beta~_t's (clipped at t = 0) for fixed
        variances, (B, 1, ..., 1); with learned ones (improved DDPM eq. 15)
        u log beta_t + (1 - u) log beta~_t, u = (v + 1) / 2, shaped like v (B, C, ...)."""
        fixed = extract(self.posterior_log_variance_clipped, t, ndim)
        if v is None:
            return fixed
        u = (v + 1.0) / 2.0
        return u * extract(self.log_betas, t, ndim) + (1.0 - u) * fixed

    def loss_weight(self, t: torch.Tensor) -> torch.Tensor:
        """Per-example weight (B,): 1, or Min-SNR-gamma expressed for the configured target."""
        if self.config.min_snr_gamma is None:
            return torch.ones_like(t, dtype=self.snr.dtype)
        snr = self.snr[t]
        clipped = snr.clamp(max=self.config.min_snr_gamma)
        if self.config.prediction == "epsilon":
            return clipped / snr
        if self.config.prediction == "sample":
            return clipped
        return clipped / (snr + 1.0)

    def loss(
        self, output: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        """Weighted MSE between `output` and the target, a scalar (mean over batch and dims)."""
        per_example = (output - self.target(x0, noise, t)).pow(2).flatten(1).mean(dim=1)  # (B,)
        return (self.loss_weight(t) * per_example).mean()

    def hybrid_loss(
        self,
        output: torch.Tensor,
        x0: torch.Tensor,
        x_t: torch.Tensor,
        noise: torch.Tensor,
        t: torch.Tensor,
    ) -> torch.Tensor:
        """Improved DDPM's L_hybrid = L_simple + lambda L_vlb (eq. 16), a scalar.

        L_simple is `loss` on the prediction half of `output` (B, 2C, ...); L_vlb = T L_t in
        bits/dim, L_t the KL of the learned p(x_{t-1} | x_t) to q's posterior (the decoder NLL
        at t = 0, `reverse_step_bits`), with the prediction detached (stop-gradient, sec. 3.1)
        so that L_vlb trains the variance only; x_t: (B, C, ...) the network's input.
        """
        prediction, v = self.split_variance(output)
        x0_hat, _ = self.split(x_t, t, prediction.detach())
        mean, _ = self.posterior(x0_hat, x_t, t)
        log_var = self.reverse_log_variance(t, v, x_t.ndim)
        vlb = reverse_step_bits(self, x0, x_t, t, mean, log_var, self.config.bin_width)  # (B,)
        weight = self.config.vlb_weight * self.num_timesteps
        return self.loss(prediction, x0, noise, t) + weight * vlb.mean()


@dataclass(frozen=True)
class GaussianDiffusionConfig:
    """A Gaussian diffusion model around a denoiser network.

    Args:
        process: the noise process and objective.
        denoiser: qualified class name of the network (`diffrnn.diffusion.unet.UNet`); it takes
            `(x_t (B, ...), t (B,), cond)` and returns a (B, ...) tensor.
        denoiser_config: that class's config as a dict (`config_to_dict`).
        num_classes: if set, `cond` is a (B,) class label and index `num_classes` is the null
            class used for classifier-free guidance.
        cond_drop_prob: probability of replacing a label by the null class during training.
    """

    process: GaussianProcessConfig = field(default_factory=GaussianProcessConfig)
    denoiser: str = "diffrnn.diffusion.unet.UNet"
    denoiser_config: dict[str, Any] = field(default_factory=dict)
    num_classes: int | None = None
    cond_drop_prob: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.cond_drop_prob < 1.0:
            raise ConfigError(f"cond_drop_prob must be in [0, 1), got {self.cond_drop_prob}.", "")
        if self.cond_drop_prob > 0 and self.num_classes is None:
            raise ConfigError(
                "cond_drop_prob > 0 needs class labels.", "set num_classes or cond_drop_prob=0."
            )


class GaussianDiffusion(PretrainedMixin, nn.Module):
    """Any denoiser trained as a Gaussian diffusion model.

    Batches are `x0` or `(x0,)` (unconditional) or `(x0, cond)`; x0 (B, ...) in the data scale
    (for images [-1, 1]). Train with `diffrnn.training.fit` (EMA via `TrainConfig(ema_decay=...)`),
    sample with `model.sample(num_samples, generator=...)` when the denoiser declares its
    `sample_shape`, else with `diffrnn.diffusion.sampling.sample(model, shape, ...)`.
    """

    config_class = GaussianDiffusionConfig

    def __init__(self, config: GaussianDiffusionConfig) -> None:
        super().__init__()
        self.config = config
        self.process = GaussianProcess(config.process)
        denoiser_class = resolve_class(config.denoiser)
        denoiser_config_class = getattr(denoiser_class, "config_class", None)
        if not (
            issubclass(denoiser_class, nn.Module)
            and dataclasses.is_dataclass(denoiser_config_class)
        ):
            raise ConfigError(
                f"denoiser {config.denoiser!r} is not a network with a config class.",
                "name a denoiser such as diffrnn.diffusion.unet.UNet.",
            )
        denoiser_config = config_from_dict(
            denoiser_config_class, config.denoiser_config, "denoiser_config"
        )
        self.denoiser = denoiser_class(denoiser_config)

    @classmethod
    def around(
        cls,
        denoiser_class: type[nn.Module],
        denoiser_config: Any,
        process: GaussianProcessConfig | None = None,
        num_classes: int | None = None,
        cond_drop_prob: float = 0.0,
    ) -> GaussianDiffusion:
        """Build a model from a denoiser class and its config object."""
        return cls(
            GaussianDiffusionConfig(
                process=process or GaussianProcessConfig(),
                denoiser=f"{denoiser_class.__module__}.{denoiser_class.__qualname__}",
                denoiser_config=config_to_dict(denoiser_config),
                num_classes=num_classes,
                cond_drop_prob=cond_drop_prob,
            )
        )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """The denoiser's output in the configured parametrisation. x_t: (B, ...), t: (B,)."""
        return self.denoiser(x_t, t, cond)

    def null_condition(self, cond: torch.Tensor) -> torch.Tensor:
        """The null-class labels matching `cond` (B,), for classifier-free guidance."""
        if self.config.num_classes is None:
            raise ConfigError(
                "guidance needs a class-conditional model.", "train with num_classes set."
            )
        return torch.full_like(cond, self.config.num_classes)

    @sample_method
    def sample(
        self,
        num_samples: int,
        *,
        generator: torch.Generator | None = None,
        sampler: str = "ddpm",
        steps: int | None = None,
        cond: Any = None,
        guidance_scale: float = 1.0,
        options: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        """Draw samples with a diffusers sampler (`diffrnn.diffusion.sampling.sample`).

        Args:
            num_samples: B.
            generator: seeds the initial noise and any stochastic step (None: the global RNG).
            sampler: "ddpm", "ddim", "dpmsolver++", "sde-dpmsolver++" or a scheduler class name.
            steps: denoising steps (None: the training T).
            cond: what the denoiser is conditioned on; for a class-conditional model (B,) labels
                in [0, num_classes), None giving balanced labels 0, 1, ..., 0, 1, ...
            guidance_scale: classifier-free guidance weight (1.0: none).
            options: arguments of the scheduler or of its step, by name.

        Returns:
            (B, *denoiser.sample_shape) samples in the data scale, e.g. (B, 1, 8, 8) in [-1, 1].
        """
        from diffrnn.diffusion.sampling import sample

        shape = getattr(self.denoiser, "sample_shape", None)
        if shape is None:
            raise ConfigError(
                f"{type(self.denoiser).__name__} does not say the shape of one sample.",
                "call diffrnn.diffusion.sampling.sample(model, shape, ...) with the shape.",
            )
        if self.config.num_classes is not None:
            device = self.process.betas.device
            cond = class_labels(num_samples, cond, self.config.num_classes, device)
        return sample(
            self,
            (num_samples, *shape),
            sampler,
            steps,
            generator,
            cond,
            guidance_scale,
            options=options,
        )

    def loss(self, batch: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """The diffusion training loss on one batch (a scalar): the (weighted) MSE, or with
        learned variances improved DDPM's hybrid loss."""
        x0, cond = _unpack(batch)
        if cond is not None and self.training and self.config.cond_drop_prob > 0:
            drop = torch.rand(cond.shape[0], device=cond.device) < self.config.cond_drop_prob
            cond = torch.where(drop, self.null_condition(cond), cond)
        t = self.process.sample_timesteps(x0.shape[0])
        noise = torch.randn_like(x0)
        x_t = self.process.q_sample(x0, t, noise)
        output = self.denoiser(x_t, t, cond)
        if self.process.learned_variance:
            return self.process.hybrid_loss(output, x0, x_t, noise, t)
        return self.process.loss(output, x0, noise, t)


def _unpack(batch: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, Any]:
    """(x0, cond) from a tensor or a (x0,) / (x0, cond) sequence."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    return batch[0], (batch[1] if len(batch) > 1 else None)
