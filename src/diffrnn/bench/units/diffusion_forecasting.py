"""`diffusion-forecaster`: the conditional diffusion forecaster on any `ForecastProblem`.

    diffusion_forecaster_unit(problem, ctx)   # trains within ctx.budget_s, scores 100 paths/window

Registered on forecast-exchange (crps, crps_sum, mse, mae over the 5 test windows, GluonTS's
computation) and forecast-etth1 (mse, mae, crps on the standardised data, horizon 96; the test
windows are subsampled because every window costs num_samples x steps denoiser passes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import diffrnn.bench.tasks  # noqa: F401  (defines the tasks registered on below)
from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
from diffrnn.bench.units.forecasting import (
    NUM_SAMPLES,
    etth1_problem,
    exchange_problem,
    fan_chart,
    origin_curves,
)
from diffrnn.data.windows import ForecastProblem

STEPS_CURVE = (5, 10, 20, 50)
"""DPM-Solver++ steps of the crps_sum-against-steps curve (full suite, when windows are few)."""


@dataclass(frozen=True)
class DiffusionRecipe:
    """Denoiser size, optimiser and evaluation settings for one suite."""

    hidden: int
    layers: int
    batch_size: int
    lr: float
    max_steps: int
    ema_decay: float | None
    sampler_steps: int
    num_samples: int
    max_test_windows: int  # test windows scored, evenly spaced (all when there are fewer)
    steps_curve: bool = False  # also crps_sum at STEPS_CURVE sampler steps (8 windows or fewer)


RECIPES = {
    "quick": DiffusionRecipe(16, 4, 64, 3e-3, 400, None, 5, 16, 8),
    "full": DiffusionRecipe(64, 8, 64, 1e-3, 20_000, 0.995, 10, NUM_SAMPLES, 32, True),
}
RECIPES["reference"] = replace(RECIPES["full"], max_test_windows=8, steps_curve=False)
"""The reference suite scores 8 evenly spaced test windows where there are more (ETTh1: 32 of its
2,785 cost minutes of CPU per unit: 100 paths x 10 denoiser passes each) and draws no
steps curve (the full suite's)."""


def diffusion_forecaster_unit(problem: ForecastProblem, ctx: UnitContext) -> UnitOutput:
    """Train the diffusion forecaster on `problem`'s training rows and score its sample paths.

    Args:
        problem: series, training prefix, test windows, context and horizon.
        ctx: seed, training budget (seconds), suite, output directory, threads.
    Returns:
        crps, crps_sum, mse (of the path mean), mae (of the path median), timings, a fan chart.
    """
    import numpy as np
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.data.windows import forecast_windows
    from diffrnn.diffusion.denoisers_1d import ConvDenoiser1dConfig
    from diffrnn.diffusion.ts_forecaster import DiffusionForecaster, DiffusionForecasterConfig
    from diffrnn.evaluation.forecast import crps_sum, sample_metrics
    from diffrnn.evaluation.timing import timed_call
    from diffrnn.training import OptimConfig, TrainConfig

    recipe = ctx.preset(RECIPES)
    past, future = forecast_windows(problem.train, problem.context, problem.horizon)
    loader = seeded_loader(
        TensorDataset(
            torch.tensor(past, dtype=torch.float32), torch.tensor(future, dtype=torch.float32)
        ),
        recipe.batch_size,
        ctx.seed,
    )
    torch.manual_seed(ctx.seed)
    config = DiffusionForecasterConfig(
        ConvDenoiser1dConfig(
            num_series=problem.num_series,
            horizon=problem.horizon,
            context=problem.context,
            hidden=recipe.hidden,
            layers=recipe.layers,
        ),
        sampler_steps=recipe.sampler_steps,
    )
    train = TrainConfig(
        max_steps=recipe.max_steps,
        ema_decay=recipe.ema_decay,
        optim=OptimConfig(lr=recipe.lr, warmup_steps=100),
    )
    result = train_for_unit(DiffusionForecaster(config), loader, ctx, train)
    model = result.model

    stride = max(1, -(-len(problem.test_ends) // recipe.max_test_windows))
    scored = replace(problem, test_ends=problem.test_ends[::stride])
    test_past, test_future = scored.test_windows()
    test_past_t = torch.tensor(test_past, dtype=torch.float32)
    paths, wall = timed_call(
        lambda: model.forecast(
            test_past_t, recipe.num_samples, generator=torch.Generator().manual_seed(ctx.seed)
        )
    )
    paths_np = paths.double().numpy()  # (W, S, H, N)
    metrics = sample_metrics(test_future, paths_np)

    curves: dict[str, Any] = {
        "train_loss": result.train_losses,
        **origin_curves(problem, paths_np, scored.test_ends),
    }
    notes = [
        f"{result.steps} steps of batch {recipe.batch_size}; {config.sampler} with "
        f"{config.sampler_steps} steps, {recipe.num_samples} paths per window",
    ]
    if stride > 1:
        notes.append(f"scored every {stride}th test window ({len(scored.test_ends)} windows)")
    if recipe.steps_curve and len(scored.test_ends) <= 8:
        curves["crps_sum_vs_steps"] = [
            crps_sum(
                test_future,
                model.forecast(
                    test_past_t,
                    recipe.num_samples,
                    steps=steps,
                    generator=torch.Generator().manual_seed(ctx.seed),
                )
                .double()
                .numpy(),
            )
            for steps in STEPS_CURVE
        ]
        notes.append(
            "crps_sum at DPM-Solver++ steps "
            + ", ".join(
                f"{s}: {c:.4f}"
                for s, c in zip(STEPS_CURVE, curves["crps_sum_vs_steps"], strict=True)
            )
        )
    chart = fan_chart(
        scored, paths_np[-1], Path(ctx.out_dir) / "fan_chart.png", "diffusion forecaster"
    )
    paths_drawn = int(np.prod(paths_np.shape[:2])) * problem.num_series
    return fitted_output(
        result,
        metrics,
        infer_seconds_per_sample=wall / paths_drawn,
        throughput=paths_drawn / wall,
        throughput_unit="paths/s",
        sampler_steps=config.sampler_steps,
        curves=curves,
        artefacts={"fan_chart": chart},
        notes=notes,
    )


@register_unit("forecast-exchange", "diffusion-forecaster", family="diffusion")
def diffusion_forecaster_exchange(ctx: UnitContext) -> UnitOutput:
    """Conditional 1-D conv diffusion over the 30-day window given 30 days, DPM-Solver++."""
    return diffusion_forecaster_unit(exchange_problem(), ctx)


@register_unit("forecast-etth1", "diffusion-forecaster", family="diffusion")
def diffusion_forecaster_etth1(ctx: UnitContext) -> UnitOutput:
    """Conditional 1-D conv diffusion, input 96 -> horizon 96, on subsampled test windows."""
    return diffusion_forecaster_unit(etth1_problem(96), ctx)
