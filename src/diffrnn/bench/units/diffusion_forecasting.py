"""`diffusion-forecaster`: the conditional diffusion forecaster, scored by `forecast_unit`.

Registered on forecast-exchange (crps, crps_sum, mse, mae over the 5 test windows, GluonTS's
computation) and forecast-etth1 (mse, mae, crps on the standardised data, horizon 96; the test
windows are subsampled because every window costs num_samples x steps denoiser passes). Its
recipe is `diffrnn.forecast_specs.diffusion_recipe`; what is its own here is how it is scored.
"""

from __future__ import annotations

from typing import Any

import diffrnn.bench.tasks  # noqa: F401  (defines the tasks registered on below)
from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.units.forecasting import (
    EVALUATIONS,
    NUM_SAMPLES,
    Evaluation,
    Scored,
    etth1_problem,
    exchange_problem,
    forecast_unit,
)

NAME = "diffusion-forecaster"
STEPS_CURVE = (5, 10, 20, 50)
"""DPM-Solver++ steps of the crps_sum-against-steps curve (full suite, when windows are few)."""


def sampler_steps(scored: Scored) -> dict[str, Any]:
    """The denoising steps of the headline paths."""
    return {"sampler_steps": scored.fitted.network.config.sampler_steps}  # type: ignore[union-attr]


def steps_curve(scored: Scored) -> dict[str, Any]:
    """crps_sum at each of `STEPS_CURVE` DPM-Solver++ steps, where 8 windows or fewer are scored."""
    from diffrnn.evaluation.forecast import crps_sum

    fields = sampler_steps(scored)
    if len(scored.problem.test_ends) > 8:
        return fields
    curve = [
        crps_sum(
            scored.future,
            scored.network.paths(
                scored.fitted, scored.history, None, NUM_SAMPLES, scored.seed, {"steps": steps}
            ),
        )
        for steps in STEPS_CURVE
    ]
    text = ", ".join(f"{s}: {c:.4f}" for s, c in zip(STEPS_CURVE, curve, strict=True))
    return {
        **fields,
        "curves": {"crps_sum_vs_steps": curve},
        "notes": [f"crps_sum at DPM-Solver++ steps {text}"],
    }


EVALUATIONS[NAME] = {
    "quick": Evaluation(num_samples=16, max_windows=8, extras=sampler_steps),
    "full": Evaluation(max_windows=32, extras=steps_curve),
    # ETTh1's 32 of 2,785 windows cost minutes of CPU per unit: 100 paths x 10 denoiser passes
    "reference": Evaluation(max_windows=8, extras=sampler_steps),
}


@register_unit("forecast-exchange", NAME, family="diffusion")
def diffusion_forecaster_exchange(ctx: UnitContext) -> UnitOutput:
    """Conditional 1-D conv diffusion over the 30-day window given 30 days, DPM-Solver++, on
    the scaled daily moves (`diffusion_increment_recipe`)."""
    recipe = "diffrnn.forecast_specs.diffusion_increment_recipe"
    return forecast_unit(exchange_problem(), ctx, NAME, recipe=recipe)


@register_unit("forecast-etth1", NAME, family="diffusion")
def diffusion_forecaster_etth1(ctx: UnitContext) -> UnitOutput:
    """Conditional 1-D conv diffusion, input 96 -> horizon 96, on subsampled test windows."""
    return forecast_unit(etth1_problem(96), ctx, NAME)
