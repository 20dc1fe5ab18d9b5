"""Users' own time series: CSV or Parquet, long (`unique_id, ds, y` + covariates) or wide format.

Long format is NeuralForecast's: one row per (series, timestamp), the target in `y`, any further
columns are covariates (read, not used by the models). Wide format is a date column plus one
numeric column per series. Every problem raises a `DataError` naming what is wrong, where
(column, line), and the fix, spelled for where the user is (`--id-col x` on the command line,
`id_column='x'` in Python); harmless oddities (unsorted rows, inferred format, frequency or
delimiter) are recorded in `notes` instead.

What the loader guarantees, whatever the file holds:
- ids are strings exactly as written ("01" and "1" are two series; "NA" and "null" are ids);
- timestamps are datetime64[us] (any year pandas can parse, not only 1677-2262), in the local
  time the file states: a time-zone-aware column or UTC offsets keep their wall-clock time, so
  calendar features are local;
- sizes are checked before memory is committed: Parquet row counts from the file's metadata,
  the common time grid from its first and last timestamps.
"""

from __future__ import annotations

import difflib
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from diffrnn.data.user_files import (
    CSV_SUFFIXES,
    SURFACES,
    TIMESTAMP_UNIT,
    Reading,
    Surface,
    cell_text,
    drop_unnamed_empty_columns,
    numbers,
    numbers_table,
    numeric,
    parse_dates,
    parse_ids,
    read_frame,
)
from diffrnn.errors import DataError

log = logging.getLogger(__name__)

DataFormat = Literal["long", "wide"]
FillPolicy = Literal["error", "ffill", "interpolate", "zero"]
FORMATS: tuple[str, ...] = ("long", "wide")
FILL_POLICIES: tuple[str, ...] = ("error", "ffill", "interpolate", "zero")
DATE_COLUMN_NAMES = ("ds", "date", "datetime", "timestamp", "time")  # wide format, any case
MAX_GRID_VALUES = 50_000_000
"""Most series x time steps on the common grid (400 MB per float64 array)."""
FREQ_SAMPLE = 32
"""Series (the longest) a frequency is inferred from; every series is then checked against it."""


@dataclass(frozen=True, eq=False)
class UserSeries:
    """Users' series on one regular time grid.

    `values[i]` is series `series_ids[i]` on `timestamps`; a series that starts later or ends
    earlier than others is NaN outside `spans[i] = (start, end)` (end exclusive) and finite inside.
    """

    series_ids: tuple[str, ...]
    timestamps: np.ndarray  # (T,) datetime64[us], local wall-clock time
    values: np.ndarray  # (N, T) float64
    freq: str  # pandas offset alias, e.g. "D", "B", "h", "MS"
    format: DataFormat
    spans: np.ndarray  # (N, 2) int64
    covariates: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N, T), NaN allowed
    format_inferred: bool = False
    freq_inferred: bool = False
    notes: tuple[str, ...] = ()
    timezone: str | None = None  # the zone or UTC offsets the file's times were written in

    @property
    def lengths(self) -> np.ndarray:
        """Observed length of each series, (N,)."""
        return self.spans[:, 1] - self.spans[:, 0]


def check_length(data: UserSeries, context_length: int, horizon: int) -> None:
    """Raise `DataError` if any series is shorter than `context_length + horizon`."""
    need = context_length + horizon
    short = np.flatnonzero(data.lengths < need)
    if short.size:
        i = short[np.argmin(data.lengths[short])]
        raise DataError(
            f"Series {data.series_ids[i]!r} has {data.lengths[i]} time steps but a context of "
            f"{context_length} plus a horizon of {horizon} needs {need} "
            f"({short.size} of {len(data.series_ids)} series are too short).",
            "shorten the context or the horizon, or drop or extend the short series.",
        )


def _fresh(base: str, taken: list[str]) -> str:
    """A column name not in `taken` (internal columns never collide with the user's)."""
    name = base
    while name in taken:
        name += "_"
    return name


# ---------------------------------------------------------------------------------------------
# Format: long or wide, and which column plays which role


