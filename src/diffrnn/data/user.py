"""Users' own time series: CSV or Parquet, long (`unique_id, ds, y` + covariates) or wide format.

Long format is NeuralForecast's: one row per (series, timestamp), the target in `y`, any further
numeric columns are covariates. Wide format is a date column plus one numeric column per series.
Every problem raises a `DataError` naming what is wrong, where (column, line), and the fix;
harmless oddities (unsorted rows, inferred format or frequency) are recorded in `notes` instead.
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

from diffrnn.errors import DataError

log = logging.getLogger(__name__)

DataFormat = Literal["long", "wide"]
FillPolicy = Literal["error", "ffill", "interpolate", "zero"]
FORMATS: tuple[str, ...] = ("long", "wide")
FILL_POLICIES: tuple[str, ...] = ("error", "ffill", "interpolate", "zero")
DATE_COLUMN_NAMES = ("ds", "date", "datetime", "timestamp", "time")  # wide format, any case
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
_ISO_FIX = "write dates in one ISO 8601 form throughout (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"


@dataclass(frozen=True, eq=False)
class UserSeries:
    """Users' series on one regular time grid.

    `values[i]` is series `series_ids[i]` on `timestamps`; a series that starts later or ends
    earlier than others is NaN outside `spans[i] = (start, end)` (end exclusive) and finite inside.
    """

    series_ids: tuple[str, ...]
    timestamps: np.ndarray  # (T,) datetime64[ns]
    values: np.ndarray  # (N, T) float64
    freq: str  # pandas offset alias, e.g. "D", "B", "h", "MS"
    format: DataFormat
    spans: np.ndarray  # (N, 2) int64
    covariates: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N, T)
    format_inferred: bool = False
    freq_inferred: bool = False
    notes: tuple[str, ...] = ()

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


def _location(index: int, is_csv: bool) -> str:
    return f"line {index + 2}" if is_csv else f"row {index + 1}"  # CSV: line 1 is the header


def _read(path: Path, encoding: str) -> tuple[pd.DataFrame, bool]:
    if not path.is_file():
        raise DataError(f"No file at {path}.", "check the path (CSV or Parquet).")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise DataError(
            f"{path.name}: unsupported file type {suffix!r}.",
            f"save the data as CSV ({', '.join(CSV_SUFFIXES)}) or Parquet "
            f"({', '.join(PARQUET_SUFFIXES)}).",
        )
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty (0 bytes).", "write a header row and data rows.")
    is_csv = suffix in CSV_SUFFIXES
    try:
        if is_csv:
            # index_col=False: a trailing comma on every line must not turn the first column
            # into the index (shifting every column left); a line with more fields than the
            # header is an error, not silently truncated.
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(
                    path,
                    encoding=encoding,
                    sep="\t" if suffix == ".tsv" else ",",
                    index_col=False,
                )
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not {encoding} text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}).",
            "save it as UTF-8 CSV, or pass the file's encoding (e.g. encoding='latin-1').",
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path.name} holds no columns.", "write a header row and data rows."
        ) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, OSError) as exc:
        kind = "CSV" if is_csv else "Parquet"
        raise DataError(
            f"{path.name} cannot be read as {kind}: {str(exc).splitlines()[0]}",
            f"check that it is a valid {kind} file (same number of fields on every line).",
        ) from None
    if frame.empty:
        raise DataError(
            f"{path.name} has a header ({', '.join(map(str, frame.columns))}) but no data rows.",
            "add data rows below the header.",
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame, is_csv


def _drop_unnamed_empty_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drop columns without a header name and without a value: what a trailing comma on every
    line (a common spreadsheet export) makes. A nameless column holding values is kept, so it
    is reported like any unknown column."""
    empty = [c for c in frame.columns if c.startswith("Unnamed: ") and frame[c].isna().all()]
    if empty:
        notes.append(f"dropped {len(empty)} empty column(s) without a header (trailing commas)")
    return frame.drop(columns=empty)


def _missing_column(name: str, role: str, columns: list[str], argument: str) -> DataError:
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in columns], n=1, cutoff=0.5)
    hint = ""
    if close:
        actual = next(c for c in columns if c.lower() == close[0])
        hint = f"Did you mean {actual!r}? "
    return DataError(
        f"Missing {role} column {name!r}; the file has columns {columns}.",
        f"{hint}Rename the column to {name!r} or pass {argument}='<column>'.",
    )


