"""Learned denoisers of the noise-reduction tasks: `bigru` on denoise-digits and denoise-etth1,
`ddpm` on denoise-etth1 (the digits `ddpm` lives with the digits diffusion units).

- `bigru`: the supervised residual bi-GRU (`diffrnn.rnn.denoiser`), one model per noise level,
  trained on the clean training split with fresh noise every batch; the unit's training budget
  is split evenly across the three levels. Digits are read as 8 rows of 8 pixels (T = 8, D = 8),
  windows as 24 steps of 7 channels.
- `ddpm`: the 1-D conv window diffusion of generate-etth1 (`WindowDiffusion`, its recipe),
  trained once on the clean training windows, then started at the timestep whose noise level
  matches each observation's (`diffrnn.diffusion.sdedit`).

Both are scored like the classical floors (`denoise_baselines`): PSNR on the test split's fixed
noisy inputs, estimates clamped to the clean data's range. `bigru_denoiser_unit` and
`window_ddpm_denoiser_unit` take the data as a `NoisyData`, so denoise-user runs them on the
user's windows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.data.noisy_inputs import NoisyData
    from diffrnn.rnn.denoiser import RNNDenoiserConfig
    from diffrnn.training import FitResult


def bigru_recipes(features: int, noise_sd: float) -> dict[RecipeSize, Recipe[RNNDenoiserConfig]]:
    """The recipe of the residual bi-GRU denoiser (`features` values per step, trained at noise
    sd `noise_sd`) on denoise-digits and denoise-etth1 (and `diffrnn denoise`) by suite size."""
    from diffrnn.rnn.denoiser import rnn_denoiser
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(rnn_denoiser("quick", features, noise_sd), budgeted(1e-2, 10), 64),
        "full": Recipe(rnn_denoiser("full", features, noise_sd), budgeted(2e-3, 50), 64),
    }


DDPM_DENOISE_STEPS = {"quick": 20, "full": 100}
"""Size of the DDIM grid (trailing) on which the partial reverse process runs."""


def score_denoiser(
    ctx: UnitContext,
    data: NoisyData,
    estimate: Callable[[Any, float, float], Any],
    timed: bool = True,
) -> tuple[dict[str, float], dict[str, float], float]:
    """PSNR by noise level of `estimate(noisy, fraction, sigma)` on the test split, PSNR of the
    noisy input, and wall seconds per example (`timed_call` per level; NaN unless `timed`).
    `estimate` must be repeatable (seed its own noise)."""
    import torch

    from diffrnn.data.noisy_inputs import NOISE_FRACTIONS
    from diffrnn.evaluation.psnr import psnr
    from diffrnn.evaluation.timing import timed_call

    by_sigma: dict[str, float] = {}
    noisy_psnr: dict[str, float] = {}
    seconds = 0.0
    examples = 0
    for fraction in NOISE_FRACTIONS:
        clean, noisy = data.noisy("test", fraction, ctx.seed)  # (N, ...) each
        sigma = data.data_range * fraction

        @torch.no_grad()
        def run(noisy: Any = noisy, fraction: float = fraction, sigma: float = sigma) -> Any:
            return estimate(noisy, fraction, sigma)

        x, wall = timed_call(run) if timed else (run(), float("nan"))
        seconds += wall
        by_sigma[str(fraction)] = psnr(data.clamp(x), clean, data.data_range)
        noisy_psnr[str(fraction)] = psnr(data.clamp(noisy), clean, data.data_range)
        examples += len(clean)
    return by_sigma, noisy_psnr, seconds / examples


def _metrics(by_sigma: dict[str, float], noisy_psnr: dict[str, float]) -> dict[str, Any]:
    return {
        "psnr": sum(by_sigma.values()) / len(by_sigma),
        "psnr_by_sigma": by_sigma,
        "psnr_noisy_input": noisy_psnr,
    }


def diffusion_denoiser_output(
    result: FitResult,
    scores: tuple[dict[str, float], dict[str, float], float],
    mean_by_sigma: dict[str, float],
    steps: int,
    example: str,
    what: str,
    noise: str,
) -> UnitOutput:
    """The output of a diffusion prior used as a denoiser (SDEdit, `diffrnn.diffusion.sdedit`).

    Args:
        result: the prior's training.
        scores: PSNR (dB) by noise level of its estimates, of the noisy inputs, and the seconds
            one estimate took (`score_denoiser`).
        mean_by_sigma: PSNR by noise level of its one-evaluation posterior mean E[x_0 | y].
        steps: the reverse process's steps.
        example: what one estimate is ("image", "window"), throughput counted in them per s.
        what: the notes' opening (the model and the test set).
        noise: how the matched noise level is read, after "nearest the noise".
    """
    by_sigma, noisy_psnr, seconds = scores
    return fitted_output(
        result,
        {
            **_metrics(by_sigma, noisy_psnr),
            "psnr_posterior_mean": sum(mean_by_sigma.values()) / len(mean_by_sigma),
            "psnr_posterior_mean_by_sigma": mean_by_sigma,
        },
        infer_seconds_per_sample=seconds,
        throughput=1.0 / seconds,
        throughput_unit=f"{example}s/s",
        sampler_steps=steps,
        curves={"train_loss": result.train_losses},
        notes=[
            f"{what}; the reverse process (DDIM, {steps}-step trailing grid) starts at the grid "
            f"timestep whose sqrt((1 - alpha_bar) / alpha_bar) is nearest the noise {noise}, "
            f"from sqrt(alpha_bar) * noisy {example} (SDEdit).",
            "psnr_posterior_mean: the same model's x_0 prediction at that noise level, E[x_0 | y] "
            "by Tweedie's formula (one network evaluation; the MMSE estimate a supervised "
            "denoiser also learns).",
        ],
    )


def bigru_denoiser_unit(ctx: UnitContext, data: NoisyData, shape: str) -> UnitOutput:
    """The residual bi-GRU, one per noise level, trained on `data`'s clean training examples
    and scored by PSNR on its test split; `shape` says how an example is read as a sequence
    (the notes). Examples of more than (T, D) are read with their leading axes flattened."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.data.noisy_inputs import NOISE_FRACTIONS
    from diffrnn.rnn.denoiser import RNNDenoiser

    train = data.train().flatten(0, -3)  # (N, T, D): digits as 8 rows of 8 pixels
    share = 1 / len(NOISE_FRACTIONS)
    models: dict[float, RNNDenoiser] = {}
    results: list[FitResult] = []
    steps: dict[str, int] = {}
    curves: dict[str, Any] = {}
    for fraction in NOISE_FRACTIONS:
        recipe = ctx.preset(bigru_recipes(train.shape[-1], data.data_range * fraction))
        torch.manual_seed(ctx.seed)
        model = RNNDenoiser(recipe.model)
        loader = seeded_loader(TensorDataset(train), recipe.batch_size, ctx.seed, drop_last=True)
        result = train_for_unit(
            model, loader, ctx, recipe.train, name=f"sigma-{fraction}", share=share
        )
        models[fraction] = result.model
        results.append(result)
        steps[str(fraction)] = result.steps
        curves[f"train_loss_sigma_{fraction}"] = result.train_losses

    def estimate(noisy: torch.Tensor, fraction: float, sigma: float) -> torch.Tensor:
        return models[fraction].denoise(noisy.flatten(0, -3)).view_as(noisy)

    by_sigma, noisy_psnr, seconds = score_denoiser(ctx, data, estimate)
    return fitted_output(
        results,
        _metrics(by_sigma, noisy_psnr),
        infer_seconds_per_sample=seconds,
        throughput=1.0 / seconds,
        throughput_unit="examples/s",
        curves=curves,
        notes=[
            f"one residual bi-GRU ({recipe.model.num_layers} x {recipe.model.hidden_size} per "
            "direction, "
            f"over {shape}) per noise level, {ctx.budget_s * share:.0f} s of training each on "
            f"(clean, clean + fresh noise) pairs; optimiser steps by sigma: {steps}; params "
            "are one model's (three are trained).",
        ],
    )