def _missing_columns(
    roles: list[tuple[str, str, str]], columns: list[str], reading: Reading
) -> DataError:
    """The long-format columns not found, with the nearest names and the options to pass."""
    guesses, options = [], []
    for _, name, key in roles:
        close = difflib.get_close_matches(name.lower(), [c.lower() for c in columns], 1, 0.5)
        actual = next((c for c in columns if close and c.lower() == close[0]), None)
        if actual is not None:
            guesses.append(repr(actual))
        options.append(reading.option(key, actual or "<column>"))
    missing = " and ".join(f"{role} column {name!r}" for role, name, _ in roles)
    hint = f"Did you mean {', '.join(guesses)}? " if guesses else ""
    return DataError(
        f"Missing {missing}; {reading.name} has columns {columns}.",
        f"{hint}Rename the column(s), or name yours with {' '.join(options)}.",
    )


def _require_long(columns: list[str], long_columns: tuple[str, str, str], reading: Reading) -> None:
    roles = zip(
        ("series id", "time", "target"), long_columns, ("id", "time", "target"), strict=True
    )
    missing = [role for role in roles if role[1] not in columns]
    if missing:
        raise _missing_columns(missing, columns, reading)


def _long_roles(
    columns: list[str], long_columns: tuple[str, str, str], reading: Reading
) -> tuple[str | None, str, str] | None:
    """Long-format roles (id or None for one series, time, target) the names give, None when
    they name no long format; a DataError when one of them is misnamed."""
    id_column, time_column, target_column = long_columns
    present = [c in columns for c in long_columns]
    if all(present):
        return long_columns
    if present[1] and present[2]:  # `ds, y` (+ covariates): one series
        reading.notes.append(
            f"no {id_column!r} column: one series, {target_column!r} over {time_column!r}"
        )
        return None, time_column, target_column
    if present[0]:  # long intended, a column misnamed
        _require_long(columns, long_columns, reading)
    return None


def _wide_date_column(columns: list[str], date_column: str | None, reading: Reading) -> str:
    if date_column is not None:
        if date_column not in columns:
            raise _missing_columns([("date", date_column, "date")], columns, reading)
        return date_column
    named = [c for c in columns if c.strip().lower() in DATE_COLUMN_NAMES]
    return named[0] if named else columns[0]


