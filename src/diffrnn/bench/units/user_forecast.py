"""Units of `forecast-user`: every model of `diffrnn.forecast_specs.MODELS` on the user's own file
(`compare --data`).

Each unit rebuilds the user's backtest from `ctx.options` (see `diffrnn.bench.user_data`) and
hands it to the same generic forecasting functions the vendored tasks use, so a model is measured
on the user's series exactly as on exchange rates: a floor by `probabilistic_floor_unit`, a network
by `forecast_unit`. A new line of `MODELS` is a unit here with nothing to write.
"""

from __future__ import annotations

from functools import partial
from typing import cast

# the diffusion forecaster's and TimeGrad's scoring (their `EVALUATIONS`) are in their modules
import diffrnn.bench.units.diffusion_forecasting
import diffrnn.bench.units.timegrad  # noqa: F401
from diffrnn.bench.registry import Family, UnitContext, UnitOutput, register_alias, register_unit
from diffrnn.bench.units.forecasting import FloorName, forecast_unit, probabilistic_floor_unit
from diffrnn.bench.user_data import user_problem
from diffrnn.forecast_specs import ALIASES, MODELS

TASK = "forecast-user"


def floor_user(ctx: UnitContext, method: FloorName) -> UnitOutput:
    """A floor on the user's backtest."""
    return probabilistic_floor_unit(user_problem(ctx.options), ctx, method)


def network_user(ctx: UnitContext, name: str) -> UnitOutput:
    """A network forecaster of `MODELS`, trained on the rows before the first origin."""
    return forecast_unit(user_problem(ctx.options), ctx, name, ctx.options.get("cell"))


# Units are partials of module-level functions so the harness can pickle them.
for _name, _spec in MODELS.items():
    _unit = (
        partial(floor_user, method=_name)
        if _spec.network is None
        else partial(network_user, name=_name)
    )
    register_unit(TASK, _name, cast("Family", _spec.family), _spec.description)(_unit)
for _old, _new in ALIASES.items():
    register_alias(TASK, _old, _new)
