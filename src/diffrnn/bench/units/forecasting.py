"""Forecasting units: floors, DeepAR (any cell) and the RNN point forecaster.

The work is done by generic functions over a `ForecastProblem` (train rows, test windows,
context, horizon, freq), so the same code serves the vendored tasks and users' data:

    probabilistic_floor_unit(problem, ctx, "random-walk")  # crps, crps_sum, mse, mae from paths
    deepar_unit(problem, ctx, cell="lstm")                 # trains DeepAR within ctx.budget_s
    point_floor_unit([problem], ctx, "linear-ar")          # mse, mae
    point_forecaster_unit([problem], ctx, cell="gru")      # one model for the longest horizon
    segrnn_unit([problem], ctx)                            # SegRNN, the same way
    network_unit(problem, ctx, "segrnn")                   # any network_spec forecaster: paths

Registered here: on forecast-exchange `last-value`, `seasonal-naive`, `random-walk`,
`linear-ar`, `deepar` (LSTM) and DeepAR with other cells as `deepar-gru` (formerly `gru`, still
accepted), `mingru`, `minlstm`; on
forecast-etth1 `last-value`, `linear-ar`, `lstm`, `gru`, `mingru` (point forecasters) and
`segrnn` (Lin et al. 2023, `diffrnn.rnn.segrnn`).
"""

from __future__ import annotations

import time
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
from diffrnn.rnn.cells import CellType

if TYPE_CHECKING:
    from diffrnn.forecast_specs import NetworkRecipe

NUM_SAMPLES = 100  # sample paths per series and window (the task protocol)
SAMPLE_CHUNK_PATHS = 100_000
"""Series paths sampled at once (DeepAR: series x windows x samples; TimeGrad: whole windows of
samples x series). DeepAR's 3M paths of 10,000 series x 3 origins at once peaked at 16.8 GB,
in chunks of 100k at 1.5 GB (the GRU unit, quick suite)."""
FloorName = Literal["last-value", "seasonal-naive", "random-walk", "linear-ar"]
ETTH1_HORIZONS = (96, 192, 336, 720)


@dataclass(frozen=True)
class TrainRecipe:
    """Training and evaluation settings of a learned unit for one suite."""

    max_steps: int
    batch_size: int
    lr: float
    hidden_size: int
    num_layers: int
    eval_stride: int  # every how many test windows are scored (1 = all)
    ema_decay: float | None = None  # average the weights (the final iterate's noise biases z)
    schedule: Literal["constant", "cosine"] = "constant"


DEEPAR_RECIPES = {
    "quick": TrainRecipe(
        max_steps=150, batch_size=32, lr=3e-3, hidden_size=16, num_layers=1, eval_stride=1
    ),
    "full": TrainRecipe(
        max_steps=2000,
        batch_size=32,
        lr=1e-3,
        hidden_size=40,
        num_layers=2,
        eval_stride=1,
        ema_decay=0.995,
        schedule="cosine",
    ),
}
POINT_RECIPES = {
    "quick": TrainRecipe(
        max_steps=60, batch_size=16, lr=3e-3, hidden_size=32, num_layers=1, eval_stride=16
    ),
    "full": TrainRecipe(
        max_steps=3000, batch_size=32, lr=1e-3, hidden_size=64, num_layers=1, eval_stride=1
    ),
}


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


