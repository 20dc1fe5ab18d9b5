"""Forecasting windows, scaling, lag features and calendar features for (T, N) series.

    problem = ForecastProblem(values, train_end=6071, test_ends=(6101, ...), horizon=30, ...)
    past, future = forecast_windows(problem.train, context=60, horizon=30)  # (W, C, N), (W, H, N)
    scaling = mean_scaling(past)                     # DeepAR: per-series mean |x| over the context
    lags = lag_features(x, lags=(1, 2, 3), length=H)  # x (..., L, N) -> (..., H, N, K)
    feats = time_features(pd.date_range(start, periods=L, freq="B"), "B")  # (L, F) in [-0.5, 0.5]

Everything works on NumPy arrays; the scaling and lag functions also take torch tensors, so the
models call the same code on batches. Time is the second-to-last axis, series the last.

Why not `gluonts.time_feature`: GluonTS is not installed (0.17.0 would add itself, 8 MB, and
toolz; importing `gluonts.time_feature` loads pydantic). The calendar features here equal its
`time_features_from_frequency_str` bit for bit on B, h, D, W-SUN, MS, ME, QS-OCT, 15min, s and
min (measured against 0.17.0), so it would add nothing. Its `get_lags_for_frequency` gives other
lags for every one of those frequencies (hours: 40 to our 10; business days: 29 to our 36, with
39, 59, 258, 518 and 778 where `business_day_lags` has 261, 263-265, 521, 527-529, 781, 791-793),
so adopting it would change what the forecasting units compute. `lag_features` runs on NumPy and
torch inside the models; GluonTS's counterpart (`gluonts.torch.util.lagged_sequence_values`)
needs its torch extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from diffrnn.errors import DataError

Array = Any  # np.ndarray or torch.Tensor: the functions below use operations both provide


@dataclass(frozen=True, eq=False)
class ForecastProblem:
    """A forecasting task as plain arrays: one multivariate series, a training prefix, test windows.

    Attributes:
        values: (T, N) the whole series (N aligned series).
        train_end: rows [0, train_end) are for training.
        test_ends: exclusive end row of each test window; window k scores
            values[end - horizon : end] and may condition on everything before it.
        horizon: steps forecast per window.
        context: steps of history a model is given (models may read more: lags).
        freq: pandas frequency string ("B", "h", "D", ...).
        start: timestamp of row 0 (None when the data has no dates).
    """

    values: np.ndarray  # (T, N)
    train_end: int
    test_ends: tuple[int, ...]
    horizon: int
    context: int
    freq: str
    start: np.datetime64 | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2:
            raise DataError(f"values must be (T, N), got shape {self.values.shape}.", "reshape it.")
        first = min(self.test_ends, default=self.train_end + self.horizon)
        if first - self.horizon < self.context or max(self.test_ends, default=0) > len(self.values):
            raise DataError(
                f"test windows ending at {self.test_ends} do not fit {len(self.values)} rows with "
                f"context {self.context} and horizon {self.horizon}.",
                "use a shorter context or horizon, or more data.",
            )

    @property
    def train(self) -> np.ndarray:
        """(train_end, N) the training rows."""
        return self.values[: self.train_end]

    @property
    def num_series(self) -> int:
        return self.values.shape[1]

    def test_windows(self, history: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Test windows as arrays: past (W, history, N) and future (W, horizon, N).

        Args:
            history: rows of past per window (default `context`).
        """
        history = self.context if history is None else history
        first = min(self.test_ends) - self.horizon
        if history > first:
            raise DataError(
                f"a history of {history} steps before the first origin (row {first}) reaches "
                "before the start of the data.",
                "use a shorter history or later test windows.",
            )
        past = np.stack(
            [self.values[e - self.horizon - history : e - self.horizon] for e in self.test_ends]
        )
        future = np.stack([self.values[e - self.horizon : e] for e in self.test_ends])
        return past, future

    def timestamps(self, first: int, length: int) -> pd.DatetimeIndex | None:
        """Timestamps of rows [first, first + length), or None without a start date."""
        if self.start is None:
            return None
        return pd.date_range(pd.Timestamp(self.start), periods=first + length, freq=self.freq)[
            first:
        ]

    def calendar(self, rows: int | None = None) -> np.ndarray | None:
        """Calendar features (`time_features`) of the first `rows` rows (default: every row),
        (rows, F); None without a start date."""
        index = self.timestamps(0, len(self.values) if rows is None else rows)
        return None if index is None else time_features(index, self.freq)


