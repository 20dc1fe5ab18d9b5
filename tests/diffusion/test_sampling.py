"""`sample` against hand-driven diffusers loops, determinism, data range, guidance, SDEdit start."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from torch import nn

from diffrnn.diffusion.gaussian import GaussianProcess, GaussianProcessConfig
from diffrnn.diffusion.sampling import SAMPLERS, SCHEDULERS, make_scheduler, sample
from diffrnn.errors import ConfigError

ALL = (
    "ddpm",
    "ddim",
    "dpmsolver++",
    "sde-dpmsolver++",
    "EulerDiscreteScheduler",
    "UniPCMultistepScheduler",
)
OVERSHOOT = 1.1
"""How far past the data range a multistep solver's last update may land (each x_0 estimate is
clipped; their extrapolation is not): DEIS reached 1.07 on the digits model."""


class TinyDenoiser(nn.Module):
    """A fixed random network eps(x_t, t) with its training process."""

    def __init__(self, config: GaussianProcessConfig) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.process = GaussianProcess(config)
        self.net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 4))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        tt = (t.float() / self.process.num_timesteps)[:, None]  # (B, 1)
        flat = x_t.reshape(x_t.shape[0], 4)  # (B, 4)
        return self.net(torch.cat([flat, tt], dim=1)).reshape(x_t.shape)


class OracleX0(nn.Module):
    """Predicts x_0 = value[cond] whatever x_t is (prediction="sample"); label 2 is null -> 0."""

    def __init__(self, values: tuple[float, ...] = (-0.2, 0.3, 0.0)) -> None:
        super().__init__()
        self.process = GaussianProcess(GaussianProcessConfig(prediction="sample"))
        self.values = torch.tensor(values)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        value = self.values[cond] if cond is not None else torch.full((x_t.shape[0],), 0.4)
        return value[:, None].expand_as(x_t)

    def null_condition(self, cond: torch.Tensor) -> torch.Tensor:
        return torch.full_like(cond, 2)


def _hand_loop(
    scheduler: Any, model: TinyDenoiser, steps: int, seed: int, **step_kwargs: Any
) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    scheduler.set_timesteps(steps)
    x = torch.randn((3, 1, 4), generator=generator)
    for t in scheduler.timesteps:
        out = model(x, t.expand(3))
        x = scheduler.step(out, t, x, generator=generator, **step_kwargs).prev_sample
    return x


@pytest.mark.parametrize(
    ("sampler", "reference_class", "steps", "bounds"),
    [
        ("ddpm", DDPMScheduler, 50, {"clip_sample": True}),
        ("ddim", DDIMScheduler, 10, {"clip_sample": True}),
        ("dpmsolver++", DPMSolverMultistepScheduler, 7, {"thresholding": True}),
        (
            "sde-dpmsolver++",
            DPMSolverMultistepScheduler,
            7,
            {"thresholding": True, "algorithm_type": "sde-dpmsolver++"},
        ),
    ],
)
def test_sample_equals_hand_driven_diffusers(
    sampler: str, reference_class: type, steps: int, bounds: dict[str, Any]
) -> None:
    config = GaussianProcessConfig(schedule="cosine", prediction="v_prediction")
    model = TinyDenoiser(config)
    reference = reference_class(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="v_prediction",
        timestep_spacing="trailing",
        **bounds,
    )
    step_kwargs = {"use_clipped_model_output": True} if sampler == "ddim" else {}
    expected = _hand_loop(reference, model, steps, seed=3, **step_kwargs)
    got = sample(model, (3, 1, 4), sampler, steps=steps, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_options_reach_the_scheduler_and_its_step() -> None:
    config = GaussianProcessConfig(schedule="cosine", prediction="v_prediction")
    model = TinyDenoiser(config)
    reference = DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="v_prediction",
        timestep_spacing="leading",
        clip_sample=True,
    )
    expected = _hand_loop(reference, model, 10, seed=3, eta=1.0, use_clipped_model_output=True)
    got = sample(
        model,
        (3, 1, 4),
        "ddim",
        steps=10,
        generator=torch.Generator().manual_seed(3),
        options={"eta": 1.0, "timestep_spacing": "leading"},
    )
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    with pytest.raises(ConfigError, match="lambda_min_clipped"):
        sample(model, (3, 1, 4), "ddim", steps=10, options={"lambda_min_clipped": -5.1})


def test_ddim_keeps_a_clipped_x0_on_its_forward_path() -> None:
    # the network's x_0 estimate is 3 everywhere, outside the data range [-1, 1]; DDIM clips it
    # to 1 and must then move along the forward path of x_0 = 1 with the noise it started from:
    # every x_t it visits is a_t * 1 + s_t * eps_0, eps_0 = (x_T - a_T) / s_T
    model = OracleX0()
    model.forward = lambda x, t, c=None: torch.full_like(x, 3.0)  # type: ignore[method-assign]
    visited: list[tuple[int, torch.Tensor]] = []
    forward = model.forward
    model.forward = lambda x, t, c=None: visited.append((int(t[0]), x)) or forward(x, t, c)  # type: ignore[method-assign]
    out = sample(model, (4, 3), "ddim", steps=50, generator=torch.Generator().manual_seed(0))
    a, s = model.process.sqrt_alphas_cumprod, model.process.sqrt_one_minus_alphas_cumprod
    t_first, x_first = visited[0]
    eps0 = (x_first - a[t_first]) / s[t_first]
    for t, x in visited[1:]:
        torch.testing.assert_close(x, a[t] + s[t] * eps0, atol=1e-4, rtol=0)
    torch.testing.assert_close(out, torch.ones(4, 3))


@pytest.mark.parametrize("sampler", ALL)
def test_every_sampler_is_deterministic_finite_and_in_range(sampler: str) -> None:
    model = TinyDenoiser(GaussianProcessConfig())
    draw = lambda seed: sample(  # noqa: E731
        model, (8, 4), sampler, steps=12, generator=torch.Generator().manual_seed(seed)
    )
    a, b, c = draw(0), draw(0), draw(1)
    assert a.shape == (8, 4) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    if sampler in SAMPLERS:
        assert a.abs().max() <= 1.0 + 1e-6


@pytest.mark.parametrize("name", SCHEDULERS)
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_every_accepted_scheduler_stays_finite_and_in_range(name: str, prediction: str) -> None:
    """Issue 15 item 5: on the cosine schedule sigma_max is about 2e4, and a scheduler without
    clipping of its own (Euler: +-2e4 on a digits DDPM) now steps from the clipped x_0."""
    model = TinyDenoiser(GaussianProcessConfig(schedule="cosine", prediction=prediction))
    x = sample(model, (8, 4), name, steps=6, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(x).all()
    assert x.abs().max() <= OVERSHOOT, float(x.abs().max())
    assert x.std() > 0.05  # not collapsed


def _every_diffusers_scheduler() -> list[str]:
    import diffusers

    return [
        name
        for name in dir(diffusers)
        if name.endswith("Scheduler") and name not in SCHEDULERS and name[0] != "_"
    ]


@pytest.mark.parametrize("name", _every_diffusers_scheduler())
def test_every_other_diffusers_scheduler_is_one_clear_refusal(name: str) -> None:
    model = TinyDenoiser(GaussianProcessConfig())
    with pytest.raises(ConfigError) as refused:
        sample(model, (2, 4), name, steps=3)
    assert "\n" not in str(refused.value)


def test_unbounded_data_disables_clipping() -> None:
    scheduler = make_scheduler(GaussianProcess(GaussianProcessConfig(data_range=None)), "ddpm")
    assert scheduler.config.clip_sample is False
    dpm = make_scheduler(GaussianProcess(GaussianProcessConfig(data_range=2.0)), "dpmsolver++")
    assert dpm.config.thresholding is True and dpm.config.sample_max_value == 2.0
    assert dpm.config.algorithm_type == "dpmsolver++"


def test_unknown_sampler_names_the_allowed_ones() -> None:
    model = TinyDenoiser(GaussianProcessConfig())
    with pytest.raises(ValueError, match=r"'ddim', 'ddpm', 'dpmsolver\+\+'"):
        sample(model, (2, 4), "euler-maruyama")
    with pytest.raises(ConfigError):
        sample(model, (2, 4), "UNet2DModel")


@pytest.mark.parametrize("sampler", ["ddim", "dpmsolver++"])
def test_guidance_extrapolates_from_the_null_output(sampler: str) -> None:
    # x0-prediction with an oracle: the last step returns the (guided) x0 estimate itself
    out = sample(
        OracleX0(),
        (4, 3),
        sampler,
        steps=5,
        cond=torch.ones(4, dtype=torch.long),
        guidance_scale=2.5,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(out, torch.full((4, 3), 2.5 * 0.3))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmsolver++"])
def test_partial_reverse_process_starts_at_start_t(sampler: str) -> None:
    model = OracleX0()
    x_start = model.process.q_sample(
        torch.full((4, 3), 0.4), torch.full((4,), 200), torch.randn(4, 3)
    )
    calls: list[int] = []
    forward = model.forward
    model.forward = lambda x, t, c=None: calls.append(int(t[0])) or forward(x, t, c)  # type: ignore[method-assign]
    out = sample(
        model,
        (4, 3),
        sampler,
        steps=1000 if sampler == "ddpm" else 50,
        start_t=200,
        x_start=x_start,
        generator=torch.Generator().manual_seed(0),
    )
    assert 180 <= max(calls) <= 200 and len(calls) >= 10
    torch.testing.assert_close(out, torch.full((4, 3), 0.4), atol=1e-5, rtol=0)


class WithVariance(nn.Module):
    """`inner`'s output followed by v channels (learned variances): v(x_t) = tanh(sum of x_t)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        config = dataclasses.replace(inner.process.config, variance="learned_range")
        self.process = GaussianProcess(config)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        v = torch.tanh(x_t.sum(dim=1, keepdim=True)).expand_as(x_t)  # (B, C, ...)
        return torch.cat([self.inner(x_t, t, cond), v], dim=1)  # (B, 2C, ...)

    def null_condition(self, cond: torch.Tensor) -> torch.Tensor:
        return self.inner.null_condition(cond)


