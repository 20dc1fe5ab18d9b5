"""Forecast your own series from Python, in the conventions of NeuralForecast and GluonTS.

    from diffrnn import Forecaster, load

    fc = Forecaster(model="auto", horizon=24).fit(df)   # long (unique_id, ds, y) or wide frame
    fc.backtest_                  # the rolling-origin backtest "auto" chose by (one row a model)
    fc.predict()                  # unique_id, ds, mean, q0.1, q0.5, q0.9: the next 24 steps
    fc.sample_paths()             # (S, N, H) sample paths
    fc.save("shop-model")
    load("shop-model").predict()  # the same numbers, exactly

`fit` reads the frame (or a CSV / Parquet path) with the loader of `diffrnn compare --data`
(`diffrnn.data.user.load_user_data`: same checks, same one-line errors), cuts the series to the
range they all cover, and trains one of the forecasting models of the `forecast-user` task on all
of it with the same recipe the backtest of `compare --data` uses. `model="auto"` first runs that
backtest itself (the registered `forecast-user` units, in this process) and keeps the model with
the lowest CRPS. How each model trains and draws paths is in `diffrnn.forecast_specs`.

A saved forecaster is a folder: `config.json` (the settings, the series, the last timestamp,
the calendar and scaling spec, the backtest table), `model.safetensors` (the history the next
forecast starts from and a floor's fitted parameters) and, for a trained network, `network/`
written by `save_pretrained`. Nothing is pickled.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from diffrnn.errors import CheckpointError, ConfigError, DataError
from diffrnn.forecast_specs import ALIASES, MODELS, RECIPES, Fitted, RecipeSize, Settings

if TYPE_CHECKING:
    import pandas as pd

    from diffrnn.data.user import UserSeries
    from diffrnn.data.windows import ForecastProblem
    from diffrnn.training import FitResult

log = logging.getLogger(__name__)

CLASS_NAME = "diffrnn.forecast.Forecaster"
"""What `config.json` of a saved forecaster names as its class (`diffrnn.load` dispatches on it)."""
FORMAT_VERSION = 1
NETWORK_DIR = "network"
STATE_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
AUTO = "auto"
TASK = "forecast-user"
USER_UNIT_MODULES = ("diffrnn.bench.units.user_forecast", "diffrnn.bench.units.timegrad")
"""The modules registering the `forecast-user` units `model="auto"` backtests."""
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
CONTEXT_HORIZONS = 2
"""Default context: this many horizons (as `compare --data`)."""
ProgressFn = Callable[[str, "float | None"], None]
"""`progress(description, cpu_budget_s)`: called as each training (or backtest unit) starts."""


MODEL_NAMES: tuple[str, ...] = (*MODELS, AUTO)
ACCEPTED_NAMES: tuple[str, ...] = (*MODEL_NAMES, *ALIASES)
"""What `model=` takes: the models, "auto", and the old names of `ALIASES` (deprecated)."""


def resolve_model(name: str) -> tuple[str, str | None]:
    """The model `name` means now, and a deprecation note when it is an old name."""
    if name not in ALIASES:
        return name, None
    new = ALIASES[name]
    return new, (
        f"model {name!r} is now {new!r} ({MODELS[new].description}); the old name is deprecated."
    )


# ---------------------------------------------------------------------------------------------
# Data


def _as_file(data: Any, directory: Path) -> Path:
    """A path to give the loader: `data` itself, or a DataFrame written as Parquet (types kept)."""
    import pandas as pd

    if isinstance(data, str | os.PathLike):
        return Path(data)
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(
            f"fit/predict take a pandas DataFrame or a CSV/Parquet path, got "
            f"{type(data).__name__}.",
            "pass a DataFrame (long: unique_id, ds, y; or wide: a date column + one per series).",
        )
    frame = data
    if isinstance(frame.index, pd.DatetimeIndex):  # wide with the dates as index
        frame = frame.rename_axis(frame.index.name or "ds").reset_index()
    frame = frame.rename(columns=str)
    path = directory / "dataframe.parquet"
    try:
        frame.to_parquet(path, index=False)
    except (ValueError, TypeError, ImportError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(
            f"the DataFrame cannot be read as a table: {str(exc).splitlines()[0]}",
            "give each column one type (dates, numbers, or text ids).",
        ) from None
    return path


def _load(data: Any, options: dict[str, Any]) -> UserSeries:
    from diffrnn.data.user import load_user_data

    with tempfile.TemporaryDirectory(prefix="diffrnn-forecast-") as tmp:
        return load_user_data(_as_file(data, Path(tmp)), **options)


def common_block(data: UserSeries) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) values on the range every series covers and its (T,) timestamps.

    Raises:
        DataError: the series end at different times (a forecast starts after the last value).
    """
    ends = data.spans[:, 1]
    if (ends != ends[0]).any():
        i, j = int(np.argmin(ends)), int(np.argmax(ends))
        stamp = data.timestamps
        raise DataError(
            f"series {data.series_ids[i]!r} ends at {stamp[ends[i] - 1]} but "
            f"{data.series_ids[j]!r} at {stamp[ends[j] - 1]}; forecasts start after one common "
            "last timestamp.",
            "trim the series to a common end, or forecast them from separate files.",
        )
    start, end = int(data.spans[:, 0].max()), int(ends[0])
    return np.ascontiguousarray(data.values[:, start:end].T), data.timestamps[start:end]