def _text_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Columns of labels: every cell that is not missing is text, not a number."""
    values, bad = numbers_table(frame, columns)  # (R, C)
    labels = bad.any(axis=0) & ~np.isfinite(values).any(axis=0)
    return [c for c, is_label in zip(columns, labels, strict=True) if is_label]


def _infer_format(
    frame: pd.DataFrame,
    long_columns: tuple[str, str, str],
    date_column: str | None,
    reading: Reading,
) -> tuple[DataFormat, tuple[str | None, str, str]]:
    """The format and the long-format roles (id or None for one series, time, target)."""
    columns = list(frame.columns)
    roles = _long_roles(columns, long_columns, reading)
    if roles is not None:
        return "long", roles
    time = _wide_date_column(columns, date_column, reading)
    others = [c for c in columns if c != time]
    text = _text_columns(frame, others)
    if len(text) == 1 and frame[text[0]].nunique() < len(frame):  # repeated labels: ids
        numeric = [c for c in others if c not in text]
        if len(numeric) == 1:
            reading.notes.append(
                f"read as long format: {text[0]!r} holds series ids, {time!r} times, "
                f"{numeric[0]!r} values"
            )
            return "long", (text[0], time, numeric[0])
        raise DataError(
            f"Column {text[0]!r} holds text ({cell_text(frame[text[0]].iloc[0])}, ...), so "
            f"{reading.name} looks like long format, but which column is the target is not "
            f"clear ({', '.join(map(repr, numeric)) or 'no numeric column'}).",
            f"pass {reading.option('format', 'long')} {reading.option('id', text[0])} "
            f"{reading.option('time', time)} {reading.option('target', '<column>')}.",
        )
    return "wide", long_columns


# ---------------------------------------------------------------------------------------------
# Frequency and the time grid


def _infer_freq(stamps: pd.DatetimeIndex) -> str | None:
    if len(stamps) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' notices about infer_freq's future return type
        try:
            freq = pd.infer_freq(stamps)
        except (ValueError, TypeError):
            return None
    return freq if freq is None or isinstance(freq, str) else freq.freqstr


def _check_freq(freq: str, reading: Reading) -> str:
    from pandas.tseries.frequencies import to_offset

    try:
        offset = to_offset(freq)
    except (ValueError, TypeError):
        offset = None
    if offset is None or offset.n < 1:
        raise DataError(
            f"Unknown frequency {freq!r}.",
            f"give a pandas offset alias such as {reading.option('freq', 'D')}, 'B', 'h', 'W', "
            "'MS' or 'ME'.",
        )
    return freq


def _resolve_freq(
    series: dict[str, pd.DatetimeIndex], freq: str | None, reading: Reading
) -> tuple[str, bool]:
    """The given frequency (checked), or the one `pandas.infer_freq` finds on the longest series
    (`series`: up to FREQ_SAMPLE of them, longest first); every series is then checked on its
    grid, so a series too short to infer from still has to fit."""
    if freq is not None:
        return _check_freq(freq, reading), False
    found = {sid: _infer_freq(stamps) for sid, stamps in series.items() if len(stamps) >= 3}
    sid, stamps = next(iter(series.items()))
    if not found:
        raise DataError(
            f"Cannot infer a regular frequency: the longest series, {sid!r}, has only "
            f"{len(stamps)} timestamps.",
            f"give the frequency ({reading.option('freq', 'D')}, for example).",
        )
    undetermined = [sid for sid, f in found.items() if f is None]
    if undetermined:
        sid = undetermined[0]
        steps = np.unique(np.diff(series[sid].to_numpy()))[:3]
        raise DataError(
            f"Cannot infer a regular frequency for series {sid!r}: its steps vary "
            f"({', '.join(str(pd.Timedelta(d)) for d in steps)}, ...).",
            f"give the frequency ({reading.option('freq', 'D')}, for example); missing steps "
            "must then be present as rows with empty values and a fill policy."
            + _zone_hint(reading),
        )
    distinct = sorted({f for f in found.values() if f is not None})
    if len(distinct) > 1:
        example = {f: next(s for s, g in found.items() if g == f) for f in distinct}
        raise DataError(
            "Ambiguous frequency: series disagree ("
            + ", ".join(f"{sid!r} looks {f!r}" for f, sid in example.items())
            + ").",
            f"give one frequency for all series ({reading.option('freq', distinct[0])}), or "
            "split the file by frequency.",
        )
    return _check_freq(distinct[0], reading), True


def _zone_hint(reading: Reading) -> str:
    if reading.timezone is None:
        return ""
    return (
        f" The times are local ({reading.timezone}): across a daylight-saving change local "
        "hours repeat or skip; write the times in UTC or one fixed offset."
    )


def _grid_steps(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> float:
    """About how many `freq` steps lie from `first` to `last` (before building the grid)."""
    from pandas.tseries.frequencies import to_offset

    offset = to_offset(freq)
    probe = 8
    try:
        step = ((first + probe * offset) - first) / probe
    except (OverflowError, ValueError):
        return np.inf
    return (last - first) / step + 1 if step > pd.Timedelta(0) else np.inf


def _check_grid_size(
    first: pd.Timestamp, last: pd.Timestamp, freq: str, num_series: int, reading: Reading
) -> None:
    steps = _grid_steps(first, last, freq)
    if steps * num_series > MAX_GRID_VALUES:
        raise DataError(
            f"From {first} to {last} at frequency {freq!r} is about {steps:,.0f} steps; for "
            f"{num_series} series that is {steps * num_series:,.0f} values, over the limit of "
            f"{MAX_GRID_VALUES:,}.",
            f"give a coarser frequency ({reading.option('freq', 'D')}, for example), or drop "
            "the series or rows far outside the others' time range.",
        )


def _off_grid(
    stamps: pd.DatetimeIndex, stamp: pd.Timestamp, freq: str, sid: str, reading: Reading
) -> DataError:
    """The error for `stamp` of series `sid` (its stamps `stamps`) missing the common grid."""
    own = pd.date_range(stamps[0], stamps[-1], freq=freq, unit=TIMESTAMP_UNIT)
    if stamp in own:  # regular on its own, offset from the others
        return DataError(
            f"Series are not on one common {freq!r} grid (their timestamps are offset): "
            f"{sid!r} has {stamp}.",
            "align the series' timestamps, or load them from separate files.",
        )
    return DataError(
        f"Irregular timestamps in series {sid!r}: {stamp} is not on the {freq!r} grid "
        f"starting {stamps[0]}.",
        f"fix or drop the off-grid rows, or give the right frequency "
        f"({reading.option('freq', '<alias>')})." + _zone_hint(reading),
    )


# ---------------------------------------------------------------------------------------------
# Missing values


def _fill(values: np.ndarray, spans: np.ndarray, policy: FillPolicy, where: str) -> int:
    """Fill non-finite values inside each series' span in place; return how many were filled."""
    filled = 0
    for row, (start, end) in zip(values, spans, strict=True):
        segment = row[start:end]
        bad = ~np.isfinite(segment)
        if not bad.any():
            continue
        if bad.all():
            raise DataError(
                f"Every value of {where} is missing or infinite.", "drop that series or column."
            )
        segment[bad] = np.nan
        frame = pd.Series(segment)
        if policy == "ffill":
            frame = frame.ffill().bfill()  # leading gaps take the first observed value
        elif policy == "interpolate":
            frame = frame.interpolate(method="linear", limit_direction="both")
        else:
            frame = frame.fillna(0.0)
        row[start:end] = frame.to_numpy()
        filled += int(bad.sum())
    return filled


