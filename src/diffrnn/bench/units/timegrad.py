"""TimeGrad units: the RNN-conditioned diffusion forecaster on any `ForecastProblem`.

    timegrad_unit(problem, ctx)   # trains within ctx.budget_s, scores 100 paths per window

Registered as `timegrad` on forecast-exchange (GRU 2 x 40, 100 diffusion steps, the paper's
setting) and on forecast-user (the user's file). The headline metrics use the paper's sampler
(DDPM, all 100 steps); the full suite also forecasts with DDIM and DPM-Solver++ at 10/25/50 steps
and reports CRPS-sum against steps and against forecast wall time as curves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
from diffrnn.bench.units.forecasting import (
    NUM_SAMPLES,
    SAMPLE_CHUNK_PATHS,
    SHORT_LAG_LIMIT,
    exchange_problem,
    fan_chart,
    origin_curves,
)
from diffrnn.data.windows import ForecastProblem
from diffrnn.rnn.cells import CellType

FAST_SAMPLERS = ("ddim", "dpmsolver++")
FAST_STEPS = (10, 25, 50)


@dataclass(frozen=True)
class TimeGradRecipe:
    """Model size, training and sampling of the TimeGrad unit for one suite."""

    hidden_size: int
    num_layers: int
    residual_layers: int
    max_steps: int
    batch_size: int
    lr: float
    sampler: str
    sampler_steps: int | None  # None: every diffusion step
    sweep: bool  # also forecast with FAST_SAMPLERS x FAST_STEPS


TIMEGRAD_RECIPES = {
    "quick": TimeGradRecipe(
        hidden_size=16,
        num_layers=1,
        residual_layers=4,
        max_steps=150,
        batch_size=32,
        lr=3e-3,
        sampler="dpmsolver++",
        sampler_steps=5,
        sweep=False,
    ),
    # pytorch-ts's run: 20 epochs x 100 batches of 64, lr 1e-3
    "full": TimeGradRecipe(
        hidden_size=40,
        num_layers=2,
        residual_layers=8,
        max_steps=2000,
        batch_size=64,
        lr=1e-3,
        sampler="ddpm",
        sampler_steps=None,
        sweep=True,
    ),
}
TIMEGRAD_RECIPES["reference"] = replace(
    TIMEGRAD_RECIPES["full"], sampler="dpmsolver++", sampler_steps=10, sweep=False
)
"""The reference suite forecasts with DPM-Solver++ at 10 steps, which matched the paper's 100-step
DDPM on the full recipe (CRPS-sum 0.0070 vs 0.0070 over 3 seeds, BENCHMARKS.md) at 1/8 of its
27.5 CPU s, and skips the sampler sweep: a ladder runs the unit nine times."""


def timegrad_config_for(problem: ForecastProblem, recipe: TimeGradRecipe, cell: CellType) -> Any:
    """TimeGrad for a problem: the paper's network, lags that fit the training rows."""
    from diffrnn.data.windows import lags_for_frequency
    from diffrnn.hybrid.timegrad import TimeGradConfig

    room = problem.train_end - problem.context - problem.horizon  # rows available for lags
    lags = lags_for_frequency(problem.freq)
    lags = tuple(lag for lag in lags if lag <= min(room // 2, SHORT_LAG_LIMIT))
    return TimeGradConfig(
        target_dim=problem.num_series,
        context_length=problem.context,
        prediction_length=problem.horizon,
        lags=lags,
        freq=problem.freq if problem.start is not None else None,
        cell=cell,
        hidden_size=recipe.hidden_size,
        num_layers=recipe.num_layers,
        dropout=0.1 if recipe.num_layers > 1 else 0.0,
        residual_layers=recipe.residual_layers,
    )


def forecast_paths(
    model: Any,
    problem: ForecastProblem,
    calendar: np.ndarray | None,
    sampler: str,
    steps: int | None,
    seed: int,
    num_samples: int = NUM_SAMPLES,
    repeats: int = 3,
    warmup: int = 1,
) -> tuple[np.ndarray, float]:
    """Sample paths (W, S, H, N) for every test window of `problem`, and the wall seconds of
    one forecast of them all (median of `repeats` after `warmup` untimed, `timed_call`)."""
    import torch

    from diffrnn.evaluation.timing import timed_call

    c = model.config
    history, _ = problem.test_windows(history=c.history_length)  # (W, L_h, N)
    length = c.context_length + c.prediction_length
    feats = np.zeros((len(history), length, 0), np.float32)
    if calendar is not None:
        feats = np.stack([calendar[e - length : e] for e in problem.test_ends])  # (W, C + H, F)
    history_t = torch.as_tensor(history, dtype=torch.float32)
    feats_t = torch.as_tensor(feats, dtype=torch.float32)
    chunk = max(1, SAMPLE_CHUNK_PATHS // (num_samples * problem.num_series))  # windows at once

    def draw() -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.cat(
            [
                model.sample(
                    history_t[i : i + chunk],
                    feats_t[i : i + chunk],
                    num_samples,
                    sampler=sampler,
                    steps=steps,
                    generator=generator,
                )
                for i in range(0, len(history_t), chunk)
            ]
        )  # (W, S, H, N)

    paths, wall = timed_call(draw, repeats, warmup)
    return paths.double().numpy(), wall


def timegrad_unit(problem: ForecastProblem, ctx: UnitContext, cell: CellType = "gru") -> UnitOutput:
    """Train TimeGrad on the training rows of `problem` within ctx.budget_s; score its paths."""
    import torch

    from diffrnn.data.windows import MultivariateWindows
    from diffrnn.evaluation.forecast import crps_sum, sample_metrics
    from diffrnn.hybrid.timegrad import TimeGrad
    from diffrnn.training import OptimConfig, TrainConfig

    recipe = ctx.preset(TIMEGRAD_RECIPES)
    config = timegrad_config_for(problem, recipe, cell)
    calendar = problem.calendar()  # (T, F) or None
    windows = MultivariateWindows(
        problem.train,
        config.window_length,
        None if calendar is None else calendar[: problem.train_end],
    )
    loader = seeded_loader(windows, recipe.batch_size, ctx.seed)
    torch.manual_seed(ctx.seed)
    train = TrainConfig(max_steps=recipe.max_steps, grad_clip=10.0, optim=OptimConfig(lr=recipe.lr))
    result = train_for_unit(TimeGrad(config), loader, ctx, train)
    model = result.model
    _, future = problem.test_windows()
    paths, wall = forecast_paths(
        model, problem, calendar, recipe.sampler, recipe.sampler_steps, ctx.seed
    )
    steps_used = recipe.sampler_steps or config.num_diffusion_steps
    num_paths = paths.shape[0] * paths.shape[1]
    curves: dict[str, Any] = {"train_loss": result.train_losses, **origin_curves(problem, paths)}
    notes = [
        f"{result.steps} steps of batch {recipe.batch_size}; headline sampler {recipe.sampler} "
        f"with {steps_used} steps; forecasting the {paths.shape[0]} windows took {wall:.1f} s",
    ]
    if recipe.sweep:
        for sampler in FAST_SAMPLERS:
            scores, seconds = [], []
            for steps in FAST_STEPS:
                # one call each: the sweep's curve, not a verdict, and the model is warm
                fast, fast_wall = forecast_paths(
                    model, problem, calendar, sampler, steps, ctx.seed, repeats=1, warmup=0
                )
                scores.append(crps_sum(future, fast))
                seconds.append(fast_wall)
            curves[f"crps_sum_vs_steps_{sampler}"] = {"x": list(FAST_STEPS), "y": scores}
            curves[f"crps_sum_vs_seconds_{sampler}"] = {"x": seconds, "y": scores}
            notes.append(
                f"{sampler}: "
                + ", ".join(
                    f"{s} steps CRPS-sum {v:.4f} in {w:.1f} s"
                    for s, v, w in zip(FAST_STEPS, scores, seconds, strict=True)
                )
            )
    artefacts = {}
    if ctx.out_dir is not None:
        artefacts["fan_chart"] = fan_chart(
            problem, paths[-1], Path(ctx.out_dir) / "fan_chart.png", f"TimeGrad ({cell})"
        )
    return fitted_output(
        result,
        sample_metrics(future, paths),
        infer_seconds_per_sample=wall / num_paths,
        throughput=num_paths / wall,
        throughput_unit="paths/s",
        sampler_steps=steps_used,
        curves=curves,
        artefacts=artefacts,
        notes=notes,
    )


@register_unit("forecast-exchange", "timegrad", family="hybrid")
def timegrad_exchange_unit(ctx: UnitContext) -> UnitOutput:
    """TimeGrad (GRU 2 x 40 conditioning a DiffWave epsilon network, 100 diffusion steps)."""
    return timegrad_unit(exchange_problem(), ctx, ctx.options.get("cell", "gru"))


@register_unit("forecast-user", "timegrad", family="hybrid")
def timegrad_user_unit(ctx: UnitContext) -> UnitOutput:
    """TimeGrad on the user's file (`diffrnn compare --data`), all series modelled jointly."""
    from diffrnn.bench.user_data import user_problem

    return timegrad_unit(user_problem(ctx.options), ctx, ctx.options.get("cell", "gru"))