def _stamp(moment: Any) -> pd.Timestamp:
    """A timestamp in microseconds (the unit forecasts' `ds` carry, whatever the input's)."""
    import pandas as pd

    return pd.Timestamp(moment).as_unit("us")


def _calendar(freq: str, last: Any, before: int, horizon: int) -> np.ndarray:
    """Calendar features of the `before` rows ending at `last` and the `horizon` after: (L, F)."""
    import pandas as pd

    from diffrnn.data.windows import time_features

    index = pd.date_range(end=pd.Timestamp(last), periods=before, freq=freq)
    index = index.append(pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=freq)[1:])
    return time_features(index, freq)


# ---------------------------------------------------------------------------------------------
# The forecaster


class Forecaster:
    """Probabilistic forecasts of a user's series: fit, predict, save, load.

    Args:
        model: one of `MODEL_NAMES`: a floor ("last-value", "seasonal-naive", "random-walk",
            "linear-ar"), an RNN ("deepar", "deepar-gru", "segrnn"), "diffusion-forecaster",
            "timegrad", or "auto" (the lowest CRPS in a rolling-origin backtest, as
            `compare --data`). The old name "gru" still means "deepar-gru" (deprecated).
        horizon: H, steps to forecast.
        freq: pandas frequency alias; inferred from the timestamps when None.
        context: history C a model conditions on (default 2 H).
        budget: CPU seconds of training per model (the recipe's step cap may end it sooner;
            "auto" spends it on every learned candidate, then once more on the final fit).
        seed: seeds the weights, the data order and the forecasts' noise.
        recipe: model sizes, "quick" (as `compare --data`'s default suite) or "full".
        max_steps: optimiser steps instead of the time budget (repeatable training).
        candidates: the models "auto" backtests (default: every one).
        format, fill: as the loader takes them (None: format inferred; fill "error").
        id_column, time_column, target_column: the long format's columns (default unique_id,
            ds, y); `time_column` also names the wide format's date column.
        encoding: the CSV's text encoding.
        surface: how the loader's fix messages spell options: "python" (`id_column='x'`) or
            "cli" (`--id-col x`).

    Attributes (after `fit`):
        model_: the model trained (the chosen one with "auto").
        backtest_: with "auto", a DataFrame of the backtest, one row per candidate.
        freq_, context_, series_ids_: as resolved on the data.
        fit_info_: steps, CPU and wall seconds of the final training and what stopped it.
        notes_: what the loader inferred or repaired, and a deprecated model name's new one.
    """

    def __init__(
        self,
        model: str = AUTO,
        horizon: int = 24,
        freq: str | None = None,
        context: int | None = None,
        budget: float = 30.0,
        seed: int = 0,
        recipe: RecipeSize = "quick",
        max_steps: int | None = None,
        candidates: Sequence[str] | None = None,
        format: Literal["long", "wide"] | None = None,
        fill: Literal["error", "ffill", "interpolate", "zero"] = "error",
        id_column: str | None = None,
        time_column: str | None = None,
        target_column: str | None = None,
        encoding: str | None = None,
        surface: Literal["python", "cli"] = "python",
    ) -> None:
        if model not in ACCEPTED_NAMES:
            raise ConfigError(
                f"unknown model {model!r}.", f"choose one of: {', '.join(MODEL_NAMES)}."
            )
        model, note = resolve_model(model)
        self._renamed = [note] if note else []
        for name, value in (("horizon", horizon), ("context", context), ("max_steps", max_steps)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}.", "")
        if not (isinstance(budget, int | float) and math.isfinite(budget) and budget > 0):
            raise ConfigError(f"budget must be positive CPU seconds, got {budget!r}.", "")
        if recipe not in RECIPES:
            raise ConfigError(f"recipe must be one of {RECIPES}, got {recipe!r}.", "")
        unknown = [c for c in candidates or () if c not in MODELS and c not in ALIASES]
        if unknown:
            raise ConfigError(
                f"unknown candidate model(s) {unknown}.", f"choose from: {', '.join(MODELS)}."
            )
        renamed = [resolve_model(c) for c in candidates or ()]
        candidates = [new for new, _ in renamed]
        self._renamed += [note for _, note in renamed if note and note not in self._renamed]
        for note in self._renamed:
            log.warning(note)
        self.model = model
        self.horizon = horizon
        self.freq = freq
        self.context = context
        self.budget = float(budget)
        self.seed = seed
        self.recipe: RecipeSize = recipe
        self.max_steps = max_steps
        self.candidates = tuple(candidates) if candidates else tuple(MODELS)
        self.format = format
        self.fill = fill
        self.id_column = id_column
        self.time_column = time_column
        self.target_column = target_column
        self.encoding = encoding
        self.surface = surface
        self.backtest_: pd.DataFrame | None = None
        self._fitted: Fitted | None = None

    def __repr__(self) -> str:
        chosen = f", model_={self.model_!r}" if self._fitted is not None else ""
        return f"Forecaster(model={self.model!r}, horizon={self.horizon}{chosen})"

    # -- fitting ---------------------------------------------------------------------------

    def _loader_options(self, freq: str | None) -> dict[str, Any]:
        """`load_user_data`'s arguments, spelled as `compare --data` passes them."""
        return {
            "format": self.format,
            "freq": freq,
            "fill": self.fill,
            "id_column": self.id_column or "unique_id",
            "time_column": self.time_column or "ds",
            "target_column": self.target_column or "y",
            "date_column": self.time_column,
            "encoding": self.encoding or "utf-8",
            "surface": self.surface,
        }

    def fit(self, df: Any, progress: ProgressFn | None = None) -> Forecaster:
        """Train on every row of `df` (with "auto": backtest the candidates first).

        Args:
            df: a DataFrame, long (`unique_id, ds, y`) or wide (a date column or a
                DatetimeIndex, one numeric column per series), or a CSV / Parquet path.
            progress: called with a description and the CPU-second budget as each training
                starts (the CLI draws a progress line from it).

        Returns:
            self, fitted.

        Raises:
            DataError: the data is unreadable, malformed or too short (the loader's messages).
        """

        with tempfile.TemporaryDirectory(prefix="diffrnn-forecast-") as tmp:
            path = _as_file(df, Path(tmp))
            from diffrnn.data.user import load_user_data

            data = load_user_data(path, **self._loader_options(self.freq))
            name = self.model
            if name == AUTO:
                self.backtest_ = self._backtest(path, progress)
                name = _best(self.backtest_)
        values, stamps = common_block(data)
        context = self.context or CONTEXT_HORIZONS * self.horizon
        problem = self._problem(values, stamps, data.freq, context)
        spec = MODELS[name]
        settings = Settings(self.recipe, self.seed, self.budget, self.max_steps)
        if progress is not None:
            progress(f"training {name} on {len(values)} rows", self.budget)
        fitted = spec.train(problem, settings)
        history = spec.history(fitted, problem)
        if len(values) < history:
            raise DataError(
                f"{name} reads {history} rows of history but the series have {len(values)} "
                "in common.",
                "pass a shorter horizon or context, or give more history.",
            )
        self._fitted = fitted
        self._history = values[-history:]
        self._last = _stamp(stamps[-1])
        self.model_ = name
        self.freq_ = data.freq
        self.context_ = context
        self.series_ids_ = data.series_ids
        self.notes_ = (*self._renamed, *data.notes)
        self.fit_info_ = _fit_info(fitted.result, len(values))
        log.info("fitted %s on %d series x %d rows", name, values.shape[1], len(values))
        return self

    def _problem(
        self, values: np.ndarray, stamps: np.ndarray, freq: str, context: int
    ) -> ForecastProblem:
        from diffrnn.bench.user_data import has_calendar_features
        from diffrnn.data.windows import ForecastProblem

        need = context + self.horizon + 2  # a window, and room for lag 1 before it
        if len(values) < need:
            raise DataError(
                f"a model with context {context} and horizon {self.horizon} needs at least "
                f"{need} rows common to all series; the data has {len(values)}.",
                "pass a shorter horizon (or context), or give more history.",
            )
        return ForecastProblem(
            values=values,
            train_end=len(values),
            test_ends=(),
            horizon=self.horizon,
            context=context,
            freq=freq,
            start=stamps[0] if has_calendar_features(freq) else None,
        )

    def _backtest(self, path: Path, progress: ProgressFn | None) -> pd.DataFrame:
        """Run the `forecast-user` units of the candidates on `path`'s backtest, in process."""
        import importlib

        import pandas as pd

        from diffrnn.bench.registry import TASKS, UnitContext
        from diffrnn.bench.user_data import prepare_user_data
        from diffrnn.errors import DiffrnnError
        from diffrnn.training.overrides import TrainOverrides, train_overrides

        for module in USER_UNIT_MODULES:
            importlib.import_module(module)
        options = prepare_user_data(
            path,
            self.horizon,
            self.format,
            self.freq,
            context=self.context,
            fill=self.fill,
            id_column=self.id_column,
            time_column=self.time_column,
            target_column=self.target_column,
            encoding=self.encoding,
        )
        models = TASKS[TASK].models
        names = [c for c in self.candidates if c in models]
        rows = []
        with tempfile.TemporaryDirectory(prefix="diffrnn-backtest-") as tmp:
            for k, name in enumerate(names):
                entry = models[name]
                if progress is not None:
                    budget = self.budget if entry.family != "baseline" else None
                    progress(f"backtest {k + 1}/{len(names)}: {name}", budget)
                ctx = UnitContext(
                    seed=self.seed,
                    budget_s=self.budget,
                    suite=self.recipe,
                    out_dir=Path(tmp) / name,
                    options=options,
                )
                ctx.out_dir.mkdir()
                overrides = TrainOverrides(max_steps=self.max_steps)
                row: dict[str, Any] = {"model": name, "family": entry.family}
                try:
                    with train_overrides(overrides):
                        out = entry.run(ctx)
                except DiffrnnError as exc:  # e.g. too few rows for this model's windows
                    rows.append({**row, "error": str(exc)})
                    continue
                metrics = {k: out.metrics.get(k) for k in ("crps", "crps_sum", "mse", "mae")}
                rows.append(
                    {
                        **row,
                        **metrics,
                        "train_cpu_s": round(out.train_cpu_seconds, 2),
                        "steps": out.steps,
                        "error": None,
                    }
                )
        table = pd.DataFrame(rows)
        table.attrs["backtest"] = options["summary"]["backtest"]
        return table

    # -- forecasting -----------------------------------------------------------------------

    def _check_fitted(self) -> Fitted:
        if self._fitted is None:
            raise ConfigError("this Forecaster is not fitted.", "call .fit(df) first.")
        return self._fitted

    def _history_of(self, df: Any) -> tuple[np.ndarray, Any]:
        """(L, N) history in the fitted series' order and its last timestamp."""
        if df is None:
            return self._history, self._last
        data = _load(df, self._loader_options(self.freq_))
        missing = [s for s in self.series_ids_ if s not in data.series_ids]
        extra = [s for s in data.series_ids if s not in self.series_ids_]
        if missing or extra:
            raise DataError(
                f"the data's series differ from those fitted (missing {missing[:5]}, new "
                f"{extra[:5]}).",
                "forecast the series the model was fitted on, or fit it again.",
            )
        values, stamps = common_block(data)
        order = [data.series_ids.index(s) for s in self.series_ids_]
        length = len(self._history)
        if len(values) < length:
            raise DataError(
                f"{self.model_} reads {length} rows of history; the data has {len(values)}.",
                f"give at least {length} rows of every series.",
            )
        return values[-length:, order], _stamp(stamps[-1])

    def _uses_calendar(self) -> bool:
        network = self._check_fitted().network
        return MODELS[self.model_].uses_calendar and bool(getattr(network, "config", None))

    def _paths(self, df: Any, num_samples: int, seed: int | None) -> tuple[np.ndarray, Any]:
        """Sample paths (S, N, H) from the end of `df` (or of the fitted data), and that end."""
        fitted = self._check_fitted()
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ConfigError(f"num_samples must be >= 1, got {num_samples!r}.", "")
        history, last = self._history_of(df)
        calendar = None
        if self._uses_calendar() and fitted.network.config.freq:  # type: ignore[union-attr]
            calendar = _calendar(self.freq_, last, self.context_, self.horizon)  # (C + H, F)
        seed = self.seed if seed is None else seed
        paths = MODELS[self.model_].sample(
            fitted, history, calendar, self.horizon, num_samples, seed
        )  # (S, H, N)
        return np.ascontiguousarray(paths.transpose(0, 2, 1)), last  # (S, N, H)

    def sample_paths(
        self, df: Any = None, num_samples: int = 100, seed: int | None = None
    ) -> np.ndarray:
        """Sample paths of the next H steps of every series.

        Args:
            df: newer data of the fitted series to forecast from (None: the end of the
                fitted data).
            num_samples: S paths (a point floor repeats its forecast S times).
            seed: seeds the paths (None: the forecaster's seed, so calls repeat exactly).

        Returns:
            (S, N, H) in the data's units, series in `series_ids_` order.
        """
        return self._paths(df, num_samples, seed)[0]

    def future_timestamps(self, last: Any = None) -> pd.DatetimeIndex:
        """The H timestamps after `last` (default: the fitted data's last) at `freq_`."""
        import pandas as pd

        self._check_fitted()
        start = pd.Timestamp(self._last if last is None else last)
        return pd.date_range(start, periods=self.horizon + 1, freq=self.freq_)[1:]

    def predict(
        self,
        df: Any = None,
        num_samples: int = 100,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """Forecasts as a long DataFrame: `unique_id, ds, mean, q<level>...`, H rows a series.

        Quantiles are GluonTS's sample quantiles of the paths (`sample_quantiles`), so a point
        floor's quantiles all equal its forecast.

        Args:
            df: newer data to forecast from (None: the end of the fitted data).
            num_samples: paths the mean and quantiles are taken over.
            quantiles: levels in (0, 1).
            seed: seeds the paths (None: the forecaster's seed).
        """
        import pandas as pd

        from diffrnn.evaluation.forecast import sample_quantiles

        levels = tuple(float(q) for q in quantiles)
        if not levels or not all(0 < q < 1 for q in levels):
            raise ConfigError(f"quantiles must lie in (0, 1), got {list(quantiles)}.", "")
        paths, last = self._paths(df, num_samples, seed)  # (S, N, H)
        ds = self.future_timestamps(last)
        n, h = paths.shape[1:]
        frame = pd.DataFrame(
            {
                "unique_id": np.repeat(np.asarray(self.series_ids_, dtype=object), h),
                "ds": np.tile(ds.to_numpy(), n),
                "mean": paths.mean(axis=0).reshape(-1),
            }
        )
        for level, values in zip(levels, sample_quantiles(paths, levels, axis=0), strict=True):
            frame[f"q{level:g}"] = values.reshape(-1)  # (N, H) -> N H rows
        return frame

    def history_frame(self, rows: int | None = None) -> pd.DataFrame:
        """The fitted history a forecast starts from, long: `unique_id, ds, y` (last `rows`)."""
        import pandas as pd

        self._check_fitted()
        history = self._history if rows is None else self._history[-rows:]
        ds = pd.date_range(end=pd.Timestamp(self._last), periods=len(history), freq=self.freq_)
        return pd.DataFrame(
            {
                "unique_id": np.repeat(np.asarray(self.series_ids_, dtype=object), len(ds)),
                "ds": np.tile(ds.to_numpy(), history.shape[1]),
                "y": history.T.reshape(-1),
            }
        )

    def plot(self, forecasts: pd.DataFrame, directory: str | Path) -> list[Path]:
        """One fan chart PNG per series: history, mean and the outer / inner quantile bands.

        Args:
            forecasts: `predict`'s frame (its quantile columns are drawn as bands).
            directory: where `<series>.png` files are written (atomically).

        Returns:
            The paths written.
        """
        from diffrnn.plots import forecast_fan_chart

        self._check_fitted()
        history = self.history_frame(rows=max(3 * self.horizon, 2 * self.context_))
        return [
            forecast_fan_chart(
                history[history.unique_id == sid],
                forecasts[forecasts.unique_id == sid],
                Path(directory) / f"{_file_stem(sid, k)}.png",
                f"{sid}: {self.model_}, next {self.horizon} steps",
            )
            for k, sid in enumerate(self.series_ids_)
        ]

    # -- saving ----------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        import pandas as pd

        fitted = self._check_fitted()
        spec = MODELS[self.model_]
        calendar = None
        if self._uses_calendar() and fitted.network.config.freq:  # type: ignore[union-attr]
            calendar = {
                "freq": self.freq_,
                "features": int(_calendar(self.freq_, self._last, 1, 0).shape[1]),
                "of": "the context and horizon steps (diffrnn.data.windows.time_features)",
            }
        backtest = None
        if self.backtest_ is not None:
            backtest = json.loads(self.backtest_.to_json(orient="records"))
        return {
            "model": self.model_,
            "requested": self.model,
            "family": spec.family,
            "horizon": self.horizon,
            "context": self.context_,
            "freq": self.freq_,
            "seed": self.seed,
            "recipe": self.recipe,
            "budget": self.budget,
            "max_steps": self.max_steps,
            "format": self.format,
            "fill": self.fill,
            "columns": [self.id_column, self.time_column, self.target_column],
            "encoding": self.encoding,
            "series_ids": list(self.series_ids_),
            "last_timestamp": pd.Timestamp(self._last).isoformat(),
            "history_length": len(self._history),
            "calendar": calendar,
            "scaling": spec.scaling,
            "network": NETWORK_DIR if fitted.network is not None else None,
            "fit_info": self.fit_info_,
            "notes": list(self.notes_),
            "backtest": backtest,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the fitted forecaster to `directory` (replaced whole, or left as it was).

        Returns:
            The directory.
        """
        from safetensors.numpy import save_file

        from diffrnn.fileio import atomic_write_json, atomic_write_with
        from diffrnn.modeling import replace_folder

        fitted = self._check_fitted()

        def write(stage: Path) -> None:
            if fitted.network is not None:
                fitted.network.save_pretrained(stage / NETWORK_DIR)  # type: ignore[operator]
            arrays = {"history": np.ascontiguousarray(self._history, dtype=np.float64)}
            arrays.update({f"param.{k}": np.array(v, order="C") for k, v in fitted.params.items()})
            atomic_write_with(stage / STATE_NAME, lambda name: save_file(arrays, name))
            meta = {"class": CLASS_NAME, "format_version": FORMAT_VERSION, "config": self._config()}
            atomic_write_json(stage / CONFIG_NAME, meta)

        return replace_folder(directory, write)

    @classmethod
    def load(cls, directory: str | Path) -> Forecaster:
        """A forecaster written by `save`; its forecasts equal the saved one's exactly."""
        import pandas as pd
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        from diffrnn.modeling import load as load_model
        from diffrnn.modeling import read_config

        meta = read_config(directory)
        if meta["class"] != CLASS_NAME:
            raise CheckpointError(
                f"{directory} holds a {meta['class']}, not a Forecaster.",
                "load it with diffrnn.load(directory).",
            )
        config = dict(meta["config"])
        for key in ("model", "requested"):  # saved under an old name: the model it means now
            if isinstance(config.get(key), str):
                config[key] = resolve_model(config[key])[0]
        config = _checked_config(config, Path(directory) / CONFIG_NAME)
        try:
            arrays = load_file(str(Path(directory) / STATE_NAME))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(
                f"{Path(directory) / STATE_NAME} is corrupt or truncated ({exc}).",
                "save the forecaster again.",
            ) from None
        history = arrays.pop("history", None)
        n, length = len(config["series_ids"]), config["history_length"]
        if history is None or history.shape != (length, n) or not np.isfinite(history).all():
            raise CheckpointError(
                f"{Path(directory) / STATE_NAME} does not hold a finite ({length}, {n}) history.",
                "save the forecaster again.",
            )
        spec = MODELS[config["model"]]
        network = None
        if spec.network_class is not None:
            if config["network"] is None:
                raise CheckpointError(f"{directory} names no {NETWORK_DIR}/ folder.", "save again.")
            network = load_model(Path(directory) / NETWORK_DIR)
            found = f"{type(network).__module__}.{type(network).__qualname__}"
            if found != spec.network_class:
                raise CheckpointError(
                    f"{directory}/{NETWORK_DIR} holds a {found}, not the {spec.network_class} "
                    f"of {spec.name}.",
                    "save the forecaster again.",
                )
        forecaster = cls(
            model=config["requested"],
            horizon=config["horizon"],
            freq=config["freq"],
            context=config["context"],
            budget=config["budget"],
            seed=config["seed"],
            recipe=config["recipe"],
            max_steps=config["max_steps"],
            format=config["format"],
            fill=config["fill"],
            id_column=config["columns"][0],
            time_column=config["columns"][1],
            target_column=config["columns"][2],
            encoding=config["encoding"],
        )
        params = {k.removeprefix("param."): v for k, v in arrays.items()}
        forecaster._fitted = Fitted(network, params, config["recipe"])
        forecaster._history = history
        forecaster._last = _stamp(config["last_timestamp"])
        forecaster.model_ = config["model"]
        forecaster.freq_ = config["freq"]
        forecaster.context_ = config["context"]
        forecaster.series_ids_ = tuple(config["series_ids"])
        forecaster.notes_ = tuple(config["notes"])
        forecaster.fit_info_ = config["fit_info"]
        if config["backtest"] is not None:
            forecaster.backtest_ = pd.DataFrame(config["backtest"])
        return forecaster


# ---------------------------------------------------------------------------------------------
# Helpers


def _best(table: pd.DataFrame) -> str:
    """The candidate with the lowest CRPS (ties: the first, floors come first)."""
    scored = table.dropna(subset=["crps"]) if "crps" in table else table.iloc[:0]
    if scored.empty:
        errors = "; ".join(f"{r.model}: {r.error}" for r in table.itertuples())
        raise DataError(
            f"no candidate model could be backtested ({errors}).",
            "pass a shorter horizon, or give more history.",
        )
    return str(scored.loc[scored["crps"].astype(float).idxmin(), "model"])


def _fit_info(result: FitResult | None, rows: int) -> dict[str, Any]:
    if result is None:
        return {"rows": rows, "steps": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0}
    return {
        "rows": rows,
        "steps": result.steps,
        "cpu_seconds": round(result.cpu_seconds, 3),
        "wall_seconds": round(result.train_seconds, 3),
        "stopped_by": result.stopped_by,
    }


def _file_stem(series_id: str, index: int) -> str:
    """A file name for a series id (characters outside [A-Za-z0-9._-] become _)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in series_id).strip("._")
    return safe[:80] or f"series-{index}"


_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "requested": (str,),
    "horizon": (int,),
    "context": (int,),
    "freq": (str,),
    "seed": (int,),
    "recipe": (str,),
    "budget": (int, float),
    "max_steps": (int, type(None)),
    "format": (str, type(None)),
    "fill": (str,),
    "columns": (list,),
    "encoding": (str, type(None)),
    "series_ids": (list,),
    "last_timestamp": (str,),
    "history_length": (int,),
    "network": (str, type(None)),
    "fit_info": (dict,),
    "notes": (list,),
    "backtest": (list, type(None)),
}


def _checked_config(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """`config.json`'s settings, each checked, or a CheckpointError naming the field."""
    for key, types in _CONFIG_TYPES.items():
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, types):
            raise CheckpointError(f"{path}: field {key!r} is missing or wrong.", "save again.")
    if config["model"] not in MODELS or config["requested"] not in MODEL_NAMES:
        raise CheckpointError(f"{path} names an unknown model {config['model']!r}.", "save again.")
    if config["recipe"] not in RECIPES:
        raise CheckpointError(
            f"{path} names an unknown recipe {config['recipe']!r}.", "save again."
        )
    if config["horizon"] < 1 or config["context"] < 1 or config["history_length"] < 1:
        raise CheckpointError(f"{path}: horizon, context and history must be >= 1.", "save again.")
    if not all(isinstance(s, str) for s in config["series_ids"]) or not config["series_ids"]:
        raise CheckpointError(f"{path}: series_ids must be a list of names.", "save again.")
    columns = config["columns"]
    if len(columns) != 3 or not all(c is None or isinstance(c, str) for c in columns):
        raise CheckpointError(f"{path}: columns must be 3 names or nulls.", "save again.")
    if config["network"] not in (None, NETWORK_DIR):
        raise CheckpointError(f"{path}: network must be {NETWORK_DIR!r}.", "save again.")
    import pandas as pd

    try:
        pd.Timestamp(config["last_timestamp"])
        pd.tseries.frequencies.to_offset(config["freq"])
    except ValueError:
        raise CheckpointError(
            f"{path}: last_timestamp or freq cannot be read.", "save again."
        ) from None
    return config
