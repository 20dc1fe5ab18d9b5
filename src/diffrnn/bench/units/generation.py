"""generate-etth1: unconditional ETTh1 windows (24 steps x 7 channels) on the TimeGAN protocol.

Real data: every 24-row window (stride 1) of the Informer training split (the first 12 months),
min-max scaled per channel on those rows (`diffrnn.data.timeseries.etth1_windows`). Each unit
draws as many windows as the real evaluation set holds and scores them with the discriminative
and predictive scores of `diffrnn.evaluation.timegan`.

Models: `diffusion-generator` (1-D conv Gaussian diffusion, DPM-Solver++), `gru` (autoregressive
GRU with a Gaussian per step), and two references that train nothing:
- `real-data`: real windows (a disjoint random half of the windows against the other half), i.e.
  a generator that reproduces the data: its discriminative score is the metric's noise floor and
  its predictive score is "train on real, test on real".
- `shuffled-real`: real windows with their 24 steps permuted at random: every step's marginal is
  right, the dynamics are gone. A generator should score better than this.

`generator_unit` and `reference_unit` take the windows as arguments, so generate-user runs them
on the user's series (`units.user_series`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

import diffrnn.bench.tasks  # noqa: F401  (defines the tasks registered on below)
from diffrnn.bench.registry import Family, RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.diffusion.ts_generator import WindowDiffusionConfig
    from diffrnn.rnn.ar_generator import ARGeneratorConfig

TASK = "generate-etth1"


@dataclass(frozen=True)
class Scoring:
    """Sizes of the evaluation: windows per side and post-hoc training iterations."""

    num_windows: int
    discriminative_iterations: int
    predictive_iterations: int
    lr: float


SCORING = {
    # a quick run's post-hoc nets need a larger step to learn anything in 100 iterations (an
    # untrained classifier scores a perfect 0)
    "quick": Scoring(256, 100, 200, 1e-2),
    # TimeGAN trains 2000 / 5000 iterations at 1e-3; on this project's loaded 2-core machine that
    # overran the unit timeout, so 1000 each at 2e-3 (the references below are scored the same way)
    "full": Scoring(1000, 1000, 1000, 2e-3),
}


def window_diffusion_recipes(
    num_series: int, length: int
) -> dict[RecipeSize, Recipe[WindowDiffusionConfig]]:
    """The recipe of the window diffusion on generate-etth1 (and denoise-etth1, `diffrnn
    generate`) by suite size; the full one averages its weights (EMA)."""
    from diffrnn.diffusion.ts_generator import window_diffusion
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(window_diffusion("quick", num_series, length), budgeted(3e-3, 50), 64),
        "full": Recipe(
            window_diffusion("full", num_series, length), budgeted(1e-3, 50, ema_decay=0.995), 64
        ),
    }


def ar_generator_recipes(
    num_series: int, length: int
) -> dict[RecipeSize, Recipe[ARGeneratorConfig]]:
    """The recipe of the autoregressive GRU on generate-etth1 (and `diffrnn generate`) by suite
    size."""
    from diffrnn.rnn.ar_generator import ar_generator
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(ar_generator("quick", num_series, length), budgeted(3e-3, 50), 64),
        "full": Recipe(ar_generator("full", num_series, length), budgeted(1e-3, 50), 64),
    }


def score(real: np.ndarray, synthetic: np.ndarray, suite: str, seed: int) -> dict[str, float]:
    """Discriminative and predictive scores of `synthetic` against `real` (both (B, T, D));
    the predictive score only for D >= 2 (TimeGAN's predictor reads channels 0..D-2)."""
    from diffrnn.evaluation.timegan import discriminative_score, predictive_score

    recipe = SCORING[suite]
    metrics = {
        "discriminative_score": discriminative_score(
            real, synthetic, iterations=recipe.discriminative_iterations, lr=recipe.lr, seed=seed
        )
    }
    if real.shape[-1] >= 2:
        metrics["predictive_score"] = predictive_score(
            real, synthetic, iterations=recipe.predictive_iterations, lr=recipe.lr, seed=seed
        )
    return metrics


def _evaluation_split(windows: np.ndarray, suite: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random real evaluation set and the disjoint rest: (num_windows, T, D), (rest, T, D)."""
    order = np.random.default_rng(seed).permutation(len(windows))
    count = SCORING[suite].num_windows
    return windows[order[:count]], windows[order[count:]]


def reference_unit(ctx: UnitContext, kind: str, real: np.ndarray, pool: np.ndarray) -> UnitOutput:
    """A reference that trains nothing, scored against `real` (B, T, D): "real-data" draws B
    windows of `pool` (N >= B, T, D) disjoint from `real`; "shuffled-real" permutes their steps."""
    rng = np.random.default_rng(ctx.seed + 1)
    synthetic = pool[rng.choice(len(pool), len(real), replace=False)]
    if kind == "shuffled-real":
        steps = np.argsort(rng.random(synthetic.shape[:2]), axis=1)  # (B, T) permutations
        synthetic = np.take_along_axis(synthetic, steps[..., None], axis=1)
    return UnitOutput(metrics=score(real, synthetic, ctx.recipe, ctx.seed))


def _reference_unit(ctx: UnitContext, kind: str) -> UnitOutput:
    from diffrnn.data.timeseries import etth1_windows

    real, rest = _evaluation_split(etth1_windows(), ctx.recipe, ctx.seed)
    return reference_unit(ctx, kind, real, rest)


def _generator_unit(ctx: UnitContext, family: str) -> UnitOutput:
    from diffrnn.data.timeseries import etth1_windows

    windows = etth1_windows()
    real, _ = _evaluation_split(windows, ctx.recipe, ctx.seed)
    return generator_unit(ctx, family, windows, real)


def generator_unit(
    ctx: UnitContext, family: str, windows: np.ndarray, real: np.ndarray
) -> UnitOutput:
    """Train `family`'s generator ("diffusion" or "rnn") on `windows` (N, T, D) in [0, 1] and
    score as many samples as `real` (B, T, D) holds against it (`score`)."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.evaluation.timing import timed_call

    num_series, length = windows.shape[-1], windows.shape[1]
    torch.manual_seed(ctx.seed)
    if family == "diffusion":
        from diffrnn.diffusion.ts_generator import WindowDiffusion

        recipe = ctx.preset(window_diffusion_recipes(num_series, length))
        model = WindowDiffusion(recipe.model)
    else:
        from diffrnn.rnn.ar_generator import ARGenerator

        recipe = ctx.preset(ar_generator_recipes(num_series, length))
        model = ARGenerator(recipe.model)
    loader = seeded_loader(TensorDataset(torch.from_numpy(windows)), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, recipe.train)
    model = result.model

    def draw() -> torch.Tensor:  # the diffusion's windows are in [0, 1] already
        generator = torch.Generator().manual_seed(ctx.seed)
        return model.sample(len(real), generator=generator).clamp(0.0, 1.0)

    synthetic, wall = timed_call(draw)
    steps = model.config.sampler_steps if family == "diffusion" else None
    notes = [f"{result.steps} training steps of batch {recipe.batch_size}"]
    if family == "rnn":
        notes.append("samples clamped to [0, 1], the range of the min-max scaled data")
    return fitted_output(
        result,
        score(real, synthetic.numpy(), ctx.recipe, ctx.seed),
        infer_seconds_per_sample=wall / len(real),
        throughput=len(real) / wall,
        throughput_unit="windows/s",
        sampler_steps=steps,
        curves={"train_loss": result.train_losses},
        notes=notes,
    )


GENERATOR_UNITS: dict[str, tuple[Family, str]] = {
    "diffusion-generator": (
        "diffusion",
        "1-D conv Gaussian diffusion over min-max scaled windows, DPM-Solver++ 20 steps.",
    ),
    "gru": ("rnn", "Autoregressive GRU with a diagonal Gaussian per step, ancestral sampling."),
}
"""generate-etth1's generators: name -> (family, description); `generator_unit` trains each."""
REFERENCE_UNITS = {
    "real-data": "Held-out real windows: the noise floor of the scores (train-on-real predictive "
    "score).",
    "shuffled-real": "Real windows with their steps shuffled: right marginals, no dynamics.",
}
"""generate-etth1's references (`reference_unit`): name -> description."""
# partials pickle into unit processes
for _name, (_family, _description) in GENERATOR_UNITS.items():
    register_unit(TASK, _name, _family, _description)(partial(_generator_unit, family=_family))
for _name, _description in REFERENCE_UNITS.items():
    register_unit(TASK, _name, "reference", _description)(partial(_reference_unit, kind=_name))