def deepar_config_for(problem: ForecastProblem, cell: CellType, suite: str):
    """The DeepAR preset for a problem: GluonTS's defaults on exchange, lags that fit elsewhere."""
    from diffrnn.data.windows import lags_for_frequency
    from diffrnn.rnn.deepar import DeepARConfig

    recipe = DEEPAR_RECIPES[suite]
    room = problem.train_end - problem.context - problem.horizon  # rows available for lags
    lags = lags_for_frequency(problem.freq)
    lags = tuple(lag for lag in lags if lag <= min(room // 2, SHORT_LAG_LIMIT))
    return DeepARConfig(
        context_length=problem.context,
        prediction_length=problem.horizon,
        lags=lags,
        freq=problem.freq if problem.start is not None else None,
        cell=cell,
        hidden_size=recipe.hidden_size,
        num_layers=recipe.num_layers,
        dropout=0.1 if recipe.num_layers > 1 else 0.0,
        distribution="student_t",
        num_series=problem.num_series,
    )


SHORT_LAG_LIMIT = 23
"""Largest lag used: GluonTS's business-day lags up to a month (22 +- 1). The yearly lags
(259..793) cost 770 extra rows per window and scored worse on exchange within the budget
(BENCHMARKS.md)."""


def deepar_unit(
    problem: ForecastProblem, ctx: UnitContext, cell: CellType = "lstm", chart: bool = True
) -> UnitOutput:
    """Train DeepAR with `cell` on the training rows within ctx.budget_s and score its paths.

    With `chart`, also writes a fan chart of the last test window (`fan_chart.png`).
    """
    import torch

    from diffrnn.data.windows import SeriesWindows
    from diffrnn.evaluation.forecast import sample_metrics
    from diffrnn.evaluation.timing import timed_call
    from diffrnn.rnn.deepar import DeepAR
    from diffrnn.training import OptimConfig, TrainConfig

    recipe = DEEPAR_RECIPES[ctx.recipe]
    config = deepar_config_for(problem, cell, ctx.recipe)
    calendar = problem.calendar()  # (T, F) or None
    windows = SeriesWindows(
        problem.train,
        config.window_length,
        None if calendar is None else calendar[: problem.train_end],
    )
    torch.manual_seed(ctx.seed)
    train = TrainConfig(
        max_steps=recipe.max_steps,
        grad_clip=10.0,
        ema_decay=recipe.ema_decay,
        optim=OptimConfig(lr=recipe.lr, schedule=recipe.schedule, total_steps=recipe.max_steps),
    )
    loader = seeded_loader(windows, recipe.batch_size, ctx.seed)
    result = train_for_unit(DeepAR(config), loader, ctx, train)
    model = result.model

    history, future = problem.test_windows(history=config.history_length)  # (W, L_h, N), (W, H, N)
    steps = config.context_length + config.prediction_length
    num_windows, _, n = history.shape
    feats = np.zeros((num_windows, steps, 0), np.float32)
    if calendar is not None:
        feats = np.stack([calendar[e - steps : e] for e in problem.test_ends])  # (W, C + H, F)
    rows = (
        torch.as_tensor(history, dtype=torch.float32).permute(0, 2, 1).reshape(num_windows * n, -1)
    )
    feats_t = torch.as_tensor(feats).repeat_interleave(n, dim=0)  # (W N, C + H, F)
    ids = torch.arange(n).repeat(num_windows)
    chunk = max(1, SAMPLE_CHUNK_PATHS // NUM_SAMPLES)  # bounded memory for many series

    def draw() -> torch.Tensor:
        torch.manual_seed(ctx.seed)
        return torch.cat(
            [
                model.sample(
                    rows[i : i + chunk], feats_t[i : i + chunk], ids[i : i + chunk], NUM_SAMPLES
                )
                for i in range(0, len(rows), chunk)
            ]
        )  # (W N, S, H)

    paths, wall = timed_call(draw)
    paths = paths.view(num_windows, n, NUM_SAMPLES, -1).permute(0, 2, 3, 1).double().numpy()
    artefacts = {}
    if chart and ctx.out_dir is not None:
        artefacts["fan_chart"] = fan_chart(
            problem, paths[-1], Path(ctx.out_dir) / "fan_chart.png", f"DeepAR ({cell})"
        )
    return fitted_output(
        result,
        sample_metrics(future, paths),
        infer_seconds_per_sample=wall / (num_windows * n * NUM_SAMPLES),
        throughput=num_windows * n * NUM_SAMPLES / wall,
        throughput_unit="paths/s",
        curves={"train_loss": result.train_losses, **origin_curves(problem, paths)},
        artefacts=artefacts,
        notes=[f"{result.steps} steps of batch {recipe.batch_size}, lags {config.lags}"],
    )


def network_unit(problem: ForecastProblem, ctx: UnitContext, name: str) -> UnitOutput:
    """Any `network_spec` forecaster of `diffrnn.forecast_specs.MODELS`, trained as a
    `Forecaster` trains it (its preset at the suite's size, its scaling) within ctx.budget_s,
    and scored on the paths it draws from each test window's history.

    Args:
        problem: training rows and test windows (e.g. the user's backtest).
        name: a key of `MODELS` whose spec has a `network`.
    """
    from diffrnn.evaluation.forecast import sample_metrics
    from diffrnn.evaluation.timing import timed_call
    from diffrnn.forecast_specs import MODELS

    spec = MODELS[name]
    if spec.network is None:
        raise ValueError(f"{name!r} is not a network_spec forecaster")

    def trainer(model: Any, dataset: Any, recipe: NetworkRecipe) -> Any:
        loader = seeded_loader(dataset, recipe.batch_size, ctx.seed)
        return train_for_unit(model, loader, ctx, recipe.train_config())

    fitted = spec.network.fit(problem, ctx.recipe, ctx.seed, trainer)
    result = fitted.result
    assert result is not None
    history, future = problem.test_windows(history=spec.history(fitted, problem))  # (W, L, N)
    calendar = problem.calendar() if spec.uses_calendar else None  # (T, F) or None
    steps = problem.context + problem.horizon
    feats = None
    if calendar is not None:
        feats = np.stack([calendar[e - steps : e] for e in problem.test_ends])  # (W, C + H, F)
    paths, wall = timed_call(
        lambda: spec.network.paths(fitted, history, feats, NUM_SAMPLES, ctx.seed)  # type: ignore[union-attr]
    )  # (W, S, H, N); S = 1 for a point forecast
    paths = paths[:, :, : problem.horizon]
    notes = [f"{result.steps} steps of the {fitted.recipe} preset; scaling: {spec.scaling}"]
    if paths.shape[1] == 1:
        notes.append("point forecast: CRPS of a point mass (= weighted MAE)")
    artefacts = {}
    if ctx.out_dir is not None:
        artefacts["fan_chart"] = fan_chart(
            problem, paths[-1], Path(ctx.out_dir) / "fan_chart.png", name
        )
    drawn = paths.shape[0] * paths.shape[1] * problem.num_series
    return fitted_output(
        result,
        sample_metrics(future, paths),
        infer_seconds_per_sample=wall / drawn,
        throughput=drawn / wall,
        throughput_unit="paths/s",
        curves={"train_loss": result.train_losses, **origin_curves(problem, paths)},
        artefacts=artefacts,
        notes=notes,
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

    stride = POINT_RECIPES[ctx.recipe].eval_stride
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
    model: Any,
    recipe: NetworkRecipe,
    eval_stride: int,
    description: str,
) -> UnitOutput:
    """Train one direct forecaster (`model.predict(past (B, C, N)) -> (B, H, N)`, `model.loss`
    on {"past", "future"}) for the longest horizon within ctx.budget_s; score each problem
    (horizon h) on the first h of its outputs, so the whole budget goes into one model.

    Args:
        problems: one per horizon, all with the same series, training rows and context.
        model: built for the longest horizon of `problems` (seeded by the caller).
        recipe: batch size, learning rate and step cap (`recipe.config` is `model`'s).
        eval_stride: every how many test windows are scored (1 = all).
        description: what the model is, for the notes.
    """
    import torch

    from diffrnn.data.windows import PastFutureWindows
    from diffrnn.evaluation.forecast import mae, mse
    from diffrnn.evaluation.timing import timed_call

    longest = max(problems, key=lambda p: p.horizon)
    loader = seeded_loader(
        PastFutureWindows(longest.train, longest.context, longest.horizon),
        recipe.batch_size,
        ctx.seed,
    )
    result = train_for_unit(model, loader, ctx, recipe.train_config())

    @torch.no_grad()
    def predict(past: np.ndarray) -> np.ndarray:
        chunks = [
            result.model.predict(torch.as_tensor(past[i : i + 512], dtype=torch.float32))
            for i in range(0, len(past), 512)
        ]
        return torch.cat(chunks).numpy()  # (W, H_longest, N)

    by_horizon: dict[str, dict[str, float]] = {}
    infer_s, forecasts = 0.0, 0
    for problem in problems:
        past, future = _subset(problem, eval_stride).test_windows()
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
            *_point_notes(by_horizon, eval_stride),
            f"{description}: one model for horizon {longest.horizon}, input {longest.context}, "
            f"{result.steps} steps of batch {recipe.batch_size}",
        ],
    )


def point_forecaster_unit(
    problems: list[ForecastProblem], ctx: UnitContext, cell: CellType = "gru"
) -> UnitOutput:
    """The direct RNN point forecaster with `cell`, trained and scored by `direct_unit`."""
    import torch

    from diffrnn.forecast_specs import NetworkRecipe
    from diffrnn.rnn.point_forecaster import PointForecaster, PointForecasterConfig

    recipe = POINT_RECIPES[ctx.recipe]
    longest = max(problems, key=lambda p: p.horizon)
    config = PointForecasterConfig(
        input_length=longest.context,
        horizon=longest.horizon,
        num_series=longest.num_series,
        cell=cell,
        hidden_size=recipe.hidden_size,
        num_layers=recipe.num_layers,
    )
    torch.manual_seed(ctx.seed)
    model = PointForecaster(config)
    training = NetworkRecipe(config, recipe.batch_size, recipe.max_steps, recipe.lr)
    return direct_unit(
        problems, ctx, model, training, recipe.eval_stride, f"{cell} point forecaster"
    )


def segrnn_unit(
    problems: list[ForecastProblem], ctx: UnitContext, recipe: NetworkRecipe | None = None
) -> UnitOutput:
    """SegRNN (`diffrnn.rnn.segrnn`) with `recipe` (default: `segrnn_forecaster`'s for the
    longest horizon at the suite's size), trained and scored by `direct_unit`; test windows
    strided as the point forecasters'."""
    import torch

    from diffrnn.rnn.segrnn import SegRNN, segrnn_forecaster

    if recipe is None:
        recipe = segrnn_forecaster(max(problems, key=lambda p: p.horizon), ctx.recipe)
    config = recipe.config
    torch.manual_seed(ctx.seed)
    description = (
        f"SegRNN ({config.cell}, d = {config.hidden_size}, segments of {config.segment_length}, "
        f"{config.loss} loss)"
    )
    stride = POINT_RECIPES[ctx.recipe].eval_stride
    return direct_unit(problems, ctx, SegRNN(config), recipe, stride, description)


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


def exchange_deepar(ctx: UnitContext, cell: CellType) -> UnitOutput:
    """DeepAR with `cell` on forecast-exchange (the quick suite charts only the LSTM's paths)."""
    return deepar_unit(exchange_problem(), ctx, cell, chart=ctx.recipe == "full" or cell == "lstm")


def _etth1_problems(suite: str) -> list[ForecastProblem]:
    return [etth1_problem(h) for h in (ETTH1_HORIZONS if suite == "full" else ETTH1_HORIZONS[:1])]


def etth1_floor(ctx: UnitContext, method: Literal["last-value", "linear-ar"]) -> UnitOutput:
    """A point floor on ETTh1 (horizon 96; all four in the full suite)."""
    return point_floor_unit(_etth1_problems(ctx.recipe), ctx, method)


def etth1_rnn(ctx: UnitContext, cell: CellType) -> UnitOutput:
    """The point forecaster with `cell` on ETTh1 (horizon 96; all four in the full suite)."""
    return point_forecaster_unit(_etth1_problems(ctx.recipe), ctx, cell)


def etth1_segrnn(ctx: UnitContext) -> UnitOutput:
    """SegRNN: a GRU over segments of the input, parallel decoding of the horizon's segments."""
    return segrnn_unit(_etth1_problems(ctx.recipe), ctx)


_cell: CellType  # the loop variable of the cell loops below
# Units are partials of module-level functions so the harness can pickle them.
for _floor in ("last-value", "seasonal-naive", "random-walk", "linear-ar"):
    register_unit("forecast-exchange", _floor, "baseline", f"{_floor} floor, 100 paths")(
        partial(exchange_floor, method=_floor)
    )
for _name, _cell in (
    ("deepar", "lstm"),
    ("deepar-gru", "gru"),
    ("mingru", "mingru"),
    ("minlstm", "minlstm"),
):
    register_unit(
        "forecast-exchange", _name, "rnn", f"DeepAR, {_cell} cell, Student-t, 100 ancestral paths"
    )(partial(exchange_deepar, cell=_cell))
register_alias("forecast-exchange", "gru", "deepar-gru")  # forecast-etth1's gru: point forecaster
for _floor in ("last-value", "linear-ar"):
    register_unit("forecast-etth1", _floor, "baseline", f"{_floor} point floor")(
        partial(etth1_floor, method=_floor)
    )
for _cell in ("lstm", "gru", "mingru"):
    register_unit("forecast-etth1", _cell, "rnn", f"direct multi-horizon {_cell} forecaster")(
        partial(etth1_rnn, cell=_cell)
    )
register_unit("forecast-etth1", "segrnn", "rnn")(etth1_segrnn)