def _check_finite(
    values: np.ndarray,
    spans: np.ndarray,
    ids: tuple[str, ...],
    timestamps: np.ndarray,
    column: str,
    fill: FillPolicy,
    reading: Reading,
) -> None:
    inside = np.zeros(values.shape, dtype=bool)
    for i, (start, end) in enumerate(spans):
        inside[i, start:end] = True
    bad = inside & ~np.isfinite(values)
    if not bad.any():
        return
    if fill == "error":
        i, t = (int(k[0]) for k in np.nonzero(bad))
        kind = "NaN (missing)" if np.isnan(values[i, t]) else "infinite (or beyond float64)"
        fills = reading.choices("fill", FILL_POLICIES[1:])
        raise DataError(
            f"{int(bad.sum())} NaN or infinite values in column {column!r}; the first is "
            f"{kind} in series {ids[i]!r} at {pd.Timestamp(timestamps[t])}.",
            f"fill or drop them, or have them filled ({fills}).",
        )
    n = _fill(values, spans, fill, f"column {column!r}")
    reading.notes.append(f"filled {n} NaN/infinite values in column {column!r} with {fill!r}")


# ---------------------------------------------------------------------------------------------
# Long rows -> one grid


def _long_to_grid(
    frame: pd.DataFrame,
    id_column: str,
    time_column: str,
    target_column: str,
    covariates: list[str],
    freq: str | None,
    reading: Reading,
    target_hint: str = "",
) -> tuple[
    tuple[str, ...], pd.DatetimeIndex, np.ndarray, dict[str, np.ndarray], np.ndarray, str, bool
]:
    """(ids, grid, values (N, T), covariates name -> (N, T), spans (N, 2), freq, inferred).

    Vectorised over rows: R rows of N series cost a few sorts, not N loops.
    """
    stamps = parse_dates(frame[time_column], time_column, reading)
    ids_column = parse_ids(frame[id_column], id_column, reading)
    codes, uniques = pd.factorize(ids_column)  # series numbered in order of appearance
    ids = tuple(str(u) for u in uniques)
    target = numeric(frame, target_column, reading, target_hint)
    t = stamps.to_numpy().view(np.int64)  # (R,) microseconds
    order = np.lexsort((t, codes))  # by series, then time
    code, tick = codes[order], t[order]
    same = code[1:] == code[:-1]  # (R - 1,) consecutive sorted rows of one series
    repeats = np.flatnonzero(same & (tick[1:] == tick[:-1]))
    if repeats.size:
        k = repeats[0]
        rows = np.unique(np.r_[order[repeats], order[repeats + 1]])
        raise DataError(
            f"Duplicate timestamp {pd.Timestamp(stamps.iloc[order[k]])} for series "
            f"{ids[code[k]]!r} at "
            f"{' and '.join(reading.where(frame.index[i]) for i in sorted(order[[k, k + 1]]))}"
            f" ({rows.size} duplicated rows in all).",
            "keep one row per series and timestamp (aggregate or drop the repeats)."
            + _zone_hint(reading),
        )
    as_written = np.argsort(codes, kind="stable")
    if ((codes[as_written][1:] == codes[as_written][:-1]) & (np.diff(t[as_written]) < 0)).any():
        reading.notes.append(
            f"rows were not in time order within each series; sorted by {time_column!r}"
        )
    starts = np.r_[0, np.flatnonzero(~same) + 1]  # series i's sorted rows: starts[i]:ends[i]
    ends = np.r_[starts[1:], len(order)]
    index = pd.DatetimeIndex(tick.view(f"datetime64[{TIMESTAMP_UNIT}]"))

    def series(i: int) -> pd.DatetimeIndex:
        return index[starts[i] : ends[i]]

    longest = np.argsort(-(ends - starts), kind="stable")[:FREQ_SAMPLE]
    freq, inferred = _resolve_freq({ids[i]: series(i) for i in longest}, freq, reading)
    _check_grid_size(index.min(), index.max(), freq, len(ids), reading)
    grid = pd.date_range(index.min(), index.max(), freq=freq, unit=TIMESTAMP_UNIT)
    position = grid.get_indexer(index)  # (R,)
    if (position < 0).any():
        k = int(np.flatnonzero(position < 0)[0])
        raise _off_grid(series(code[k]), index[k], freq, ids[code[k]], reading)
    gaps = np.flatnonzero(same & (np.diff(position) > 1))
    if gaps.size:
        k, i = gaps[0], code[gaps[0]]
        missing = position[ends[i] - 1] - position[starts[i]] + 1 - (ends[i] - starts[i])
        fills = reading.choices("fill", FILL_POLICIES[1:])
        raise DataError(
            f"Irregular timestamps in series {ids[i]!r}: {missing} missing {freq!r} steps, "
            f"the first at {grid[position[k] + 1]}.",
            f"add the missing rows with empty values and fill them ({fills}), or give the right "
            f"frequency ({reading.option('freq', '<alias>')})." + _zone_hint(reading),
        )
    values = np.full((len(ids), len(grid)), np.nan)
    values[code, position] = target[order]
    extra = {}
    for name in covariates:  # covariates are not used by the models: NaN allowed
        extra[name] = np.full((len(ids), len(grid)), np.nan)
        extra[name][code, position] = numbers(frame[name])[0][order]
    spans = np.stack([position[starts], position[ends - 1] + 1], axis=1).astype(np.int64)
    return ids, grid, values, extra, spans, freq, inferred


