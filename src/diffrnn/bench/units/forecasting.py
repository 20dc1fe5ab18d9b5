"""Forecasting units: the floors, and every network forecaster over the contract.

The work is done by generic functions over a `ForecastProblem` (train rows, test windows,
context, horizon, freq) and a spec of `diffrnn.forecast_specs.SPECS`, so the same code serves
every forecaster on the vendored tasks and on users' data:

    probabilistic_floor_unit(problem, ctx, "random-walk")  # crps, crps_sum, mse, mae from paths
    forecast_unit(problem, ctx, "deepar")                  # any network spec: trains, scores paths
    point_floor_unit([problem], ctx, "linear-ar")          # mse, mae
    direct_unit([problem], ctx, "segrnn")                  # one point model for the longest horizon

Registered here: on forecast-exchange `last-value`, `seasonal-naive`, `random-walk`,
`linear-ar`, and DeepAR with each cell: `deepar` (LSTM), `deepar-gru`, `deepar-mingru`,
`deepar-minlstm` (formerly `gru`, `mingru`, `minlstm`, still accepted); on forecast-etth1
`last-value`, `linear-ar`, the point forecasters `lstm`, `gru`, `mingru` and `segrnn` (Lin et al.
2023, `diffrnn.rnn.segrnn`). A model with settings of its own for scoring (sample count, test
windows, extra curves) puts an `Evaluation` in `EVALUATIONS` (`units/diffusion_forecasting.py`,
`units/timegrad.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

import diffrnn.bench.tasks  # noqa: F401  (defines the tasks registered on below)
from diffrnn.bench.registry import UnitContext, UnitOutput, register_alias, register_unit
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
from diffrnn.data.windows import ForecastProblem, season_length
from diffrnn.errors import DataError
from diffrnn.forecast_specs import SPECS

if TYPE_CHECKING:
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.forecast_specs import Fitted, NetworkSpec
    from diffrnn.rnn.cells import CellType

NUM_SAMPLES = 100  # sample paths per series and window (the task protocol)
FloorName = Literal["last-value", "seasonal-naive", "random-walk", "linear-ar"]
ETTH1_HORIZONS = (96, 192, 336, 720)
ETTH1_EVAL_STRIDE = {"quick": 16, "full": 1}
"""Every how many ETTh1 test windows a point model is scored (1 = all of its 2,785)."""


# ---------------------------------------------------------------------------------------------
# Problems of the vendored tasks


def exchange_problem() -> ForecastProblem:
    """exchange_rate_nips: 8 series, train 6071 business days, 5 test windows of 30 days."""
    from diffrnn.data.timeseries import load_exchange_rate_nips

    data = load_exchange_rate_nips()
    return ForecastProblem(
        values=data.test[-1].T,  # (T, N): every test series extends the training one
        train_end=data.train.shape[1],
        test_ends=data.test_ends,
        horizon=data.prediction_length,
        context=data.prediction_length,
        freq=data.freq,
        start=data.start,
    )


def etth1_problem(horizon: int, input_length: int = 96) -> ForecastProblem:
    """ETTh1, Informer protocol: standardised on train, input 96 (the task's; the long-input
    benchmarks also take 336 or 720), every test window (stride 1)."""
    from diffrnn.data.timeseries import ETT_TEST_END, ETT_VAL_END, load_etth1

    data = load_etth1(input_length)
    return ForecastProblem(
        values=data.scaled[:ETT_TEST_END],
        train_end=data.borders["train"][1],
        test_ends=tuple(range(ETT_VAL_END + horizon, ETT_TEST_END + 1)),
        horizon=horizon,
        context=data.input_length,
        freq="h",
        start=data.timestamps[0],
    )


def _subset(problem: ForecastProblem, stride: int) -> ForecastProblem:
    return replace(problem, test_ends=problem.test_ends[::stride])


# ---------------------------------------------------------------------------------------------
# Probabilistic units (sample paths -> crps, crps_sum, mse, mae)


def floor_samples(
    problem: ForecastProblem, method: FloorName, num_samples: int, seed: int
) -> np.ndarray:
    """Forecasts of a floor on the test windows as paths (W, S, H, N); S = 1 for point floors."""
    from diffrnn.baselines.forecast import LinearAR, RandomWalk, last_value, seasonal_naive

    rng = np.random.default_rng(seed)
    season = season_length(problem.freq) if method == "seasonal-naive" else 1
    if season > min(problem.test_ends) - problem.horizon:
        raise DataError(
            f"seasonal naive needs a {season}-step season of {problem.freq!r} data before the "
            f"first origin; there are {min(problem.test_ends) - problem.horizon} steps.",
            "give more history or fewer test windows.",
        )
    past, _ = problem.test_windows(history=max(problem.context, season))
    h = problem.horizon
    if method == "last-value":
        return last_value(past, h)[:, None]
    if method == "seasonal-naive":
        return seasonal_naive(past, h, season)[:, None]
    if method == "random-walk":
        return RandomWalk.fit(problem.train).sample(past, h, num_samples, rng)
    if method == "linear-ar":
        order = min(problem.context, 7)
        return LinearAR.fit(problem.train, order, shared=False).sample(past, h, num_samples, rng)
    raise ValueError(f"method must be one of {FloorName.__args__}, got {method!r}")


def probabilistic_floor_unit(
    problem: ForecastProblem, ctx: UnitContext, method: FloorName
) -> UnitOutput:
    """Score a floor's paths (or point forecast) on every test window of `problem`."""
    from diffrnn.evaluation.forecast import sample_metrics
    from diffrnn.evaluation.timing import timed_call

    paths, wall = timed_call(lambda: floor_samples(problem, method, NUM_SAMPLES, ctx.seed))
    _, future = problem.test_windows()
    notes = [] if paths.shape[1] > 1 else ["point forecast: CRPS of a point mass (= weighted MAE)"]
    if method == "seasonal-naive":
        notes.append(f"season: {season_length(problem.freq)} steps of {problem.freq!r}")
    return UnitOutput(
        metrics=sample_metrics(future, paths),
        infer_seconds_per_sample=wall / paths[:, :, 0, :].size,
        curves=origin_curves(problem, paths),
        notes=notes,
    )