@register_unit("denoise-digits", "bigru", family="rnn")
def bigru_digits_unit(ctx: UnitContext) -> UnitOutput:
    """Supervised residual bi-GRU over the rows, one model per noise level."""
    from diffrnn.data.noisy_inputs import noisy_data

    return bigru_denoiser_unit(ctx, noisy_data("digits"), "8 rows of 8 pixels")


@register_unit("denoise-etth1", "bigru", family="rnn")
def bigru_etth1_unit(ctx: UnitContext) -> UnitOutput:
    """Supervised residual bi-GRU over the 24 steps, one model per noise level."""
    from diffrnn.data.noisy_inputs import noisy_data

    return bigru_denoiser_unit(ctx, noisy_data("etth1"), "24 steps of 7 channels")


@register_unit("denoise-etth1", "ddpm", family="diffusion")
def ddpm_etth1_unit(ctx: UnitContext) -> UnitOutput:
    """Window diffusion prior; the reverse process from the matching noise level (SDEdit)."""
    from diffrnn.data.noisy_inputs import noisy_data

    return window_ddpm_denoiser_unit(ctx, noisy_data("etth1"))


def window_ddpm_denoiser_unit(ctx: UnitContext, data: NoisyData) -> UnitOutput:
    """generate-etth1's window diffusion trained on `data`'s clean training windows (N, T, D)
    in [0, 1], then started at each noise level (SDEdit) and scored by PSNR on the test split."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.bench.units.generation import window_diffusion_recipes
    from diffrnn.diffusion.ts_generator import WindowDiffusion

    train = data.train()  # (N, T, D) in [0, 1]
    recipe = ctx.preset(window_diffusion_recipes(train.shape[-1], train.shape[1]))
    torch.manual_seed(ctx.seed)
    model = WindowDiffusion(recipe.model)
    loader = seeded_loader(TensorDataset(train), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, recipe.train)
    model = result.model
    steps = DDPM_DENOISE_STEPS[ctx.recipe]

    def estimate(noisy: torch.Tensor, fraction: float, sigma: float) -> torch.Tensor:
        generator = torch.Generator().manual_seed(ctx.seed)  # each (timed) call draws the same
        return model.denoise(noisy, sigma, steps, generator)

    scores = score_denoiser(ctx, data, estimate)
    mean_by_sigma, _, _ = score_denoiser(
        ctx, data, lambda y, _, sigma: model.posterior_mean(y, sigma), timed=False
    )
    denoiser = model.config.denoiser
    return diffusion_denoiser_output(
        result,
        scores,
        mean_by_sigma,
        steps,
        "window",
        f"generate-etth1's window diffusion ({denoiser.layers} conv blocks of {denoiser.hidden} "
        f"channels), {result.steps} training steps",
        "sd (2 sigma in the diffusion's [-1, 1] scale)",
    )
