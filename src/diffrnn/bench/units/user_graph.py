"""Units of `graph-user`: the graph forecasting families on the user's own graph.

Each unit rebuilds the user's windows and adjacency from `ctx.options` (see
`diffrnn.bench.user_graph`) and runs the code graph-chickenpox runs: the last value, one
least-squares AR shared by every node, the per-node GRU (DCRNN with K = 0: the same seq2seq, no
graph) and DCRNN (K = 2, dual random walk), at chickenpox's recipe sizes; and TimeGrad over the
node series (`units.timegrad`, every node a dimension of one diffusion, no graph). MSE and MAE
over every node and step of the test windows, on the standardised scale (TimeGrad's of its
paths' mean and median, beside its CRPS).
"""

from __future__ import annotations

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.units.graph import (
    chickenpox_recipes,
    dcrnn_output,
    predict_windows,
    train_dcrnn,
)
from diffrnn.bench.units.timegrad import timegrad_unit
from diffrnn.bench.user_graph import TASK, graph_problem


def _metrics(target, forecast) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from diffrnn.evaluation.forecast import mae, mse

    return {"mse": mse(target, forecast), "mae": mae(target, forecast)}


def _floor(ctx: UnitContext, method: str) -> UnitOutput:
    from diffrnn.baselines.forecast import LinearAR, last_value

    p = graph_problem(ctx.options)
    horizon, context = p.y_test.shape[1], p.x_test.shape[1]
    if method == "last-value":
        forecast = last_value(p.x_test, horizon)
    else:
        model = LinearAR.fit(p.values[: p.train_rows], context, horizon, shared=True)
        forecast = model.predict(p.x_test, horizon)
    return UnitOutput(metrics=_metrics(p.y_test, forecast), notes=list(p.notes))


def _dcrnn(ctx: UnitContext, max_diffusion_step: int) -> UnitOutput:
    p = graph_problem(ctx.options)
    horizon = p.y_train.shape[1]
    recipe = ctx.preset(chickenpox_recipes(p.adjacency.shape[0], max_diffusion_step, horizon))
    model, result = train_dcrnn(ctx, p.adjacency, p.x_train, p.y_train, recipe)
    forecast, wall = predict_windows(model, p.x_test)
    metrics = _metrics(p.y_test, forecast)
    output = dcrnn_output(model, result, metrics, wall, len(p.x_test), recipe.batch_size)
    if max_diffusion_step:
        output.notes.extend(p.notes)
    return output


@register_unit(TASK, "last-value", family="baseline")
def last_value_user_graph(ctx: UnitContext) -> UnitOutput:
    """Repeat each node's last value over the horizon."""
    return _floor(ctx, "last-value")


@register_unit(TASK, "linear-ar", family="baseline")
def linear_ar_user_graph(ctx: UnitContext) -> UnitOutput:
    """One least-squares map from the context to the horizon, shared by all nodes (no graph)."""
    return _floor(ctx, "linear-ar")


@register_unit(TASK, "gru-per-node", family="rnn")
def gru_per_node_user_graph(ctx: UnitContext) -> UnitOutput:
    """The DCRNN seq2seq with K = 0: one GRU applied to every node, shared weights."""
    return _dcrnn(ctx, 0)


@register_unit(TASK, "dcrnn", family="hybrid")
def dcrnn_user_graph(ctx: UnitContext) -> UnitOutput:
    """DCRNN, dual random walk on the user's graph, K = 2."""
    return _dcrnn(ctx, 2)


@register_unit(TASK, "timegrad", family="hybrid")
def timegrad_user_graph(ctx: UnitContext) -> UnitOutput:
    """TimeGrad over the node series: a GRU conditioning one diffusion over all nodes, no graph."""
    return timegrad_unit(graph_problem(ctx.options).forecast_problem(), ctx)