def origin_curves(
    problem: ForecastProblem, paths: np.ndarray, test_ends: tuple[int, ...] | None = None
) -> dict[str, dict[str, list[float]]]:
    """`crps_vs_origin`: the CRPS of each test window (x: its index in `problem.test_ends`),
    all on the scale of every test window of `problem`, so models scored on a subset of the
    origins compare origin by origin. Empty when the targets are all zero (no CRPS scale).

    Args:
        paths: (W, S, H, N) forecasts of the windows ending at `test_ends` (default: all).
    """
    from diffrnn.evaluation.forecast import crps_by_window

    ends = problem.test_ends if test_ends is None else test_ends
    _, every_future = problem.test_windows()  # (W_all, H, N)
    scale = float(np.abs(every_future).sum()) / len(every_future)
    if not scale > 0:
        return {}
    future = np.stack([problem.values[e - problem.horizon : e] for e in ends])
    return {
        "crps_vs_origin": {
            "x": [problem.test_ends.index(e) for e in ends],
            "y": crps_by_window(future, paths, scale).tolist(),
        }
    }


@dataclass(frozen=True)
class Scored:
    """What a network unit scored, for an `Evaluation`'s extras: the trained model, the scored
    windows (`problem.test_ends`), their history (W, L, N), calendar (W, C + H, F) or None and
    future (W, H, N)."""

    fitted: Fitted
    network: NetworkSpec
    problem: ForecastProblem
    history: np.ndarray
    calendar: np.ndarray | None
    future: np.ndarray
    seed: int


@dataclass(frozen=True)
class Evaluation:
    """How a network unit scores a model in one suite.

    Attributes:
        num_samples: paths per window.
        max_windows: test windows scored, evenly spaced (None: all).
        extras: (scored) -> more `UnitOutput` fields (curves and notes are added to the unit's).
    """

    num_samples: int = NUM_SAMPLES
    max_windows: int | None = None
    extras: Callable[[Scored], dict[str, Any]] | None = None


EVALUATIONS: dict[str, Mapping[str, Evaluation]] = {}
"""Spec name -> suite or recipe size -> `Evaluation` (`ctx.preset`); a spec without one is scored
with the task protocol's 100 paths on every window."""
_PROTOCOL = {"quick": Evaluation(), "full": Evaluation()}


