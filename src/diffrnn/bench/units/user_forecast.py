"""Units of `forecast-user`: the forecasting families on the user's own file (`compare --data`).

Each unit rebuilds the user's backtest from `ctx.options` (see `diffrnn.bench.user_data`) and
hands it to the same generic forecasting functions the vendored tasks use, so a model is measured
on the user's series exactly as on exchange rates. Every `network_spec` line of
`diffrnn.forecast_specs.MODELS` (SegRNN, ...) is a unit here through `network_unit`, with nothing
to write; TimeGrad's unit is in `units/timegrad.py`.
"""

from __future__ import annotations

from functools import partial
from typing import cast

from diffrnn.bench.registry import Family, UnitContext, UnitOutput, register_alias, register_unit
from diffrnn.bench.units.diffusion_forecasting import diffusion_forecaster_unit
from diffrnn.bench.units.forecasting import (
    FloorName,
    deepar_unit,
    network_unit,
    probabilistic_floor_unit,
)
from diffrnn.bench.user_data import user_problem
from diffrnn.forecast_specs import MODELS

TASK = "forecast-user"


def floor_user(ctx: UnitContext, method: FloorName) -> UnitOutput:
    """A floor on the user's backtest."""
    return probabilistic_floor_unit(user_problem(ctx.options), ctx, method)


def deepar_user(ctx: UnitContext, cell: str) -> UnitOutput:
    """DeepAR with `cell`, trained on the rows before the first origin."""
    return deepar_unit(user_problem(ctx.options), ctx, cell=cell)


def network_user(ctx: UnitContext, name: str) -> UnitOutput:
    """A `network_spec` forecaster of `MODELS`, trained on the rows before the first origin."""
    return network_unit(user_problem(ctx.options), ctx, name)


def diffusion_forecaster_user(ctx: UnitContext) -> UnitOutput:
    """The conditional diffusion forecaster (DiffWave-like denoiser, DPM-Solver++ sampling)."""
    return diffusion_forecaster_unit(user_problem(ctx.options), ctx)


# Units are partials of module-level functions so the harness can pickle them.
for _floor in ("last-value", "seasonal-naive", "random-walk", "linear-ar"):
    register_unit(TASK, _floor, "baseline", MODELS[_floor].description)(
        partial(floor_user, method=_floor)
    )
for _name, _cell in (("deepar", "lstm"), ("deepar-gru", "gru")):
    register_unit(TASK, _name, "rnn", MODELS[_name].description)(partial(deepar_user, cell=_cell))
register_alias(TASK, "gru", "deepar-gru")
register_unit(TASK, "diffusion-forecaster", "diffusion")(diffusion_forecaster_user)
for _name, _spec in MODELS.items():
    if _spec.network is not None:
        register_unit(TASK, _name, cast("Family", _spec.family), _spec.description)(
            partial(network_user, name=_name)
        )