def _wide_to_long(
    frame: pd.DataFrame, time: str, reading: Reading
) -> tuple[pd.DataFrame, str, str, str]:
    """A wide frame melted to long rows under names none of the user's columns has."""
    series = [c for c in frame.columns if c != time]
    if not series:
        raise DataError(
            f"{reading.name} has only the date column {time!r}.",
            "add one numeric column per series (wide) or use unique_id, ds, y (long).",
        )
    stamps = parse_dates(frame[time], time, reading)
    repeated = stamps.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        lines = np.flatnonzero((stamps == stamps.iloc[first]).to_numpy())[:2]
        raise DataError(
            f"The date column {time!r} repeats {stamps.iloc[lines[0]]} at "
            f"{' and '.join(reading.where(frame.index[i]) for i in lines)}: in wide format each "
            "date is one row.",
            f"keep one row per date; if the file is long format (one row per series and date), "
            f"pass {reading.option('format', 'long')} {reading.option('id', '<id column>')} "
            f"{reading.option('time', time)} {reading.option('target', '<column>')}.",
        )
    values, bad = numbers_table(frame, series)  # (R, C): every series parsed at once
    if bad.any():  # name the offending series column and line, not the melted ones
        name = series[int(np.flatnonzero(bad.any(axis=0))[0])]
        others = [c for c in series if c != name]
        numeric(
            frame,
            name,
            reading,
            f"make every value a number; if {name!r} holds series ids, the file is long "
            f"format: pass {reading.option('format', 'long')} {reading.option('id', name)} "
            f"{reading.option('time', time)} "
            f"{reading.option('target', others[0] if len(others) == 1 else '<column>')}.",
        )
    parsed_values = dict(zip(series, values.T, strict=True))
    taken = list(frame.columns)
    row, sid, value = _fresh("row", taken), _fresh("series", taken), _fresh("value", taken)
    parsed = pd.concat(
        [stamps.rename(time), pd.DataFrame(parsed_values, index=frame.index)], axis=1
    )
    melted = (
        parsed.rename_axis(row)
        .reset_index()
        .melt(id_vars=[row, time], value_vars=series, var_name=sid, value_name=value)
    )
    return melted.set_index(row), sid, time, value