def fit_network(
    problem: ForecastProblem, ctx: UnitContext, network: NetworkSpec, recipe: Recipe | None = None
) -> Fitted:
    """Train `network` on `problem`'s training rows with the suite's recipe (or `recipe`),
    within ctx.budget_s, checkpointed in the unit's folder."""

    def trainer(model: Any, dataset: Any, recipe: Recipe) -> Any:
        loader = seeded_loader(dataset, recipe.batch_size, ctx.seed)
        return train_for_unit(model, loader, ctx, recipe.train)

    return network.fit(problem, ctx.recipe, ctx.seed, trainer, recipe)


def _calendar_windows(problem: ForecastProblem) -> np.ndarray | None:
    """Calendar features of each test window's context and horizon: (W, C + H, F) or None."""
    calendar = problem.calendar()  # (T, F) or None
    if calendar is None:
        return None
    steps = problem.context + problem.horizon
    return np.stack([calendar[e - steps : e] for e in problem.test_ends])


def forecast_unit(
    problem: ForecastProblem,
    ctx: UnitContext,
    name: str,
    cell: CellType | None = None,
    recipe: str | None = None,
) -> UnitOutput:
    """Any network forecaster of `diffrnn.forecast_specs.SPECS`, trained with its recipe at the
    suite's size (and its scaling) within ctx.budget_s, scored on the paths it draws from each
    test window's history (`EVALUATIONS[name]`: how many, on which windows, what else).

    Args:
        problem: training rows and test windows (a vendored task's, or the user's backtest).
        name: a key of `SPECS`.
        cell: instead of the spec's cell (e.g. `--option cell=...`).
        recipe: instead of the spec's recipe (a task's own variant of it).

    Returns:
        crps, crps_sum, mse (of the path mean), mae (of the path median), timings, the CRPS of
        each test window, a fan chart of the last.
    """
    from diffrnn.evaluation.forecast import sample_metrics
    from diffrnn.evaluation.timing import timed_call

    spec = SPECS[name]
    network = spec.network
    if network is None:
        raise ValueError(f"{name!r} is not a network forecaster")
    if cell is not None:
        network = replace(network, cell=cell)
    if recipe is not None:
        network = replace(network, recipe=recipe)
    evaluation = ctx.preset(EVALUATIONS.get(name, _PROTOCOL))
    fitted = fit_network(problem, ctx, network)
    result = fitted.result
    assert result is not None
    stride = 1
    if evaluation.max_windows is not None:
        stride = max(1, -(-len(problem.test_ends) // evaluation.max_windows))
    scored = replace(problem, test_ends=problem.test_ends[::stride])
    history, future = scored.test_windows(history=spec.history(fitted, scored))  # (W, L, N)
    feats = _calendar_windows(scored) if spec.uses_calendar else None
    sampling = ctx.preset(network.sampling) if network.sampling else {}
    paths, wall = timed_call(
        lambda: network.paths(fitted, history, feats, evaluation.num_samples, ctx.seed, sampling)
    )  # (W, S, H, N); S = 1 for a point forecast
    paths = paths[:, :, : problem.horizon]
    notes = [f"{result.steps} steps of the {fitted.recipe} recipe; scaling: {spec.scaling}"]
    if sampling:
        notes.append("sampler: " + ", ".join(f"{k} {v}" for k, v in sampling.items()))
    if paths.shape[1] == 1:
        notes.append("point forecast: CRPS of a point mass (= weighted MAE)")
    else:
        notes.append(f"{paths.shape[1]} paths per window")
    if stride > 1:
        notes.append(f"scored every {stride}th test window ({len(scored.test_ends)} windows)")
    curves = {"train_loss": result.train_losses, **origin_curves(problem, paths, scored.test_ends)}
    fields: dict[str, Any] = {}
    if evaluation.extras is not None:
        fields = evaluation.extras(
            Scored(fitted, network, scored, history, feats, future, ctx.seed)
        )
        curves.update(fields.pop("curves", {}))
        notes.extend(fields.pop("notes", []))
    artefacts = {}
    if ctx.out_dir is not None:
        chart = Path(ctx.out_dir) / "fan_chart.png"
        artefacts["fan_chart"] = fan_chart(scored, paths[-1], chart, spec.description)
    drawn = paths.shape[0] * paths.shape[1] * problem.num_series  # series paths
    return fitted_output(
        result,
        sample_metrics(future, paths),
        infer_seconds_per_sample=wall / drawn,
        throughput=drawn / wall,
        throughput_unit="paths/s",
        curves=curves,
        artefacts=artefacts,
        notes=notes,
        **fields,
    )


def fan_chart(problem: ForecastProblem, paths: np.ndarray, path: Path, title: str) -> str:
    """PNG of the last test window: history, truth, median and 50%/90% bands per series.

    Args:
        paths: (S, H, N) sample paths of the last window.

    Returns:
        the file name, relative to its directory.
    """
    from diffrnn.plots import pyplot, save_png

    end, h = problem.test_ends[-1], problem.horizon
    shown = min(problem.num_series, 8)
    past = np.arange(end - h - 2 * h, end - h)
    future = np.arange(end - h, end)
    fig, axes = pyplot().subplots(
        2, (shown + 1) // 2, figsize=(3 * ((shown + 1) // 2), 5), squeeze=False
    )
    for n, ax in enumerate(axes.flat[:shown]):
        lo5, lo25, mid, hi75, hi95 = np.quantile(paths[:, :, n], [0.05, 0.25, 0.5, 0.75, 0.95], 0)
        ax.plot(past, problem.values[past, n], color="black", lw=1)
        ax.plot(future, problem.values[future, n], color="black", lw=1, ls="--")
        ax.fill_between(future, lo5, hi95, color="tab:blue", alpha=0.2, lw=0)
        ax.fill_between(future, lo25, hi75, color="tab:blue", alpha=0.4, lw=0)
        ax.plot(future, mid, color="tab:blue", lw=1)
        ax.set_title(f"series {n}", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"{title}: last test window, median and 50% / 90% bands")
    return save_png(fig, path, dpi=80).name


# ---------------------------------------------------------------------------------------------
# Point units (mse, mae on standardised data)


def point_floor_unit(
    problems: list[ForecastProblem], ctx: UnitContext, method: Literal["last-value", "linear-ar"]
) -> UnitOutput:
    """Score a point floor on each problem (one per horizon); headline = the first problem.

    `linear-ar` is the direct least-squares map from the last `context` values to all H future
    values, shared by every series (LTSF-Linear's "Linear", fitted in closed form).
    """
    from diffrnn.baselines.forecast import LinearAR, last_value
    from diffrnn.evaluation.forecast import mae, mse

    stride = ETTH1_EVAL_STRIDE[ctx.recipe]
    by_horizon: dict[str, dict[str, float]] = {}
    wall = time.perf_counter()
    for problem in problems:
        problem = _subset(problem, stride)
        past, future = problem.test_windows()
        if method == "last-value":
            forecast = last_value(past, problem.horizon)
        else:
            model = LinearAR.fit(problem.train, problem.context, problem.horizon, shared=True)
            forecast = model.predict(past, problem.horizon)
        by_horizon[str(problem.horizon)] = {
            "mse": mse(future, forecast),
            "mae": mae(future, forecast),
        }
    wall = time.perf_counter() - wall
    return UnitOutput(
        metrics=_point_metrics(by_horizon),
        train_seconds=wall if method == "linear-ar" else 0.0,
        notes=_point_notes(by_horizon, stride),
    )


def direct_unit(
    problems: list[ForecastProblem],
    ctx: UnitContext,
    name: str,
    recipe: Recipe | None = None,
) -> UnitOutput:
    """Train one point forecaster of `SPECS` for the longest horizon within ctx.budget_s; score
    each problem (horizon h) on the first h of its outputs, so the whole budget goes into one
    model. The values are used as they are (ETTh1's are standardised on its training split): the
    spec's scaling is the Forecaster's, for a user's raw series.

    Args:
        problems: one per horizon, all with the same series, training rows and context.
        name: a key of `SPECS` whose network forecasts one path (`sample_paths` with S = 1).
        recipe: instead of the spec's recipe for the longest problem at the suite's size.
    """
    import torch

    from diffrnn.evaluation.forecast import mae, mse
    from diffrnn.evaluation.timing import timed_call

    spec = SPECS[name]
    network = spec.network
    assert network is not None
    longest = max(problems, key=lambda p: p.horizon)
    recipe = network.build(longest, ctx.recipe) if recipe is None else recipe
    torch.manual_seed(ctx.seed)
    model = network.network(recipe)
    loader = seeded_loader(network.dataset(model, longest), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, recipe.train)

    def predict(past: np.ndarray) -> np.ndarray:
        chunks = [
            result.model.sample_paths(
                torch.as_tensor(past[i : i + 512], dtype=torch.float32), None, 1, None
            )[:, 0]
            for i in range(0, len(past), 512)
        ]
        return torch.cat(chunks).numpy()  # (W, H_longest, N)

    stride = ETTH1_EVAL_STRIDE[ctx.recipe]
    by_horizon: dict[str, dict[str, float]] = {}
    infer_s, forecasts = 0.0, 0
    for problem in problems:
        past, future = _subset(problem, stride).test_windows()
        forecast, wall = timed_call(lambda past=past: predict(past))
        forecast = forecast[:, : problem.horizon]  # the first h of the longest horizon's outputs
        infer_s += wall
        forecasts += len(past)
        by_horizon[str(problem.horizon)] = {
            "mse": mse(future, forecast),
            "mae": mae(future, forecast),
        }
    return fitted_output(
        result,
        _point_metrics(by_horizon),
        infer_seconds_per_sample=infer_s / forecasts,
        throughput=forecasts / infer_s,
        throughput_unit="windows/s",
        notes=[
            *_point_notes(by_horizon, stride),
            f"{spec.description}; {recipe.model}: one model for horizon {longest.horizon}, "
            f"input {longest.context}, {result.steps} steps of batch {recipe.batch_size}",
        ],
    )


def _point_metrics(by_horizon: dict[str, dict[str, float]]) -> dict[str, object]:
    first = next(iter(by_horizon.values()))
    return {"mse": first["mse"], "mae": first["mae"], "by_horizon": by_horizon}


def _point_notes(by_horizon: dict[str, dict[str, float]], stride: int) -> list[str]:
    notes = [f"horizon {h}: mse {m['mse']:.4f}, mae {m['mae']:.4f}" for h, m in by_horizon.items()]
    if stride > 1:
        notes.append(f"scored every {stride}th test window (quick suite)")
    return notes


# ---------------------------------------------------------------------------------------------
# Registration on the vendored tasks


def exchange_floor(ctx: UnitContext, method: FloorName) -> UnitOutput:
    """A floor on the 5 exchange test windows."""
    return probabilistic_floor_unit(exchange_problem(), ctx, method)


def exchange_network(ctx: UnitContext, name: str) -> UnitOutput:
    """A network forecaster of `SPECS` on the 5 exchange test windows (`--option cell=...`
    changes its cell)."""
    return forecast_unit(exchange_problem(), ctx, name, ctx.options.get("cell"))


def _etth1_problems(suite: str) -> list[ForecastProblem]:
    return [etth1_problem(h) for h in (ETTH1_HORIZONS if suite == "full" else ETTH1_HORIZONS[:1])]


def etth1_floor(ctx: UnitContext, method: Literal["last-value", "linear-ar"]) -> UnitOutput:
    """A point floor on ETTh1 (horizon 96; all four in the full suite)."""
    return point_floor_unit(_etth1_problems(ctx.recipe), ctx, method)


def etth1_direct(ctx: UnitContext, name: str) -> UnitOutput:
    """A point forecaster of `SPECS` on ETTh1 (horizon 96; all four in the full suite)."""
    return direct_unit(_etth1_problems(ctx.recipe), ctx, name)


# Units are partials of module-level functions so the harness can pickle them.
for _floor in ("last-value", "seasonal-naive", "random-walk", "linear-ar"):
    register_unit("forecast-exchange", _floor, "baseline", f"{_floor} floor, 100 paths")(
        partial(exchange_floor, method=_floor)
    )
for _name in ("deepar", "deepar-gru", "deepar-mingru", "deepar-minlstm"):
    register_unit("forecast-exchange", _name, "rnn", SPECS[_name].description)(
        partial(exchange_network, name=_name)
    )
# Old names: on forecast-etth1 `gru` and `mingru` are point forecasters (issue 18: one meaning).
for _old in ("gru", "mingru", "minlstm"):
    register_alias("forecast-exchange", _old, f"deepar-{_old}")
for _floor in ("last-value", "linear-ar"):
    register_unit("forecast-etth1", _floor, "baseline", f"{_floor} point floor")(
        partial(etth1_floor, method=_floor)
    )
for _unit, _name in (
    ("lstm", "point-lstm"),
    ("gru", "point-gru"),
    ("mingru", "point-mingru"),
    ("segrnn", "segrnn"),
):
    register_unit("forecast-etth1", _unit, "rnn", SPECS[_name].description)(
        partial(etth1_direct, name=_name)
    )