def test_learned_variance_ddpm_is_hand_driven_diffusers_learned_range() -> None:
    model = WithVariance(TinyDenoiser(GaussianProcessConfig(schedule="cosine")))
    reference = DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        timestep_spacing="trailing",
        clip_sample=True,
        variance_type="learned_range",
    )
    generator = torch.Generator().manual_seed(3)
    reference.set_timesteps(10)
    x = torch.randn((3, 1, 4), generator=generator)
    for t in reference.timesteps:
        out = model(x, t.expand(3))
        if t == reference.timesteps[-1]:
            out[:, 1:] = -1.0  # the last step adds no noise (improved DDPM's sampler)
        x = reference.step(out, t, x, generator=generator).prev_sample
    got = sample(model, (3, 1, 4), "ddpm", steps=10, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(got, x, rtol=0, atol=0)
    assert got.abs().max() <= 1.0 and got.std() > 0.05
    # the learned variance is used: the fixed-variance model draws other samples
    fixed = sample(model.inner, (3, 1, 4), "ddpm", 10, torch.Generator().manual_seed(3))
    assert not torch.allclose(got, fixed)


@pytest.mark.parametrize("sampler", ["ddim", "dpmsolver++", "EulerDiscreteScheduler"])
def test_samplers_without_a_variance_take_the_prediction_of_a_learned_variance_model(
    sampler: str,
) -> None:
    inner = TinyDenoiser(GaussianProcessConfig(schedule="cosine"))
    draw = lambda m: sample(m, (3, 1, 4), sampler, 6, torch.Generator().manual_seed(0))  # noqa: E731
    torch.testing.assert_close(draw(WithVariance(inner)), draw(inner), rtol=0, atol=0)


def test_guidance_of_a_learned_variance_model_acts_on_the_prediction() -> None:
    out = sample(
        WithVariance(OracleX0()),
        (4, 3),
        "dpmsolver++",
        steps=5,
        cond=torch.ones(4, dtype=torch.long),
        guidance_scale=2.5,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(out, torch.full((4, 3), 2.5 * 0.3))
