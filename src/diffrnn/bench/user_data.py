"""The `forecast-user` task: the user's own file as a rolling-origin backtest.

    options = prepare_user_data("sales.csv", horizon=14)   # checks the file, states inferences
    problem = user_problem(options)                         # in each unit: a ForecastProblem

The last `windows` blocks of `horizon` steps are the test windows (origins roll forward one
horizon at a time); every model trains on the rows before the first origin only. Series that
cover different time ranges are cut to the range all of them cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from diffrnn.errors import ConfigError, DataError

MAX_WINDOWS = 5
"""Rolling origins of the backtest (fewer when the series are short)."""
CONTEXT_HORIZONS = 2
"""Default context: this many horizons of history."""
MIN_TRAIN_FRACTION = 0.5
"""The test windows never take more than the last half of the rows."""


def _load(options: dict[str, Any]) -> Any:
    from diffrnn.data.user import load_user_data

    return load_user_data(
        options["path"], format=options["format"], freq=options["freq"], fill=options["fill"]
    )


def _stamp(moment: np.datetime64) -> str:
    """A date, with the time of day only when it is not midnight."""
    import pandas as pd

    ts = pd.Timestamp(moment)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def _common_range(data: Any) -> tuple[int, int]:
    start, end = int(data.spans[:, 0].max()), int(data.spans[:, 1].min())
    if end <= start:
        raise DataError(
            "your series do not share any time range.",
            "forecast series that overlap in time, or run them as separate files.",
        )
    return start, end


def _plan_backtest(
    rows: int, horizon: int, context: int | None, windows: int | None
) -> tuple[int, int]:
    """(context, windows) that fit `rows`, or a DataError saying what would."""
    context = context or CONTEXT_HORIZONS * horizon
    in_last_half = int(rows * (1 - MIN_TRAIN_FRACTION)) // horizon
    leaving_a_training_window = (rows - context - horizon) // horizon
    windows = windows or min(MAX_WINDOWS, in_last_half, leaving_a_training_window)
    train_end = rows - windows * horizon
    if windows < 1 or train_end < context + horizon:
        need = context + horizon + max(windows, 1) * horizon
        raise DataError(
            f"a backtest with horizon {horizon} and context {context} needs at least {need} rows "
            f"common to all series; your file has {rows}.",
            "pass a shorter --horizon (or --context), or give more history.",
        )
    return context, windows


def prepare_user_data(
    path: str | Path,
    horizon: int,
    format: str | None = None,
    freq: str | None = None,
    context: int | None = None,
    windows: int | None = None,
    fill: str = "error",
) -> dict[str, Any]:
    """Check the user's file once, before any unit runs, and describe what was inferred.

    Args:
        path: CSV or Parquet, long (`unique_id, ds, y`) or wide (a date column + one per series).
        horizon: steps to forecast H.
        format, freq: as `diffrnn.data.user.load_user_data` takes them (None: inferred).
        context: history a model is given (default 2 H).
        windows: rolling origins (default up to 5, within the last half of the rows).
        fill: NaN policy of the loader ("error", "ffill", "interpolate", "zero").

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
    }
    data = _load(options)
    start, end = _common_range(data)
    context, windows = _plan_backtest(end - start, horizon, context, windows)
    options.update(context=context, windows=windows)
    problem = user_problem(options, data)
    stamps = data.timestamps[start:end]
    origins = [_stamp(stamps[e - horizon]) for e in problem.test_ends]
    how = {True: "inferred", False: "given"}
    options["summary"] = {
        "file": str(path),
        "format": f"{data.format} ({how[data.format_inferred]})",
        "frequency": f"{data.freq} ({how[data.freq_inferred]})",
        "series": f"{len(data.series_ids)} ({', '.join(data.series_ids[:8])}"
        + (", ...)" if len(data.series_ids) > 8 else ")"),
        "rows used": f"{end - start}, {_stamp(stamps[0])} to {_stamp(stamps[-1])}"
        + ("" if (start, end) == (0, len(data.timestamps)) else " (the range all series cover)"),
        "backtest": f"{windows} rolling origin(s), horizon {horizon}, context {context}; models "
        f"train on the first {problem.train_end} rows only",
        "origins (first forecast step)": ", ".join(origins),
        "calendar features": "yes (from the timestamps)"
        if has_calendar_features(data.freq)
        else f"none: no calendar features are defined for {data.freq!r}, models see values only",
        "loader notes": "; ".join(data.notes) or "none",
    }
    return options


def user_problem(options: dict[str, Any], data: Any | None = None) -> Any:
    """The `ForecastProblem` of the user's file with the backtest `options` describe.

    Args:
        options: `prepare_user_data`'s result (a unit's `ctx.options`).
        data: the loaded `UserSeries` (loaded from `options["path"]` when None).
    """
    from diffrnn.data.windows import ForecastProblem

    data = data if data is not None else _load(options)
    start, end = _common_range(data)
    values = np.ascontiguousarray(data.values[:, start:end].T)  # (T, N)
    horizon, windows = options["horizon"], options["windows"]
    rows = end - start
    test_ends = tuple(rows - (windows - 1 - k) * horizon for k in range(windows))
    return ForecastProblem(
        values=values,
        train_end=rows - windows * horizon,
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