def _require_long(columns: list[str], long_columns: tuple[str, str, str]) -> None:
    roles = ("series id", "time", "target")
    arguments = ("id_column", "time_column", "target_column")
    for name, role, argument in zip(long_columns, roles, arguments, strict=True):
        if name not in columns:
            raise _missing_column(name, role, columns, argument)


def _infer_format(columns: list[str], long_columns: tuple[str, str, str]) -> DataFormat:
    present = [c for c in long_columns if c in columns]
    if len(present) >= 2 or long_columns[0] in columns:  # long intended (maybe one misnamed)
        _require_long(columns, long_columns)
        return "long"
    return "wide"


def _parse_dates(column: pd.Series, name: str, is_csv: bool, notes: list[str]) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if pd.api.types.is_numeric_dtype(column):
        raise DataError(
            f"Column {name!r} holds numbers ({column.iloc[0]!r}, ...), not dates.",
            f"{_ISO_FIX}, or name the right date column.",
        )
    parsed = pd.to_datetime(column, format="ISO8601", errors="coerce")
    bad = parsed.isna() & column.notna()
    if bad.any():  # not ISO 8601 throughout: let pandas infer a format, month- or day-first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format" noise
            candidates = [pd.to_datetime(column, errors="coerce", dayfirst=d) for d in (0, 1)]
        complete = [c for c in candidates if not (c.isna() & column.notna()).any()]
        if len(complete) == 2 and not complete[0].equals(complete[1]):
            i = int(np.flatnonzero((complete[0] != complete[1]).to_numpy())[0])
            raise DataError(
                f"Ambiguous dates in column {name!r}: {column.iloc[i]!r} at "
                f"{_location(column.index[i], is_csv)} reads as {complete[0].iloc[i].date()} "
                f"(month first) or {complete[1].iloc[i].date()} (day first).",
                _ISO_FIX + ".",
            )
        if complete:
            parsed = complete[0]
            bad = parsed.isna() & column.notna()
            notes.append(
                f"dates in {name!r} are not ISO 8601; parsed {column.iloc[0]!r} as "
                f"{parsed.iloc[0].date()}"
            )
    if column.isna().any() or bad.any():
        i = int(np.flatnonzero((bad | column.isna()).to_numpy())[0])
        what = "Missing date" if pd.isna(column.iloc[i]) else f"Unparsable date {column.iloc[i]!r}"
        raise DataError(
            f"{what} in column {name!r} at {_location(column.index[i], is_csv)}.",
            _ISO_FIX + ".",
        )
    return parsed


def _numeric(frame: pd.DataFrame, name: str, is_csv: bool) -> np.ndarray:
    column = frame[name]
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        coerced = pd.to_numeric(column, errors="coerce")
        bad = coerced.isna() & column.notna()
        if bad.any() or pd.api.types.is_bool_dtype(column):
            i = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
            raise DataError(
                f"Non-numeric value {column.iloc[i]!r} in column {name!r} at "
                f"{_location(frame.index[i], is_csv)}.",
                "make every value a number (a decimal point, no thousands separators or units); "
                "leave a missing value empty.",
            )
        column = coerced
    return column.to_numpy(dtype=np.float64)


def _infer_freq(stamps: pd.DatetimeIndex) -> str | None:
    if len(stamps) < 3:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="A future version of pandas will return")
        freq = pd.infer_freq(stamps)
    return freq if freq is None or isinstance(freq, str) else freq.freqstr


def _resolve_freq(per_series: dict[str, pd.DatetimeIndex], freq: str | None) -> tuple[str, bool]:
    if freq is not None:
        try:
            pd.tseries.frequencies.to_offset(freq)
        except ValueError:
            raise DataError(
                f"Unknown frequency {freq!r}.",
                "use a pandas offset alias such as 'D', 'B', 'h', 'W', 'MS' or 'ME'.",
            ) from None
        return freq, False
    found = {sid: _infer_freq(stamps) for sid, stamps in per_series.items()}
    undetermined = [sid for sid, f in found.items() if f is None]
    if undetermined:
        sid = undetermined[0]
        stamps = per_series[sid]
        steps = ", ".join(str(pd.Timedelta(d)) for d in np.unique(np.diff(stamps.to_numpy()))[:3])
        detail = (
            f"it has only {len(stamps)} timestamps"
            if len(stamps) < 3
            else f"its steps vary ({steps}, ...)"
        )
        raise DataError(
            f"Cannot infer a regular frequency for series {sid!r}: {detail}.",
            "pass freq='<pandas alias>' (e.g. 'D', 'B', 'h'); missing steps must then be "
            "present as rows with empty values and a fill policy.",
        )
    distinct = sorted(set(found.values()))
    if len(distinct) > 1:
        example = {f: next(s for s, g in found.items() if g == f) for f in distinct}
        raise DataError(
            "Ambiguous frequency: series disagree ("
            + ", ".join(f"{sid!r} looks {f!r}" for f, sid in example.items())
            + ").",
            "pass freq='<pandas alias>' for all series, or split the file by frequency.",
        )
    return distinct[0], True


