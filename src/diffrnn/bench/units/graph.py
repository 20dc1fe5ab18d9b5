"""Graph forecasting units: chickenpox (one week ahead) and Los Angeles traffic (12 in, 12 out).

Registered: on graph-chickenpox `last-value`, `linear-ar`, `gru-per-node`, `dcrnn` (mse); on
graph-losloop `last-value`, `linear-ar`, `gru-per-node`, `dcrnn` (masked mae/rmse/mape at 3, 6
and 12 steps, headline = the mean over all 12). `gru-per-node` is DCRNN with K = 0: the same
seq2seq GRU, the same training, no graph, so the difference to `dcrnn` is the graph's alone.

Options (`ctx.options`): "graph" = "metr_la" (the directed DCRNN sensor graph, default) or
"los_adj" (the symmetric T-GCN adjacency) for graph-losloop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.hybrid.dcrnn import DCRNNConfig
    from diffrnn.presets import Size

LOSLOOP_STEPS = 12  # 12 x 5 minutes in, 12 out
LOSLOOP_HORIZONS = (3, 6, 12)  # 15, 30 and 60 minutes
LOSLOOP_SPLIT = (0.7, 0.2)  # train and test shares of the windows, in time order (DCRNN's)


def chickenpox_recipes(
    num_nodes: int, max_diffusion_step: int, horizon: int = 1
) -> dict[RecipeSize, Recipe[DCRNNConfig]]:
    """The recipe of DCRNN (K = `max_diffusion_step`) on graph-chickenpox (and graph-user) by
    suite size: 103 training snapshots, so both suites train the 1 x 16 model, for 10 or 40
    epochs. Sizes and epochs chosen on a validation split (the last 20% of the training
    snapshots, 3 seeds, K in 0/1/2, hidden 16/32, lr 1e-2/3e-3): BENCHMARKS.md."""
    from diffrnn.hybrid.dcrnn import dcrnn
    from diffrnn.training import OptimConfig, TrainConfig

    model = dcrnn("full", num_nodes, horizon, max_diffusion_step, loss="mse")

    def train(epochs: int) -> TrainConfig:
        return TrainConfig(
            max_steps=-1, max_epochs=epochs, grad_clip=5.0, optim=OptimConfig(lr=3e-3)
        )

    return {
        "quick": Recipe(model, train(10), batch_size=16),
        "full": Recipe(model, train(40), batch_size=16),
    }


CHICKENPOX_GRAPH_WEIGHT_DECAY = 0.1
"""AdamW weight decay of DCRNN (K > 0) on graph-chickenpox: chosen on validation (the last 20%
of the training snapshots, 3 seeds) over K {0, 1, 2} x weight decay {0, 0.1, 1} x dropout
{0, 0.3} with one random walk, `benchmarks/dcrnn_chickenpox_regularised.py` (BENCHMARKS.md)."""


def chickenpox_graph_recipes(
    num_nodes: int, max_diffusion_step: int
) -> dict[RecipeSize, Recipe[DCRNNConfig]]:
    """graph-chickenpox's recipes: `chickenpox_recipes`, and for K > 0 what validation chose
    for the graph: one random walk (the county graph is symmetric, so the dual walk's reverse
    support is the same matrix again and only doubles the graph's parameters) and weight decay
    `CHICKENPOX_GRAPH_WEIGHT_DECAY`. K = 0 (gru-per-node) is unchanged."""
    import dataclasses

    recipes = chickenpox_recipes(num_nodes, max_diffusion_step)
    if max_diffusion_step == 0:
        return recipes
    return {
        size: dataclasses.replace(
            recipe,
            model=dataclasses.replace(recipe.model, filter_type="random_walk"),
            train=dataclasses.replace(
                recipe.train,
                optim=dataclasses.replace(
                    recipe.train.optim, weight_decay=CHICKENPOX_GRAPH_WEIGHT_DECAY
                ),
            ),
        )
        for size, recipe in recipes.items()
    }


def losloop_recipes(
    num_nodes: int, max_diffusion_step: int
) -> dict[RecipeSize, Recipe[DCRNNConfig]]:
    """The recipe of DCRNN (K = `max_diffusion_step`) on graph-losloop by suite size: masked
    MAE (zero speeds are missing readings); the quick suite stops after 10 steps."""
    from diffrnn.hybrid.dcrnn import dcrnn
    from diffrnn.training import OptimConfig, TrainConfig

    def model(size: Size) -> DCRNNConfig:
        return dcrnn(size, num_nodes, LOSLOOP_STEPS, max_diffusion_step, loss="masked_mae")

    return {
        "quick": Recipe(
            model("quick"),
            TrainConfig(max_steps=10, max_epochs=1, grad_clip=5.0, optim=OptimConfig(lr=1e-2)),
            batch_size=32,
        ),
        "full": Recipe(
            model("full"),
            TrainConfig(max_steps=-1, max_epochs=100, grad_clip=5.0, optim=OptimConfig(lr=1e-2)),
            batch_size=32,
        ),
    }


LOSLOOP_EVAL_STRIDE = {"quick": 8, "full": 1}
"""Score every this many test windows of graph-losloop."""


# ---------------------------------------------------------------------------------------------
# Training a DCRNN on windows (shared by both tasks)


def train_dcrnn(
    ctx: UnitContext,
    adjacency: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    recipe: Recipe[DCRNNConfig],
) -> tuple[Any, Any]:
    """Train DCRNN as `recipe` says on windows x (W, T_in, N), y (W, T_out, N), standardised by
    the inputs' mean and sd (of the observed, non-zero, readings under the masked MAE).

    Returns:
        (model, FitResult).
    """
    import torch
    from torch.utils.data import StackDataset

    from diffrnn.hybrid.dcrnn import DCRNN

    xs = torch.tensor(np.asarray(x), dtype=torch.float32)[..., None]  # (W, T_in, N, 1)
    ys = torch.tensor(np.asarray(y), dtype=torch.float32)[..., None]  # (W, T_out, N, 1)
    torch.manual_seed(ctx.seed)
    model = DCRNN(recipe.model, torch.as_tensor(adjacency, dtype=torch.float32))
    observed = xs[xs != 0] if recipe.model.loss == "masked_mae" else xs
    model.set_standardisation(observed.mean().reshape(1), observed.std().reshape(1))
    loader = seeded_loader(StackDataset(x=xs, y=ys), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, recipe.train)
    return result.model, result


def predict_windows(model: Any, x: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, float]:
    """Forecasts (W, T_out, N) of `model` for windows x (W, T_in, N), and the wall seconds of
    forecasting them all (median of 3 after a warm-up, `timed_call`)."""
    import torch

    from diffrnn.evaluation.timing import timed_call

    xs = torch.tensor(np.asarray(x), dtype=torch.float32)[..., None]

    def predict() -> torch.Tensor:
        chunks = range(0, len(xs), batch_size)
        return torch.cat([model.predict(xs[i : i + batch_size])[..., 0] for i in chunks])

    out, wall = timed_call(predict)
    return out.double().numpy(), wall


def dcrnn_output(
    model: Any, result: Any, metrics: dict[str, Any], wall: float, n: int, batch_size: int
) -> UnitOutput:
    """A trained DCRNN's `metrics` as a unit's output: `wall` seconds to forecast `n` windows,
    its training curve and a note of its graph filter and batch size."""
    k = model.config.max_diffusion_step
    return fitted_output(
        result,
        metrics,
        infer_seconds_per_sample=wall / n,
        throughput=n / wall,
        throughput_unit="windows/s",
        curves={"train_loss": result.train_losses},
        notes=[
            f"DCRNN K={k} ({model.config.filter_type if k else 'no graph'}), "
            f"{model.config.num_layers} x {model.config.hidden_size} DCGRU, {result.steps} "
            f"steps of batch {batch_size}"
        ],
    )


# ---------------------------------------------------------------------------------------------
# Chickenpox


def _chickenpox() -> tuple[Any, tuple[np.ndarray, ...]]:
    """The data and its windows as (W, lags, N) inputs and (W, 1, N) targets, train and test."""
    from diffrnn.data.graph import load_chickenpox

    data = load_chickenpox()
    (x_train, y_train), (x_test, y_test) = data.train_test_split()  # x (S, N, lags), y (S, N)
    return data, (
        x_train.transpose(0, 2, 1),
        y_train[:, None],
        x_test.transpose(0, 2, 1),
        y_test[:, None],
    )


def chickenpox_floor(ctx: UnitContext, method: str) -> UnitOutput:
    """`last-value` or `linear-ar` (one least-squares AR(4) for all counties) on chickenpox."""
    from diffrnn.baselines.forecast import LinearAR, last_value
    from diffrnn.evaluation.forecast import mse

    data, (x_train, _, x_test, y_test) = _chickenpox()
    lags = x_train.shape[1]
    if method == "last-value":
        forecast = last_value(x_test, 1)
    else:
        train_rows = data.fx[: len(x_train) + lags]  # the rows the training snapshots cover
        forecast = LinearAR.fit(train_rows, lags, shared=True).predict(x_test, 1)
    return UnitOutput(metrics={"mse": mse(y_test, forecast)})


def chickenpox_dcrnn(ctx: UnitContext, max_diffusion_step: int) -> UnitOutput:
    """DCRNN (K = 2, one random walk, weight decay) or its K = 0 ablation on chickenpox; MSE on
    the test."""
    from diffrnn.evaluation.forecast import mse

    data, (x_train, y_train, x_test, y_test) = _chickenpox()
    n = data.fx.shape[1]
    adjacency = np.zeros((n, n))
    adjacency[data.edges[:, 0], data.edges[:, 1]] = 1.0
    recipe = ctx.preset(chickenpox_graph_recipes(n, max_diffusion_step))
    model, result = train_dcrnn(ctx, adjacency, x_train, y_train, recipe)
    forecast, wall = predict_windows(model, x_test)
    metrics = {"mse": mse(y_test, forecast)}
    return dcrnn_output(model, result, metrics, wall, len(x_test), recipe.batch_size)


@register_unit("graph-chickenpox", "last-value", family="baseline")
def chickenpox_last_value(ctx: UnitContext) -> UnitOutput:
    """Repeat last week's value."""
    return chickenpox_floor(ctx, "last-value")


@register_unit("graph-chickenpox", "linear-ar", family="baseline")
def chickenpox_linear_ar(ctx: UnitContext) -> UnitOutput:
    """One least-squares AR(4) shared by all 20 counties (no graph)."""
    return chickenpox_floor(ctx, "linear-ar")


@register_unit("graph-chickenpox", "gru-per-node", family="rnn")
def chickenpox_gru_per_node(ctx: UnitContext) -> UnitOutput:
    """The DCRNN seq2seq with K = 0: one GRU applied to every county, shared weights."""
    return chickenpox_dcrnn(ctx, 0)


@register_unit("graph-chickenpox", "dcrnn", family="hybrid")
def chickenpox_dcrnn_k2(ctx: UnitContext) -> UnitOutput:
    """DCRNN on the county graph, K = 2: one random walk (the graph is symmetric), weight decay
    0.1, as chosen on validation."""
    return chickenpox_dcrnn(ctx, 2)


# ---------------------------------------------------------------------------------------------
# Los Angeles traffic


def losloop_windows(stride: int = 1) -> dict[str, np.ndarray]:
    """LOS-loop 12-in/12-out windows split 70/10/20 in time order, as DCRNN's data script.

    Returns:
        speeds (T, N) and x/y for "train", "val", "test": (W, 12, N) each; `stride` thins the
        test windows.
    """
    from diffrnn.data.graph import load_los_loop
    from diffrnn.data.windows import forecast_windows

    speeds = load_los_loop().speeds  # (T, N) mph, 0 = missing
    past, future = forecast_windows(speeds, LOSLOOP_STEPS, LOSLOOP_STEPS)  # (W, 12, N) each
    num_test = round(LOSLOOP_SPLIT[1] * len(past))
    num_train = round(LOSLOOP_SPLIT[0] * len(past))
    test = slice(len(past) - num_test, len(past), stride)
    return {
        "speeds": speeds,
        "x_train": past[:num_train],
        "y_train": future[:num_train],
        "x_val": past[num_train : len(past) - num_test],
        "y_val": future[num_train : len(past) - num_test],
        "x_test": past[test],
        "y_test": future[test],
    }


def losloop_metrics(target: np.ndarray, forecast: np.ndarray) -> dict[str, Any]:
    """Masked mae/rmse/mape over all 12 steps, and `by_horizon` at 3, 6 and 12 steps."""
    from diffrnn.evaluation.masked import errors_by_horizon, masked_errors

    return {
        **masked_errors(target, forecast),
        "by_horizon": errors_by_horizon(target, forecast, LOSLOOP_HORIZONS),
    }


def losloop_adjacency(ctx: UnitContext) -> np.ndarray:
    """The graph named by ctx.options["graph"]: "metr_la" (directed, default) or "los_adj"."""
    from diffrnn.data.graph import load_los_loop, load_metr_la_graph
    from diffrnn.errors import ConfigError

    name = ctx.options.get("graph", "metr_la")
    if name == "metr_la":
        return load_metr_la_graph().adjacency
    if name == "los_adj":
        return load_los_loop().adjacency
    raise ConfigError(f"graph must be 'metr_la' or 'los_adj', got {name!r}.", "pick one.")


def losloop_floor(ctx: UnitContext, method: str) -> UnitOutput:
    """`last-value`, or `linear-ar`: one direct least-squares map 12 -> 12 shared by sensors."""
    from diffrnn.baselines.forecast import LinearAR, last_value

    data = losloop_windows(ctx.preset(LOSLOOP_EVAL_STRIDE))
    x_test = data["x_test"]
    if method == "last-value":
        forecast = last_value(x_test, LOSLOOP_STEPS)
    else:
        train_rows = data["speeds"][: len(data["x_train"]) + 2 * LOSLOOP_STEPS - 1]
        model = LinearAR.fit(train_rows, LOSLOOP_STEPS, LOSLOOP_STEPS, shared=True)
        forecast = model.predict(x_test, LOSLOOP_STEPS)
    return UnitOutput(metrics=losloop_metrics(data["y_test"], forecast))


def losloop_dcrnn(ctx: UnitContext, max_diffusion_step: int) -> UnitOutput:
    """DCRNN (K = 2) or the K = 0 per-sensor GRU on LOS-loop, masked MAE training."""
    data = losloop_windows(ctx.preset(LOSLOOP_EVAL_STRIDE))
    adjacency = losloop_adjacency(ctx)
    recipe = ctx.preset(losloop_recipes(adjacency.shape[0], max_diffusion_step))
    model, result = train_dcrnn(ctx, adjacency, data["x_train"], data["y_train"], recipe)
    forecast, wall = predict_windows(model, data["x_test"])
    metrics = losloop_metrics(data["y_test"], forecast)
    output = dcrnn_output(model, result, metrics, wall, len(forecast), recipe.batch_size)
    if max_diffusion_step:
        output.notes.append(f"graph: {ctx.options.get('graph', 'metr_la')}")
    return output


@register_unit("graph-losloop", "last-value", family="baseline")
def losloop_last_value(ctx: UnitContext) -> UnitOutput:
    """Repeat the last 5-minute speed for the next hour."""
    return losloop_floor(ctx, "last-value")


@register_unit("graph-losloop", "linear-ar", family="baseline")
def losloop_linear_ar(ctx: UnitContext) -> UnitOutput:
    """One least-squares map from the last 12 speeds to the next 12, shared by all sensors."""
    return losloop_floor(ctx, "linear-ar")


@register_unit("graph-losloop", "gru-per-node", family="rnn")
def losloop_gru_per_node(ctx: UnitContext) -> UnitOutput:
    """The DCRNN seq2seq with K = 0: one GRU applied to every sensor, shared weights."""
    return losloop_dcrnn(ctx, 0)


@register_unit("graph-losloop", "dcrnn", family="hybrid")
def losloop_dcrnn_k2(ctx: UnitContext) -> UnitOutput:
    """DCRNN, dual random walk on the METR-LA road graph (or los_adj), K = 2."""
    return losloop_dcrnn(ctx, 2)