# ---------------------------------------------------------------------------------------------
# Windows


def forecast_windows(
    values: np.ndarray, context: int, horizon: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """All (context, horizon) windows of a series, every `stride` rows.

    Args:
        values: (T, N).
        context: rows of past per window C.
        horizon: rows of future per window H.
        stride: step between window starts.

    Returns:
        past (W, C, N) and future (W, H, N) with W = (T - C - H) // stride + 1 (views, not copies).
    """
    length = context + horizon
    if len(values) < length:
        raise DataError(
            f"a series of {len(values)} rows has no window of {context} + {horizon} rows.",
            "use a shorter context or horizon.",
        )
    windows = np.lib.stride_tricks.sliding_window_view(values, length, axis=0)[::stride]
    windows = np.moveaxis(windows, -1, 1)  # (W, C + H, N)
    return windows[:, :context], windows[:, context:]


# ---------------------------------------------------------------------------------------------
# Scaling


@dataclass(frozen=True, eq=False)
class Scaling:
    """An affine scaling x -> (x - loc) / scale with its exact inverse.

    `loc` and `scale` broadcast against the data, e.g. (B, 1, N) for windows (B, T, N).
    """

    loc: Array
    scale: Array

    def transform(self, x: Array) -> Array:
        return (x - self.loc) / self.scale

    def inverse(self, z: Array) -> Array:
        return z * self.scale + self.loc


def mean_scaling(context: Array, minimum_scale: float = 1e-10) -> Scaling:
    """DeepAR's scaling: divide each series by its mean |x| over the context (no shift).

    Args:
        context: (..., C, N) the conditioning range.
        minimum_scale: lower bound on the scale (an all-zero context divides by this).

    Returns:
        Scaling with loc 0 and scale (..., 1, N).
    """
    scale = abs(context).mean(axis=-2, keepdims=True).clip(min=minimum_scale)
    return Scaling(loc=scale * 0, scale=scale)


def standard_scaling(context: Array, minimum_scale: float = 1e-5) -> Scaling:
    """Standardise each series with its mean and (population) standard deviation over `context`.

    Args:
        context: (..., C, N) the rows whose statistics are used (e.g. the training split).
        minimum_scale: lower bound on the standard deviation.

    Returns:
        Scaling with loc and scale (..., 1, N).
    """
    loc = context.mean(axis=-2, keepdims=True)
    scale = (((context - loc) ** 2).mean(axis=-2, keepdims=True) ** 0.5).clip(min=minimum_scale)
    return Scaling(loc=loc, scale=scale)


MINIMUM_INCREMENT_SCALE = 1e-10
"""Absolute floor of `increment_scaling` (an all-zero context)."""


def increment_scaling(
    history: Array, context_length: int, relative_minimum: float = 1e-4
) -> Scaling:
    """Scale of a window's steps x_t - x_{t-1}: their root mean square over the last C steps,
    anchored at the last value, so a model of the scaled steps d_t = (x_t - x_{t-1}) / s is a
    random walk in x when d is white noise, and x_{C+h} = x_C + s (d_{C+1} + ... + d_{C+h}).
    The root mean square (not the mean |.|, 0.8 of it for Gaussian steps) makes N(0, 1) steps
    the context's own random walk, which is what an untrained diffusion model samples.

    A flat context (a pegged rate: exchange_rate_nips's series 4 has 7.5% of its 30-day contexts
    without a move) would divide by zero: the scale is at least `relative_minimum` times the
    context's mean |x|.

    Args:
        history: (..., >= C + 1, N) the rows before the forecast.
        context_length: C, steps whose moves set the scale.
        relative_minimum: floor on s as a fraction of the context's mean |x|.

    Returns:
        Scaling with loc = the last value x_C and scale s, both (..., 1, N).
    """
    window = history[..., -context_length - 1 :, :]  # (..., C + 1, N)
    moves = ((window[..., 1:, :] - window[..., :-1, :]) ** 2).mean(axis=-2, keepdims=True) ** 0.5
    level = abs(window[..., 1:, :]).mean(axis=-2, keepdims=True)
    floor = (relative_minimum * level).clip(min=MINIMUM_INCREMENT_SCALE)
    scale = moves * (moves >= floor) + floor * (moves < floor)  # max(moves, floor), any Array
    return Scaling(loc=window[..., -1:, :], scale=scale)


MINMAX_EPS = 1e-7
"""TimeGAN's MinMaxScaler adds this to max - min."""


@dataclass(frozen=True, eq=False)
class MinMax:
    """Per-channel min-max scaling to [0, 1]: x -> (x - low) / (high - low + eps) (TimeGAN's)."""

    low: np.ndarray  # (D,)
    high: np.ndarray  # (D,)

    @classmethod
    def fit(cls, values: np.ndarray) -> MinMax:
        """Statistics of (T, D) or (B, T, D) values, over every axis but the last."""
        flat = values.reshape(-1, values.shape[-1])
        return cls(flat.min(axis=0), flat.max(axis=0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.low) / (self.high - self.low + MINMAX_EPS)


# ---------------------------------------------------------------------------------------------
# Lags


def _lag_sublist(middle: int, delta: int) -> list[int]:
    return list(range(middle - delta, middle + delta + 1))


def business_day_lags(num_default: int = 7, upper: int = 1200) -> tuple[int, ...]:
    """Lags for business-day data as GluonTS's `get_lags_for_frequency("B")` derives them.

    1..num_default, then +-1 around 1-4 weeks (5 days) and a month (22 days), and around 1-3
    years counted in weeks (52 x 5) and in months (12 x 22), keeping those in (7, upper].
    """
    seasonal = [_lag_sublist(5 * k, 1) for k in range(1, 5)] + [_lag_sublist(22, 1)]
    seasonal += [_lag_sublist(260 * k, 1) for k in range(1, 4)]
    seasonal += [_lag_sublist(264 * k, 1) for k in range(1, 4)]
    extra = sorted({lag for sub in seasonal for lag in sub if num_default < lag <= upper})
    return tuple(range(1, num_default + 1)) + tuple(extra)


def lag_features(x: Array, lags: Sequence[int], length: int, end: int | None = None) -> Array:
    """Lagged values for the `length` positions ending (exclusively) at `end`.

    Position p gets x[p - lag] for every lag, so with all lags >= 1 a step sees only its past.
    `end` may be one past the data (end = L + 1) to build the inputs of the next, unseen step.

    Args:
        x: (..., L, N) values (NumPy or torch).
        lags: K positive offsets.
        length: positions P.
        end: exclusive end position (default L).

    Returns:
        (..., P, N, K): out[..., t, n, k] = x[..., end - length + t - lags[k], n].
    """
    num_rows = x.shape[-2]
    end = num_rows if end is None else end
    first = end - length
    if first - max(lags) < 0 or end - min(lags) > num_rows:
        raise ValueError(
            f"lags {min(lags)}..{max(lags)} for positions [{first}, {end}) need rows "
            f"[{first - max(lags)}, {end - min(lags)}) but x has {num_rows}"
        )
    index = np.arange(first, end)[:, None] - np.asarray(lags)[None, :]  # (P, K)
    gathered = x[..., index.reshape(-1), :]  # (..., P * K, N)
    gathered = gathered.reshape(*x.shape[:-2], length, len(lags), x.shape[-1])  # (..., P, K, N)
    return gathered.swapaxes(-1, -2)  # (..., P, N, K)


# ---------------------------------------------------------------------------------------------
# Frequencies: every season, lag set and calendar is derived from the pandas offset, never from
# the alias's spelling ("MS", "ME", "W-SUN", "QS-OCT", "15min" and "h" all name their unit once)

FrequencyUnit = Literal["s", "min", "h", "D", "B", "W", "M", "Q", "Y"]

_SEASON_BY_UNIT: dict[str, int] = {
    "s": 3600,  # an hour (GluonTS's get_seasonality)
    "min": 1440,  # a day (GluonTS)
    "h": 24,  # a day
    "D": 7,  # a week
    "B": 5,  # a business week
    "W": 52,  # a year
    "M": 12,  # a year
    "Q": 4,  # a year
    "Y": 1,
}
"""Steps per season at multiple 1 of each unit."""


def _offset(freq: str) -> Any:
    from pandas.tseries.frequencies import to_offset

    try:
        return to_offset(freq)
    except (ValueError, TypeError):
        raise ValueError(f"{freq!r} is not a pandas frequency alias") from None


def frequency_unit(freq: str) -> FrequencyUnit | None:
    """The calendar unit of a pandas frequency alias, read from its offset (`to_offset`).

    "MS", "ME", "BME" -> "M"; "W", "W-SUN" -> "W"; "QS-OCT", "QE" -> "Q"; "15min" -> "min";
    None for offsets without a calendar unit here (milliseconds, business hours, semi-months).

    Raises:
        ValueError: `freq` is not a pandas alias.
    """
    offset = _offset(freq)
    offsets = pd.offsets
    for kinds, unit in (
        ((offsets.Second,), "s"),
        ((offsets.Minute,), "min"),
        ((offsets.Hour,), "h"),
        ((offsets.BusinessDay,), "B"),  # CustomBusinessDay ("C") is a BusinessDay
        ((offsets.Day,), "D"),
        ((offsets.Week,), "W"),
        ((offsets.MonthBegin, offsets.MonthEnd, offsets.BMonthBegin, offsets.BMonthEnd), "M"),
        (
            (offsets.QuarterBegin, offsets.QuarterEnd, offsets.BQuarterBegin, offsets.BQuarterEnd),
            "Q",
        ),
        ((offsets.YearBegin, offsets.YearEnd, offsets.BYearBegin, offsets.BYearEnd), "Y"),
    ):
        if isinstance(offset, kinds):
            return unit  # type: ignore[return-value]
    return None


def season_length(freq: str) -> int:
    """Steps per season of a pandas frequency (1: none known).

    A day for seconds, minutes and hours, a week for days and business days, a year for
    weeks, months and quarters; a multiple divides it when it can ("15min" -> 96, "2h" -> 12,
    "2MS" -> 6; "7h" -> 1).

    Raises:
        ValueError: `freq` is not a pandas alias.
    """
    unit = frequency_unit(freq)
    if unit is None:
        return 1
    season, multiple = _SEASON_BY_UNIT[unit], abs(_offset(freq).n) or 1
    return season // multiple if season % multiple == 0 else 1


def lags_for_frequency(freq: str) -> tuple[int, ...]:
    """Autoregressive lags for a frequency: GluonTS's business-day lags for business days, else
    1..7 plus one season and its neighbours (11, 12, 13 for months; 23, 24, 25 for hours).

    Raises:
        ValueError: `freq` is not a pandas alias.
    """
    if frequency_unit(freq) == "B" and abs(_offset(freq).n) == 1:
        return business_day_lags()
    season = season_length(freq)
    seasonal = {season - 1, season, season + 1} if season > 1 else set()
    return tuple(sorted(set(range(1, 8)) | seasonal - {0}))


# ---------------------------------------------------------------------------------------------
# Calendar features (GluonTS's time_feature module: each scaled to [-0.5, 0.5])


def _day_of_week(index: pd.DatetimeIndex) -> np.ndarray:
    return index.dayofweek.to_numpy() / 6.0 - 0.5


def _day_of_month(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.day.to_numpy() - 1) / 30.0 - 0.5


def _day_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.dayofyear.to_numpy() - 1) / 365.0 - 0.5


def _hour_of_day(index: pd.DatetimeIndex) -> np.ndarray:
    return index.hour.to_numpy() / 23.0 - 0.5


def _month_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.month.to_numpy() - 1) / 11.0 - 0.5