def _check_grid(stamps: pd.DatetimeIndex, freq: str, series: str) -> None:
    expected = pd.date_range(stamps[0], stamps[-1], freq=freq)
    if len(expected) == len(stamps) and (expected == stamps).all():
        return
    off_grid = stamps.difference(expected)
    if len(off_grid):
        raise DataError(
            f"Irregular timestamps in series {series!r}: {off_grid[0]} is not on the {freq!r} "
            f"grid starting {stamps[0]}.",
            "fix or drop the off-grid rows, or pass the right freq.",
        )
    gap = expected.difference(stamps)
    raise DataError(
        f"Irregular timestamps in series {series!r}: {len(gap)} missing {freq!r} steps, "
        f"the first at {gap[0]}.",
        "add the missing rows with empty values and choose fill='ffill'|'interpolate'|'zero', "
        "or pass the right freq.",
    )


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
    notes: list[str],
) -> None:
    inside = np.zeros(values.shape, dtype=bool)
    for i, (start, end) in enumerate(spans):
        inside[i, start:end] = True
    bad = inside & ~np.isfinite(values)
    if not bad.any():
        return
    if fill == "error":
        i, t = (int(k[0]) for k in np.nonzero(bad))
        kind = "NaN (missing)" if np.isnan(values[i, t]) else "infinite"
        raise DataError(
            f"{int(bad.sum())} NaN or infinite values in column {column!r}; the first is "
            f"{kind} in series {ids[i]!r} at {pd.Timestamp(timestamps[t])}.",
            "fill or drop them, or pass fill='ffill'|'interpolate'|'zero' to fill them.",
        )
    n = _fill(values, spans, fill, f"column {column!r}")
    notes.append(f"filled {n} NaN/infinite values in column {column!r} with policy {fill!r}")


def _long_to_grid(
    frame: pd.DataFrame,
    id_column: str,
    time_column: str,
    value_columns: list[str],
    freq: str | None,
    is_csv: bool,
    notes: list[str],
) -> tuple[tuple[str, ...], pd.DatetimeIndex, dict[str, np.ndarray], np.ndarray, str, bool]:
    frame = frame.assign(
        **{time_column: _parse_dates(frame[time_column], time_column, is_csv, notes)}
    )
    frame[id_column] = frame[id_column].astype(str)
    numeric = {c: _numeric(frame, c, is_csv) for c in value_columns}
    frame = frame.assign(**numeric)
    duplicated = frame.duplicated([id_column, time_column], keep=False)
    if duplicated.any():
        rows = frame[duplicated]
        first = rows.iloc[0]
        lines = rows[
            (rows[id_column] == first[id_column]) & (rows[time_column] == first[time_column])
        ].index
        raise DataError(
            f"Duplicate timestamp {first[time_column]} for series {first[id_column]!r} at "
            f"{' and '.join(_location(i, is_csv) for i in lines[:2])}"
            f" ({int(duplicated.sum())} duplicated rows in all).",
            "keep one row per series and timestamp (aggregate or drop the repeats).",
        )
    ids = tuple(dict.fromkeys(frame[id_column]))  # first-appearance order
    if not frame.groupby(id_column, sort=False)[time_column].is_monotonic_increasing.all():
        notes.append(f"rows were not in time order within each series; sorted by {time_column!r}")
    groups = dict(
        tuple(frame.sort_values(time_column, kind="stable").groupby(id_column, sort=False))
    )
    per_series = {sid: pd.DatetimeIndex(groups[sid][time_column]) for sid in ids}
    freq, inferred = _resolve_freq(per_series, freq)
    for sid in ids:
        _check_grid(per_series[sid], freq, sid)
    grid = pd.date_range(frame[time_column].min(), frame[time_column].max(), freq=freq)
    positions = {sid: grid.get_indexer(per_series[sid]) for sid in ids}
    if any((p < 0).any() for p in positions.values()):
        raise DataError(
            f"Series are not on one common {freq!r} grid (their timestamps are offset).",
            "align the series' timestamps, or load them from separate files.",
        )
    arrays = {c: np.full((len(ids), len(grid)), np.nan) for c in value_columns}
    spans = np.zeros((len(ids), 2), dtype=np.int64)
    for i, sid in enumerate(ids):
        for c in value_columns:
            arrays[c][i, positions[sid]] = groups[sid][c].to_numpy()
        spans[i] = positions[sid][0], positions[sid][-1] + 1
    return ids, grid, arrays, spans, freq, inferred