def load_user_data(
    path: str | Path,
    *,
    format: DataFormat | None = None,
    freq: str | None = None,
    id_column: str = "unique_id",
    time_column: str = "ds",
    target_column: str = "y",
    date_column: str | None = None,
    fill: FillPolicy = "error",
    encoding: str = "utf-8",
    context_length: int | None = None,
    horizon: int | None = None,
    surface: Surface = "python",
) -> UserSeries:
    """Read and validate a user's CSV or Parquet file of time series.

    Args:
        path: a `.csv` / `.tsv` / `.txt` or `.parquet` / `.pq` file.
        format: "long" (`id_column, time_column, target_column` + covariates) or "wide"
            (`date_column` + one numeric column per series); inferred from the columns if None
            (`time_column, target_column` without an id column is one series; a text column of
            repeated labels beside a date and one numeric column is long format).
        freq: pandas offset alias; inferred with `pandas.infer_freq` if None.
        date_column: wide format's date column; default the one named ds/date/datetime/
            timestamp/time (any case), else the first column.
        fill: what to do with NaN/inf values: "error" (default), or fill them by "ffill"
            (then back-fill a leading gap), "interpolate" (linear) or "zero".
        encoding: the CSV's text encoding (a UTF-16 or UTF-8 byte-order mark is honoured).
        context_length, horizon: if both given, also `check_length` against them.
        surface: "python" or "cli": how fix messages spell options (`id_column='x'` or
            `--id-col x`).

    Returns:
        UserSeries with values (N, T); what was inferred or repaired is in `notes`.

    Raises:
        DataError: naming the problem (file, column, line) and the fix.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if fill not in FILL_POLICIES:
        raise ValueError(f"fill must be one of {FILL_POLICIES}, got {fill!r}")
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {SURFACES}, got {surface!r}")
    path = Path(path)
    reading = Reading(path.name, path.suffix.lower() in CSV_SUFFIXES, surface)
    frame = drop_unnamed_empty_columns(read_frame(path, encoding, reading), reading)
    columns = list(frame.columns)
    long_columns = (id_column, time_column, target_column)
    format_inferred = format is None
    roles: tuple[str | None, str, str] = long_columns
    if format is None:
        format, roles = _infer_format(frame, long_columns, date_column, reading)
        reading.notes.append(f"format inferred as {format!r} from the columns {columns}")
    elif format == "long":
        found = _long_roles(columns, long_columns, reading)
        if found is None:
            _require_long(columns, long_columns, reading)
        roles = found or long_columns
    if format == "long":
        ids_from, time, target = roles
        covariates = [c for c in columns if c not in roles]
        if ids_from is None:  # one series, named after its target column
            ids_from = _fresh("series", columns)
            frame = frame.assign(**{ids_from: target})
        if covariates:
            reading.notes.append(
                f"covariate column(s) {', '.join(map(repr, covariates))} read but not used: "
                "the forecasting models see the target only"
            )
        ids, grid, values, extra, spans, freq, freq_inferred = _long_to_grid(
            frame, ids_from, time, target, covariates, freq, reading
        )
        value_column = target
    else:
        time = _wide_date_column(columns, date_column, reading)
        melted, sid, time, value = _wide_to_long(frame, time, reading)
        ids, grid, values, extra, spans, freq, freq_inferred = _long_to_grid(
            melted, sid, time, value, [], freq, reading
        )
        value_column = "<series columns>"
    if freq_inferred:
        reading.notes.append(f"frequency inferred as {freq!r}")
    if len(set(map(tuple, spans))) > 1:
        reading.notes.append("series cover different time ranges; values are NaN outside each span")
    timestamps = grid.to_numpy()
    _check_finite(values, spans, ids, timestamps, value_column, fill, reading)
    data = UserSeries(
        series_ids=ids,
        timestamps=timestamps,
        values=values,
        freq=freq,
        format=format,
        spans=spans,
        covariates=extra,
        format_inferred=format_inferred,
        freq_inferred=freq_inferred,
        notes=tuple(reading.notes),
        timezone=reading.timezone,
    )
    log.info("%s: %d series x %d steps, freq %s", path.name, len(ids), len(grid), freq)
    if context_length is not None and horizon is not None:
        check_length(data, context_length, horizon)
    return data