def _week_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.isocalendar().week.to_numpy().astype(float) - 1) / 52.0 - 0.5


def _minute_of_hour(index: pd.DatetimeIndex) -> np.ndarray:
    return index.minute.to_numpy() / 59.0 - 0.5


def _second_of_minute(index: pd.DatetimeIndex) -> np.ndarray:
    return index.second.to_numpy() / 59.0 - 0.5


# GluonTS's time_features_from_frequency_str, by the frequency's base unit (yearly data has none).
_FEATURES_BY_UNIT = {
    "s": (
        _second_of_minute,
        _minute_of_hour,
        _hour_of_day,
        _day_of_week,
        _day_of_month,
        _day_of_year,
    ),
    "min": (_minute_of_hour, _hour_of_day, _day_of_week, _day_of_month, _day_of_year),
    "h": (_hour_of_day, _day_of_week, _day_of_month, _day_of_year),
    "D": (_day_of_week, _day_of_month, _day_of_year),
    "B": (_day_of_week, _day_of_month, _day_of_year),
    "W": (_day_of_month, _week_of_year),
    "M": (_month_of_year,),
    "Q": (_month_of_year,),
    "Y": (),
}


def time_features(index: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Calendar features of the timestamps for frequency `freq`, each in [-0.5, 0.5].

    Args:
        index: T timestamps.
        freq: any pandas alias of seconds, minutes ("min", "15min"), hours ("h"), days ("D"),
            business days ("B"), weeks ("W-SUN"), months ("ME", "MS") or quarters ("QE-DEC",
            "QS-OCT"). Yearly data has no calendar features.

    Returns:
        (T, F) float32: e.g. for "B" day of week / 6, (day of month - 1) / 30 and
        (day of year - 1) / 365, each minus 0.5.
    """
    unit = frequency_unit(freq)
    if unit is None or not _FEATURES_BY_UNIT[unit]:
        raise ValueError(
            f"no calendar features for frequency {freq!r}; known: seconds, minutes, hours, days, "
            "business days, weeks, months and quarters"
        )
    return np.stack([f(index) for f in _FEATURES_BY_UNIT[unit]], axis=-1).astype(np.float32)


def num_time_features(freq: str) -> int:
    """F, the number of calendar features `time_features` gives for `freq`."""
    return time_features(pd.date_range("2000-01-03", periods=1, freq=freq), freq).shape[-1]


# ---------------------------------------------------------------------------------------------
# Training windows as a torch Dataset


class MultivariateWindows:
    """Every window of `length` rows of all N series together, for a multivariate model.

    Item i is the window starting at row i * stride: {"target": (length, N) float32,
    "time_feat": (length, F) float32}, `time_feat` rows aligned with the target rows.

    Args:
        values: (T, N) training rows.
        length: rows per window (e.g. max lag + context + horizon).
        time_feat: (T, F) calendar features of the rows (None: F = 0).
        stride: step between window starts.
    """

    def __init__(
        self, values: np.ndarray, length: int, time_feat: np.ndarray | None = None, stride: int = 1
    ) -> None:
        import torch

        if len(values) < length:
            raise DataError(
                f"a training range of {len(values)} rows has no window of {length} rows.",
                "use a shorter context, horizon or fewer lags, or give more training data.",
            )
        self.length = length
        self.values = torch.as_tensor(values, dtype=torch.float32)  # (T, N)
        feats = np.zeros((len(values), 0)) if time_feat is None else time_feat
        self.time_feat = torch.as_tensor(feats, dtype=torch.float32)  # (T, F)
        self.starts = np.arange(0, len(values) - length + 1, stride)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rows = slice(int(self.starts[index]), int(self.starts[index]) + self.length)
        return {"target": self.values[rows], "time_feat": self.time_feat[rows]}


class SeriesWindows(MultivariateWindows):
    """Every window of `length` rows of every series, as training items for a global model.

    Item i is one (series, start) pair: {"target": (length,) float32, "time_feat":
    (length, F) float32, "series_id": int64}. `time_feat` rows are aligned with the target rows.
    Arguments: `MultivariateWindows`'s, whose windows these are, one series at a time.
    """

    def __init__(
        self, values: np.ndarray, length: int, time_feat: np.ndarray | None = None, stride: int = 1
    ) -> None:
        super().__init__(values, length, time_feat, stride)
        self.num_series = values.shape[1]

    def __len__(self) -> int:
        return len(self.starts) * self.num_series

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        start, series = int(self.starts[index // self.num_series]), index % self.num_series
        rows = slice(start, start + self.length)
        return {
            "target": self.values[rows, series],
            "time_feat": self.time_feat[rows],
            "series_id": torch.tensor(series, dtype=torch.long),
        }


class PastFutureWindows:
    """Every (context, horizon) window of all N series, as training items of a direct forecaster.

    Item i is the window starting at row i * stride: {"past": (C, N) float32, "future": (H, N)
    float32}, sliced from one tensor of the rows on access (ETTh1 at C = H = 720 would hold 290 MB
    as stacked windows).

    Args:
        values: (T, N) training rows.
        context: rows of past per window C.
        horizon: rows of future per window H.
        stride: step between window starts.
    """

    def __init__(self, values: np.ndarray, context: int, horizon: int, stride: int = 1) -> None:
        import torch

        if len(values) < context + horizon:
            raise DataError(
                f"a training range of {len(values)} rows has no window of {context} + {horizon} "
                "rows.",
                "use a shorter context or horizon, or give more training data.",
            )
        self.context, self.horizon = context, horizon
        self.values = torch.as_tensor(values, dtype=torch.float32)  # (T, N)
        self.starts = np.arange(0, len(values) - context - horizon + 1, stride)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, Any]:
        start = int(self.starts[index])
        cut = start + self.context
        return {
            "past": self.values[start:cut],
            "future": self.values[cut : cut + self.horizon],
        }