def _wide_date_column(columns: list[str], date_column: str | None) -> str:
    if date_column is not None:
        if date_column not in columns:
            raise _missing_column(date_column, "date", columns, "date_column")
        return date_column
    named = [c for c in columns if c.strip().lower() in DATE_COLUMN_NAMES]
    return named[0] if named else columns[0]


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
) -> UserSeries:
    """Read and validate a user's CSV or Parquet file of time series.

    Args:
        path: a `.csv` / `.tsv` / `.txt` or `.parquet` / `.pq` file.
        format: "long" (`id_column, time_column, target_column` + numeric covariates) or "wide"
            (`date_column` + one numeric column per series); inferred from the columns if None.
        freq: pandas offset alias; inferred with `pandas.infer_freq` if None.
        date_column: wide format's date column; default the one named ds/date/datetime/
            timestamp/time (any case), else the first column.
        fill: what to do with NaN/inf values: "error" (default), or fill them by "ffill"
            (then back-fill a leading gap), "interpolate" (linear) or "zero".
        context_length, horizon: if both given, also `check_length` against them.

    Returns:
        UserSeries with values (N, T); what was inferred or repaired is in `notes`.

    Raises:
        DataError: naming the problem (file, column, line) and the fix.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if fill not in FILL_POLICIES:
        raise ValueError(f"fill must be one of {FILL_POLICIES}, got {fill!r}")
    path = Path(path)
    frame, is_csv = _read(path, encoding)
    notes: list[str] = []
    frame = _drop_unnamed_empty_columns(frame, notes)
    columns = list(frame.columns)
    long_columns = (id_column, time_column, target_column)
    format_inferred = format is None
    if format is None:
        format = _infer_format(columns, long_columns)
        notes.append(f"format inferred as {format!r} from the columns {columns}")
    if format == "long":
        _require_long(columns, long_columns)
        covariates = [c for c in columns if c not in long_columns]
        ids, grid, arrays, spans, freq, freq_inferred = _long_to_grid(
            frame, id_column, time_column, [target_column, *covariates], freq, is_csv, notes
        )
        values = arrays.pop(target_column)
        value_column = target_column
    else:
        time = _wide_date_column(columns, date_column)
        series = [c for c in columns if c != time]
        if not series:
            raise DataError(
                f"{path.name} has only the date column {time!r}.",
                "add one numeric column per series (wide) or use unique_id, ds, y (long).",
            )
        melted = frame.reset_index().melt(
            id_vars=["index", time], value_vars=series, var_name=id_column, value_name="value"
        )
        melted = melted.set_index("index")
        for name in series:  # name the offending series column, not the melted one
            _numeric(frame, name, is_csv)
        ids, grid, arrays, spans, freq, freq_inferred = _long_to_grid(
            melted, id_column, time, ["value"], freq, is_csv, notes
        )
        values, covariates, arrays = arrays["value"], [], {}
        value_column = "<series columns>"
    if freq_inferred:
        notes.append(f"frequency inferred as {freq!r}")
    if len(set(map(tuple, spans))) > 1:
        notes.append("series cover different time ranges; values are NaN outside each span")
    timestamps = grid.to_numpy(dtype="datetime64[ns]")
    _check_finite(values, spans, ids, timestamps, value_column, fill, notes)
    for name in covariates:
        _check_finite(arrays[name], spans, ids, timestamps, name, fill, notes)
    data = UserSeries(
        series_ids=ids,
        timestamps=timestamps,
        values=values,
        freq=freq,
        format=format,
        spans=spans,
        covariates=arrays,
        format_inferred=format_inferred,
        freq_inferred=freq_inferred,
        notes=tuple(notes),
    )
    log.info("%s: %d series x %d steps, freq %s", path.name, len(ids), len(grid), freq)
    if context_length is not None and horizon is not None:
        check_length(data, context_length, horizon)
    return data
