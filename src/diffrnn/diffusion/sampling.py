"""One sampling function for every Gaussian diffusion model, driving diffusers' schedulers.

    x = sample(model, (64, 1, 8, 8), sampler="dpmsolver++", steps=10, generator=g)

`sampler` is "ddpm" (DDPMScheduler, ancestral, Ho et al. 2020), "ddim" (DDIMScheduler, eta=0,
Song et al. 2021), "dpmsolver++" (DPMSolverMultistepScheduler with algorithm_type="dpmsolver++",
Lu et al. 2022: the probability-flow ODE), "sde-dpmsolver++" (the same solver for the reverse
SDE, algorithm_type="sde-dpmsolver++", Lu et al. 2022 sec. 5: stochastic like DDPM) or the class
name of any other diffusers scheduler ("EulerDiscreteScheduler", "UniPCMultistepScheduler", ...).
Each is built from the model's training schedule; none is re-implemented here.

Bounded data (`GaussianProcessConfig.data_range`) is kept in range the way each scheduler offers:
`clip_sample` for DDPM/DDIM and `thresholding` for DPM-Solver++ (without it, the cosine schedule's
tiny alpha at the noisiest step sends DPM-Solver++'s first x_0 estimate far out of range).
DDIM steps with `use_clipped_model_output=True`: by default diffusers' DDIM clips its x_0 estimate
but keeps the network's raw noise estimate, so each clipped step leaves the forward path of the
clipped x_0, and the error grows with the number of steps (digits, one model, 4 seeds: FD 9.1 at
20 steps, 12.1 at 50, 37 at 250); with the noise re-derived from the clipped x_0, as DDPM's
posterior and DPM-Solver++'s data-prediction update do implicitly, 8.6 at both 20 and 50.

Schedulers that offer neither (Euler, LMS, KDPM2, ...) get the same effect
from `sample` itself: the network's output is replaced by the one whose x_0 estimate is the
clipped estimate (`_clipped_output`). Without it, on the cosine schedule sigma_max =
s_T / a_T is about 2e4, an error of 1e-3 in the first noise estimate is an x_0 error of 20, and
briefly trained digits models returned values up to +-2e4 from EulerDiscreteScheduler (FD 131
against DDPM's 34 after clamping; `benchmarks/digits_schedulers.py`).

Only schedulers that run a variance-preserving, discrete-beta reverse process are accepted
(`SCHEDULERS`); diffusers' others (flow matching, EDM and variance-exploding schedules,
inversion, consistency and masked-token samplers) are refused by name with one line, and so are
the five that run our schedule but gave unusable digits (`UNFIT`, each with its measurement).

A model with learned variances (`GaussianProcessConfig.variance = "learned_range"`, improved
DDPM) outputs its prediction and v; DDPM's ancestral schedulers (`VARIANCE_SCHEDULERS`) draw each
step from the learned variance (diffusers' `variance_type="learned_range"`), every other scheduler
takes the prediction alone (its own variance, or none for the ODE solvers), and guidance and
clipping act on the prediction.

A denoiser is anything with a `process` (`GaussianProcess`) attribute that maps
`(x_t (B, ...), t (B,), cond)` to its output in `process.config.prediction`'s parametrisation;
classifier-free guidance (guidance_scale != 1) also needs `null_condition(cond)`.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

import torch

from diffrnn.diffusion.gaussian import GaussianProcess
from diffrnn.errors import ConfigError

# our sampler name -> (diffusers class name, extra arguments)
SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ddpm": ("DDPMScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "dpmsolver++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "sde-dpmsolver++": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
}


SCHEDULERS = (
    "DDPMScheduler",
    "DDPMParallelScheduler",
    "DDIMScheduler",
    "DDIMParallelScheduler",
    "DEISMultistepScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "LCMScheduler",
    "LMSDiscreteScheduler",
    "SASolverScheduler",
    "UniPCMultistepScheduler",
)
"""The diffusers schedulers `sample` drives: each runs the reverse process of the model's own
discrete-beta (variance-preserving) schedule, and each was measured on a digits DDPM
(BENCHMARKS.md, "Every scheduler by name")."""


UNFIT = {
    "HeunDiscreteScheduler": "its trapezoid step from sigma_max (2e4 on the cosine schedule) "
    "leaves the clipped x_0 (digits FD 897 against Euler's 68)",
    "IPNDMScheduler": "it uses a schedule of its own, not the model's betas (NaN on digits)",
    "KDPM2AncestralDiscreteScheduler": "its ancestral second-order step drifts from the clipped "
    "x_0 (digits FD 447 against Euler-ancestral's 34)",
    "PNDMScheduler": "its multistep noise extrapolation leaves the data range (+-1.3e5 on digits)",
    "TCDScheduler": "it samples trajectory-consistency-distilled models (+-2e4 on digits)",
}
"""Schedulers that run the model's schedule but gave unusable samples (same digits model, 20
steps; `benchmarks/digits_schedulers.py`), refused with the reason."""


VARIANCE_SCHEDULERS = ("DDPMScheduler", "DDPMParallelScheduler")
"""The schedulers whose step draws x_{t-1} from a learned variance (diffusers' `variance_type=
"learned_range"`, Nichol & Dhariwal 2021 eq. 15); diffusers' DPM-Solver schedulers accept the
argument too but only drop the variance channels (assuming 3 image channels). The last step
(to x_0) adds no noise, as in improved DDPM's sampler: on a grid that ends above t = 0
("trailing") diffusers would interpolate its variance between beta_t and 1e-20 in log space,
adding up to sqrt(1 - alpha_bar_t) of noise to the final sample; v = -1 there picks beta~ = 0."""


class Denoiser(Protocol):
    """What `sample` drives: a network with its training noise process."""

    process: GaussianProcess

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor: ...


def scheduler_class(sampler: str) -> type:
    """The diffusers scheduler class behind our sampler name or a diffusers class name."""
    import diffusers
    from diffusers import SchedulerMixin

    name = SAMPLERS.get(sampler, (sampler, {}))[0]
    found = getattr(diffusers, name, None) if isinstance(name, str) else None
    if not (isinstance(found, type) and issubclass(found, SchedulerMixin)):
        raise ConfigError(
            f"sampler must be one of {sorted(SAMPLERS)} or a diffusers scheduler class name, "
            f"got {sampler!r}.",
            "e.g. sampler='dpmsolver++' or sampler='EulerDiscreteScheduler'.",
        )
    if name not in SCHEDULERS:
        why = UNFIT.get(name, "it is not a sampler of a discrete-beta, variance-preserving model")
        raise ConfigError(
            f"{name} cannot sample this model: {why}.",
            f"use one of {', '.join(sorted(SAMPLERS))} or {', '.join(SCHEDULERS)}.",
        )
    return found


def make_scheduler(
    process: GaussianProcess, sampler: str, options: dict[str, Any] | None = None
) -> Any:
    """A diffusers scheduler for `sampler`, configured with the process's training schedule.

    Timesteps are spaced "trailing" (Lin et al. 2024) so every sampler starts at t = T - 1.
    `options` are further arguments of the scheduler's constructor; they override ours.
    """
    found = scheduler_class(sampler)
    data_range = process.config.data_range
    wanted = {
        **process.config.scheduler_kwargs(),
        "timestep_spacing": "trailing",
        "clip_sample": data_range is not None,
        "clip_sample_range": data_range or 1.0,
        **SAMPLERS.get(sampler, (sampler, {}))[1],
    }
    if process.learned_variance and found.__name__ in VARIANCE_SCHEDULERS:
        wanted["variance_type"] = "learned_range"
    accepted = inspect.signature(found.__init__).parameters
    if data_range is not None and "clip_sample" not in accepted and "thresholding" in accepted:
        wanted.update(thresholding=True, sample_max_value=data_range)
    unknown = sorted(set(options or {}) - set(accepted))
    if unknown:
        raise ConfigError(
            f"{found.__name__} takes no argument {', '.join(unknown)}.",
            f"pass arguments of {found.__name__}.__init__ or of its step().",
        )
    wanted = {k: v for k, v in wanted.items() if k in accepted}
    return found(**{**wanted, **(options or {})})


@torch.no_grad()
def sample(
    denoiser: Denoiser,
    shape: tuple[int, ...],
    sampler: str = "ddpm",
    steps: int | None = None,
    generator: torch.Generator | None = None,
    cond: Any = None,
    guidance_scale: float = 1.0,
    start_t: int | None = None,
    x_start: torch.Tensor | None = None,
    options: dict[str, Any] | None = None,
) -> torch.Tensor:
    """Draw samples by running a diffusers scheduler's reverse process.

    Args:
        denoiser: the model (see `Denoiser`); put in eval mode by the caller.
        shape: (B, ...) of the samples.
        sampler: "ddpm", "ddim", "dpmsolver++" or a diffusers scheduler class name.
        steps: number of denoising steps (None: the training T).
        generator: seeds the initial noise and any stochastic step.
        cond: conditioning passed to the denoiser (e.g. (B,) class labels).
        guidance_scale: classifier-free guidance weight w: out = out_null + w (out_cond - out_null);
            1.0 is plain conditional sampling.
        start_t: begin the reverse process at this training timestep instead of T - 1 (SDEdit /
            noise reduction); only scheduler timesteps <= start_t are run.
        x_start: (B, ...) a draw of q(x_{start_t} | x_0) in the process's (variance-preserving)
            scale; required with `start_t`.
        options: arguments of the scheduler's constructor (e.g. `lambda_min_clipped`,
            `algorithm_type`, `clip_sample`) or of its `step` (e.g. DDIM's `eta`), by name.

    Returns:
        (B, ...) samples in the data scale.
    """
    if (start_t is None) != (x_start is None):
        raise ConfigError("start_t and x_start go together.", "pass both or neither.")
    process = denoiser.process
    options = options or {}
    step_names = set(inspect.signature(scheduler_class(sampler).step).parameters) - _DRIVEN
    step_options = {k: v for k, v in options.items() if k in step_names}
    scheduler = make_scheduler(
        process, sampler, {k: v for k, v in options.items() if k not in step_names}
    )
    scheduler.set_timesteps(steps or process.num_timesteps)
    timesteps = scheduler.timesteps
    device = process.betas.device
    if start_t is None:
        x = torch.randn(shape, generator=generator).to(device) * scheduler.init_noise_sigma
    else:
        begin = int((timesteps <= start_t).nonzero()[0])
        timesteps = timesteps[begin:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(begin)
        x = x_start.to(device)
        if float(scheduler.init_noise_sigma) != 1.0:
            # a k-diffusion style scheduler works in x_0 + sigma eps = x_t / a_t
            x = x / process.sqrt_alphas_cumprod[start_t]
    step_kwargs = {"generator": generator} if _accepts(scheduler.step, "generator") else {}
    if _accepts(scheduler.step, "use_clipped_model_output"):
        step_kwargs["use_clipped_model_output"] = True  # see the module docstring
    step_kwargs.update(step_options)
    guided = guidance_scale != 1.0
    null = denoiser.null_condition(cond) if guided else None  # type: ignore[attr-defined]
    clips_itself = any(getattr(scheduler.config, k, False) for k in ("clip_sample", "thresholding"))
    data_range = None if clips_itself else process.config.data_range
    uses_variance = getattr(scheduler.config, "variance_type", None) == "learned_range"
    for t in timesteps:
        x_in = scheduler.scale_model_input(x, t)
        t_batch = t.expand(shape[0]).to(device)  # (B,)
        if guided:
            out_cond, out_null = denoiser(
                torch.cat([x_in, x_in]), torch.cat([t_batch, t_batch]), torch.cat([cond, null])
            ).chunk(2)
            pred_cond, v = process.split_variance(out_cond)  # the conditional variance
            pred_null, _ = process.split_variance(out_null)
            output = pred_null + guidance_scale * (pred_cond - pred_null)
        else:
            output, v = process.split_variance(denoiser(x_in, t_batch, cond))
        if data_range is not None:
            output = _clipped_output(scheduler, process, output, x_in, t, data_range)
        if uses_variance:
            if scheduler.previous_timestep(t) < 0:
                v = torch.full_like(v, -1.0)  # see VARIANCE_SCHEDULERS: the last step adds no noise
            output = torch.cat([output, v], dim=1)  # (B, 2C, ...): diffusers splits it again
        x = _step(scheduler, output, t, x, step_kwargs)
    return x


_DRIVEN = {"self", "model_output", "timestep", "sample", "generator", "return_dict"}
"""Arguments of a scheduler's `step` that `sample` itself passes."""


def _step(
    scheduler: Any, output: torch.Tensor, t: torch.Tensor, x: torch.Tensor, kwargs: dict[str, Any]
) -> torch.Tensor:
    """One scheduler step; (B, D) vectors go through as (B, D, 1) because diffusers'
    `_threshold_sample` cannot reshape a sample without spatial dimensions."""
    if x.ndim == 2:
        return scheduler.step(output[..., None], t, x[..., None], **kwargs).prev_sample[..., 0]
    return scheduler.step(output, t, x, **kwargs).prev_sample


def _clipped_output(
    scheduler: Any,
    process: GaussianProcess,
    output: torch.Tensor,
    x_in: torch.Tensor,
    t: torch.Tensor,
    data_range: float,
) -> torch.Tensor:
    """The network output (B, ...) whose x_0 estimate is the clipped one, for a scheduler that
    does not clip: with x_t = a x_0 + s eps (the network's input), x_0 = (x_t - s eps) / a is
    clipped to the data range and eps re-derived from it (Ho et al. 2020 eq. 15 solved for eps;
    as DDIM's `use_clipped_model_output`); v = a eps - s x_0 (Salimans & Ho 2022) likewise."""
    if float(scheduler.init_noise_sigma) != 1.0:  # sigma-based: x_t = x_in scaled by a
        a = float(scheduler.scale_model_input(torch.ones(()), t))
    else:
        a = float(process.sqrt_alphas_cumprod[int(t)])
    s = (1.0 - a * a) ** 0.5
    prediction = process.config.prediction
    if prediction == "sample":
        return output.clamp(-data_range, data_range)
    x0 = (x_in - s * output) / a if prediction == "epsilon" else a * x_in - s * output  # v
    x0 = x0.clamp(-data_range, data_range)
    eps = (x_in - a * x0) / s
    return eps if prediction == "epsilon" else a * eps - s * x0


def _accepts(fn: Any, name: str) -> bool:
    """Whether callable `fn` takes a parameter called `name`."""
    return name in inspect.signature(fn).parameters
