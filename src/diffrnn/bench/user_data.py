"""The `forecast-user` task: the user's own file as a rolling-origin backtest.

    options = prepare_user_data("sales.csv", horizon=14)   # checks the file, states inferences
    problem = user_problem(options)                         # in each unit: a ForecastProblem

The test windows are the last `windows` blocks of `horizon` steps, one origin every `stride`
steps: at least MIN_ORIGINS non-overlapping blocks when the series allow, more on long series
(origins spread over the last BACKTEST_FRACTION of the history, up to MAX_ORIGINS), never more
than the last half of the rows, and no more than MAX_PATH_VALUES sample values in memory. Every
model trains on the rows before the first origin only. Series that cover different time ranges
are cut to the range all of them cover. Messages name `diffrnn compare`'s flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diffrnn.errors import ConfigError, DataError

MIN_ORIGINS = 5
"""Rolling origins on short series (fewer when even these do not fit)."""
MAX_ORIGINS = 20
"""Most rolling origins: more only cost inference time (each is a forecast per model and seed)."""
BACKTEST_FRACTION = 0.15
"""Long series: the origins are spread over this last share of the history."""
MIN_TRAIN_FRACTION = 0.5
"""The test windows never take more than the last half of the rows."""
CONTEXT_HORIZONS = 2
"""Default context: this many horizons of history."""
PATHS_PER_FORECAST = 100
"""Sample paths per series and origin (the forecasting units' NUM_SAMPLES)."""
MAX_PATH_VALUES = 50_000_000
"""Most forecast values in memory at once, origins x series x horizon x paths (400 MB as
float64; scoring holds a few copies). Fewer origins are planned above it; past it with one, the
file is refused."""
EVALUATION_S_PER_FORECAST = 0.05
"""CPU seconds a forecasting unit may spend per series and origin beyond its training (drawing
and scoring 100 paths), added to the time limit of the user's units: TimeGrad on 10,000 series
x 5 origins had used over 700 CPU s (0.014 per forecast) when the fixed limit killed it."""
DATA_SEEDS = 3
"""Training seeds `compare --data` runs by default, when MAX_SEEDED_TRAINING_S allows."""
MAX_SEEDED_TRAINING_S = 3600.0
"""Wall seconds of training (learned units x seeds x budget / jobs) the default seeds may cost."""


def load_series(options: dict[str, Any]) -> Any:
    """The user's `UserSeries`, read as a unit's `ctx.options` (the loader's keys) say."""
    from diffrnn.data.user import load_user_data

    time_column = options.get("time_column")
    return load_user_data(
        options["path"],
        format=options["format"],
        freq=options["freq"],
        fill=options["fill"],
        id_column=options.get("id_column") or "unique_id",
        time_column=time_column or "ds",
        target_column=options.get("target_column") or "y",
        date_column=time_column,
        encoding=options.get("encoding") or "utf-8",
        surface="cli",
    )


def _stamp(moment: np.datetime64) -> str:
    """A date, with the time of day only when it is not midnight."""
    import pandas as pd

    ts = pd.Timestamp(moment)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def common_range(data: Any) -> tuple[int, int]:
    """(start, end) of the rows every series covers; a DataError when they share none."""
    start, end = int(data.spans[:, 0].max()), int(data.spans[:, 1].min())
    if end <= start:
        raise DataError(
            "your series do not share any time range.",
            "forecast series that overlap in time, or run them as separate files.",
        )
    return start, end


def _origins_in_memory(num_series: int, horizon: int) -> int:
    """How many origins' sample paths fit MAX_PATH_VALUES; a DataError when not even one does."""
    per_origin = num_series * horizon * PATHS_PER_FORECAST
    if per_origin > MAX_PATH_VALUES:
        raise DataError(
            f"{num_series:,} series x horizon {horizon} x {PATHS_PER_FORECAST} sample paths is "
            f"{per_origin:,} forecast values per origin ({per_origin * 8 / 1e9:.1f} GB as "
            f"float64, a few copies while scoring); the limit is {MAX_PATH_VALUES:,} "
            f"({MAX_PATH_VALUES * 8 / 1e9:.1f} GB).",
            f"pass a shorter --horizon, or split the file into groups of at most "
            f"{max(1, MAX_PATH_VALUES // (horizon * PATHS_PER_FORECAST)):,} series.",
        )
    return MAX_PATH_VALUES // per_origin


def plan_backtest(
    rows: int, horizon: int, num_series: int, context: int | None = None, windows: int | None = None
) -> tuple[int, int, int, str]:
    """(context, windows, stride, why) of the backtest on `rows` common rows.

    Without `windows`: non-overlapping windows of `horizon` covering the last BACKTEST_FRACTION
    of the rows, at least MIN_ORIGINS and at most MAX_ORIGINS (spread with a stride above the
    horizon on long series), within the last half of the rows, leaving a training window, and
    within MAX_PATH_VALUES. `why` says what bound the count (empty when nothing did).

    Raises:
        DataError: the rows hold no backtest, or one origin's paths exceed MAX_PATH_VALUES.
    """
    context = context or CONTEXT_HORIZONS * horizon
    fitting = min(int(rows * (1 - MIN_TRAIN_FRACTION)), rows - context - horizon) // horizon
    in_memory = _origins_in_memory(num_series, horizon)
    span = int(rows * BACKTEST_FRACTION)
    stride, why = horizon, ""
    if windows is None:
        wanted = max(MIN_ORIGINS, span // horizon)
        if wanted > MAX_ORIGINS:  # spread MAX_ORIGINS over the span
            stride = max(horizon, (span - horizon) // (MAX_ORIGINS - 1))
            wanted = MAX_ORIGINS
        windows = min(wanted, fitting, in_memory)
        if windows < wanted:
            why = (
                f"memory: {num_series:,} series x horizon {horizon} x {PATHS_PER_FORECAST} paths "
                f"per origin"
                if windows == in_memory and in_memory < fitting
                else "the history's length"
            )
    elif windows > in_memory:
        raise DataError(
            f"--windows {windows} holds {windows * num_series * horizon * PATHS_PER_FORECAST:,} "
            f"forecast values; the limit is {MAX_PATH_VALUES:,}.",
            f"pass --windows {in_memory} or fewer.",
        )
    train_end = rows - (max(windows, 1) - 1) * stride - horizon
    if windows < 1 or train_end < context + horizon:
        need = context + horizon + max(windows, 1) * horizon
        raise DataError(
            f"a backtest with horizon {horizon} and context {context} needs at least {need} rows "
            f"common to all series; your file has {rows}.",
            "pass a shorter --horizon (or --context), or give more history.",
        )
    return context, windows, stride, why


def _origins_text(origins: list[str]) -> str:
    if len(origins) <= 8:
        return ", ".join(origins)
    return f"{', '.join(origins[:3])}, ... ({len(origins) - 5} more), {', '.join(origins[-2:])}"


def prepare_user_data(
    path: str | Path,
    horizon: int,
    format: str | None = None,
    freq: str | None = None,
    context: int | None = None,
    windows: int | None = None,
    fill: str = "error",
    id_column: str | None = None,
    time_column: str | None = None,
    target_column: str | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Check the user's file once, before any unit runs, and describe what was inferred.

    Args:
        path: CSV or Parquet, long (`unique_id, ds, y`) or wide (a date column + one per series).
        horizon: steps to forecast H.
        format, freq, fill: as `diffrnn.data.user.load_user_data` takes them (None: inferred).
        context: history a model is given (default 2 H).
        windows: rolling origins (default: see `plan_backtest`).
        id_column, time_column, target_column: the long format's columns (default unique_id,
            ds, y); `time_column` also names the wide format's date column.
        encoding: the CSV's text encoding (default UTF-8).

    Returns:
        The units' `ctx.options`: the arguments, plus "summary" (shown in the report).

    Raises:
        ConfigError: a non-positive horizon, context or window count.
        DataError: the file is unreadable, malformed or too short for the backtest.
    """
    for name, value in (("--horizon", horizon), ("--context", context), ("--windows", windows)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}.", f"pass {name} 1 or more.")
    options: dict[str, Any] = {
        "path": str(Path(path).resolve()),
        "format": format,
        "freq": freq,
        "fill": fill,
        "horizon": horizon,
        "id_column": id_column,
        "time_column": time_column,
        "target_column": target_column,
        "encoding": encoding,
    }
    data = load_series(options)
    start, end = common_range(data)
    context, windows, stride, why = plan_backtest(
        end - start, horizon, len(data.series_ids), context, windows
    )
    options.update(context=context, windows=windows, stride=stride)
    options["evaluation_s"] = EVALUATION_S_PER_FORECAST * windows * len(data.series_ids)
    problem = user_problem(options, data)
    stamps = data.timestamps[start:end]
    origins = [_stamp(stamps[e - horizon]) for e in problem.test_ends]
    covered = problem.test_ends[-1] - problem.train_end
    options["summary"] = {
        **series_summary(path, data),
        "backtest": f"{windows} rolling origin(s) every {stride} steps over the last {covered} "
        f"rows ({covered / (end - start):.0%} of the history), horizon {horizon}, context "
        f"{context}; models train on the first {problem.train_end} rows only"
        + (f" (origins limited by {why})" if why else ""),
        "origins (first forecast step)": _origins_text(origins),
        "calendar features": "yes (from the timestamps, in the file's local time)"
        if has_calendar_features(data.freq)
        else f"none: no calendar features are defined for {data.freq!r}, models see values only",
        "loader notes": "; ".join(data.notes) or "none",
    }
    return options


def series_summary(path: str | Path, data: Any) -> dict[str, str]:
    """The report's lines on the file `path` loaded as `data` (a `UserSeries`): its file,
    format, frequency, series and the rows used (those every series covers)."""
    start, end = common_range(data)
    stamps = data.timestamps[start:end]
    how = {True: "inferred", False: "given"}
    return {
        "file": str(path),
        "format": f"{data.format} ({how[data.format_inferred]})",
        "frequency": f"{data.freq} ({how[data.freq_inferred]})",
        "series": f"{len(data.series_ids)} ({', '.join(data.series_ids[:8])}"
        + (", ...)" if len(data.series_ids) > 8 else ")"),
        "rows used": f"{end - start}, {_stamp(stamps[0])} to {_stamp(stamps[-1])}"
        + ("" if (start, end) == (0, len(data.timestamps)) else " (the range all series cover)"),
    }


def user_problem(options: dict[str, Any], data: Any | None = None) -> Any:
    """The `ForecastProblem` of the user's file with the backtest `options` describe.

    Args:
        options: `prepare_user_data`'s result (a unit's `ctx.options`).
        data: the loaded `UserSeries` (loaded from `options["path"]` when None).
    """
    from diffrnn.data.windows import ForecastProblem

    data = data if data is not None else load_series(options)
    start, end = common_range(data)
    values = np.ascontiguousarray(data.values[:, start:end].T)  # (T, N)
    horizon, windows = options["horizon"], options["windows"]
    stride = options.get("stride", horizon)
    rows = end - start
    test_ends = tuple(rows - (windows - 1 - k) * stride for k in range(windows))
    return ForecastProblem(
        values=values,
        train_end=test_ends[0] - horizon,
        test_ends=test_ends,
        horizon=horizon,
        context=options["context"],
        freq=data.freq,
        start=data.timestamps[start] if has_calendar_features(data.freq) else None,
    )


def has_calendar_features(freq: str) -> bool:
    """Whether `diffrnn.data.windows.time_features` knows `freq` (else models go without dates:
    a problem without a start date gives them none)."""
    from diffrnn.data.windows import num_time_features

    try:
        num_time_features(freq)
    except ValueError:
        return False
    return True


def data_seeds(
    suite: str,
    budget_s: float | None,
    jobs: int | None,
    models: tuple[str, ...] | None,
    tasks: Sequence[str] = ("forecast-user",),
) -> tuple[int, str]:
    """Seeds `compare --data` runs when `--seeds` is not given, and a sentence saying why.

    DATA_SEEDS when the learned units' training (units x seeds x budget over `tasks`, over the
    parallel jobs) stays within MAX_SEEDED_TRAINING_S of wall time, else 1.
    """
    from diffrnn.bench.registry import get_task, load_registry
    from diffrnn.bench.suites import get_suite

    load_registry()
    chosen = get_suite(suite)
    learned, training = 0, 0.0
    for task in tasks:
        budget = budget_s if budget_s is not None else chosen.budget_for(task)
        count = sum(
            entry.family != "baseline" and (not models or entry.name in models)
            for entry in get_task(task).models.values()
        )
        learned += count
        training += count * budget
    cost = DATA_SEEDS * training / (jobs or chosen.default_jobs())
    if cost <= MAX_SEEDED_TRAINING_S:
        return DATA_SEEDS, (
            f"{DATA_SEEDS} (the default with --data: the spread over seeds is part of the "
            "recommendation)"
        )
    return 1, (
        f"1: {DATA_SEEDS} seeds of {learned} learned model(s) at {training / max(learned, 1):g} s "
        f"would train for about {cost:,.0f} s of wall time, over the "
        f"{MAX_SEEDED_TRAINING_S:,.0f} s the default allows; pass --seeds {DATA_SEEDS} to run them "
        "(the spread over seeds is unknown with one)"
    )
