"""Units of `forecast-user`: the forecasting families on the user's own file (`compare --data`).

Each unit rebuilds the user's backtest from `ctx.options` (see `diffrnn.bench.user_data`) and
hands it to the same generic forecasting functions the vendored tasks use, so a model is measured
on the user's series exactly as on exchange rates.
"""

from __future__ import annotations

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.units.diffusion_forecasting import diffusion_forecaster_unit
from diffrnn.bench.units.forecasting import deepar_unit, probabilistic_floor_unit
from diffrnn.bench.user_data import user_problem

TASK = "forecast-user"


@register_unit(TASK, "last-value", family="baseline")
def last_value_user(ctx: UnitContext) -> UnitOutput:
    """The last observed value repeated over the horizon."""
    return probabilistic_floor_unit(user_problem(ctx.options), ctx, "last-value")


@register_unit(TASK, "seasonal-naive", family="baseline")
def seasonal_naive_user(ctx: UnitContext) -> UnitOutput:
    """The last season (by the data's frequency) repeated."""
    return probabilistic_floor_unit(user_problem(ctx.options), ctx, "seasonal-naive")


@register_unit(TASK, "random-walk", family="baseline")
def random_walk_user(ctx: UnitContext) -> UnitOutput:
    """A Gaussian random walk per series, fitted on the training differences."""
    return probabilistic_floor_unit(user_problem(ctx.options), ctx, "random-walk")


@register_unit(TASK, "linear-ar", family="baseline")
def linear_ar_user(ctx: UnitContext) -> UnitOutput:
    """Least-squares AR per series with Gaussian residual paths."""
    return probabilistic_floor_unit(user_problem(ctx.options), ctx, "linear-ar")


@register_unit(TASK, "deepar", family="rnn")
def deepar_user(ctx: UnitContext) -> UnitOutput:
    """DeepAR (LSTM) trained on the rows before the first origin."""
    return deepar_unit(user_problem(ctx.options), ctx, cell="lstm")


@register_unit(TASK, "gru", family="rnn")
def gru_user(ctx: UnitContext) -> UnitOutput:
    """DeepAR with a GRU cell."""
    return deepar_unit(user_problem(ctx.options), ctx, cell="gru")


@register_unit(TASK, "diffusion-forecaster", family="diffusion")
def diffusion_forecaster_user(ctx: UnitContext) -> UnitOutput:
    """The conditional diffusion forecaster (DiffWave-like denoiser, DPM-Solver++ sampling)."""
    return diffusion_forecaster_unit(user_problem(ctx.options), ctx)
