"""TimeGrad units: the RNN-conditioned diffusion forecaster, scored by `forecast_unit`.

Registered as `timegrad` on forecast-exchange (GRU 2 x 40, 100 diffusion steps, the paper's
network, on the scaled daily moves: `diffrnn.forecast_specs.timegrad_increment_recipe`;
`--option cell=...` for another cell); on forecast-user it is a line of
`diffrnn.forecast_specs.MODELS` like every other. The headline metrics use the suite's sampler
(`diffrnn.forecast_specs.TIMEGRAD_SAMPLING`: the full suite's is the paper's DDPM, all 100 steps);
the full suite also forecasts with DDIM and DPM-Solver++ at 10/25/50 steps and reports CRPS-sum
against steps and against forecast wall time as curves.
"""

from __future__ import annotations

from typing import Any

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.units.forecasting import (
    EVALUATIONS,
    NUM_SAMPLES,
    Evaluation,
    Scored,
    exchange_problem,
    forecast_unit,
)
from diffrnn.data.windows import ForecastProblem
from diffrnn.rnn.cells import CellType

NAME = "timegrad"
FAST_SAMPLERS = ("ddim", "dpmsolver++")
FAST_STEPS = (10, 25, 50)


def sampler_sweep(scored: Scored) -> dict[str, Any]:
    """CRPS-sum and forecast wall seconds of every `FAST_SAMPLERS` x `FAST_STEPS` (one call each:
    the sweep's curve, not a verdict, and the model is warm)."""
    from diffrnn.evaluation.forecast import crps_sum
    from diffrnn.evaluation.timing import timed_call

    curves: dict[str, Any] = {}
    notes = []
    for sampler in FAST_SAMPLERS:
        scores, seconds = [], []
        for steps in FAST_STEPS:
            fast, wall = timed_call(
                lambda sampler=sampler, steps=steps: scored.network.paths(
                    scored.fitted,
                    scored.history,
                    scored.calendar,
                    NUM_SAMPLES,
                    scored.seed,
                    {"sampler": sampler, "steps": steps},
                ),
                repeats=1,
                warmup=0,
            )
            scores.append(crps_sum(scored.future, fast))
            seconds.append(wall)
        curves[f"crps_sum_vs_steps_{sampler}"] = {"x": list(FAST_STEPS), "y": scores}
        curves[f"crps_sum_vs_seconds_{sampler}"] = {"x": seconds, "y": scores}
        notes.append(
            f"{sampler}: "
            + ", ".join(
                f"{s} steps CRPS-sum {v:.4f} in {w:.1f} s"
                for s, v, w in zip(FAST_STEPS, scores, seconds, strict=True)
            )
        )
    return {"curves": curves, "notes": notes}


EVALUATIONS[NAME] = {
    "quick": Evaluation(),
    "full": Evaluation(extras=sampler_sweep),
    "reference": Evaluation(),  # no sweep: a ladder runs the unit nine times
}


def timegrad_unit(
    problem: ForecastProblem, ctx: UnitContext, cell: CellType = "gru", recipe: str | None = None
) -> UnitOutput:
    """Train TimeGrad with `cell` (and `recipe`, a dotted path; None: the spec's) on the
    training rows of `problem` within ctx.budget_s; score its paths (`forecast_unit`)."""
    return forecast_unit(problem, ctx, NAME, cell, recipe)


EXCHANGE_RECIPE = "diffrnn.forecast_specs.timegrad_increment_recipe"


@register_unit("forecast-exchange", NAME, family="hybrid")
def timegrad_exchange_unit(ctx: UnitContext) -> UnitOutput:
    """TimeGrad (GRU 2 x 40 conditioning a DiffWave network, 100 diffusion steps) on the daily
    moves scaled by the training rows' step std (`EXCHANGE_RECIPE`)."""
    return timegrad_unit(exchange_problem(), ctx, ctx.options.get("cell", "gru"), EXCHANGE_RECIPE)
