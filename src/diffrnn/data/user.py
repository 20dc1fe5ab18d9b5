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

from diffrnn.errors import DataError

log = logging.getLogger(__name__)

DataFormat = Literal["long", "wide"]
FillPolicy = Literal["error", "ffill", "interpolate", "zero"]
Surface = Literal["python", "cli"]
FORMATS: tuple[str, ...] = ("long", "wide")
FILL_POLICIES: tuple[str, ...] = ("error", "ffill", "interpolate", "zero")
SURFACES: tuple[str, ...] = ("python", "cli")
DATE_COLUMN_NAMES = ("ds", "date", "datetime", "timestamp", "time")  # wide format, any case
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")
"""Field separators sniffed from a CSV header (a comma unless the header has none)."""
MISSING_TOKENS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
"""Cells read as a missing value in value columns (pandas' defaults); ids and dates keep them."""
TIMESTAMP_UNIT = "us"
"""Timestamps are datetime64[us]: years -290,000 to 290,000 at microsecond resolution."""
MAX_ROWS = 10_000_000
"""Most rows a file may hold (Parquet: read from its metadata before anything is loaded)."""
MAX_CSV_BYTES = 2_000_000_000
"""Largest CSV read (about 200 bytes a row at MAX_ROWS)."""
MAX_PARQUET_BYTES = 4_000_000_000
"""Largest uncompressed Parquet content (its metadata's row-group sizes)."""
MAX_GRID_VALUES = 50_000_000
"""Most series x time steps on the common grid (400 MB per float64 array)."""
FREQ_SAMPLE = 32
"""Series (the longest) a frequency is inferred from; every series is then checked against it."""
_ISO_FIX = "write dates in one ISO 8601 form throughout (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
_OFFSET = (  # "2020-03-29 03:00:00+02:00": the local time, then its UTC offset
    r"^(?P<local>.*\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?)\s*(?P<offset>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
)
_OPTIONS: dict[str, dict[str, str]] = {
    "python": {
        "id": "id_column={!r}",
        "time": "time_column={!r}",
        "target": "target_column={!r}",
        "date": "date_column={!r}",
        "format": "format={!r}",
        "freq": "freq={!r}",
        "fill": "fill={!r}",
        "encoding": "encoding={!r}",
    },
    "cli": {
        "id": "--id-col {}",
        "time": "--time-col {}",
        "target": "--target-col {}",
        "date": "--time-col {}",
        "format": "--format {}",
        "freq": "--freq {}",
        "fill": "--fill {}",
        "encoding": "--encoding {}",
    },
}


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


@dataclass
class _Reading:
    """One file being read: where messages point, how options are spelled, what was noted."""

    name: str
    is_csv: bool
    surface: Surface
    notes: list[str] = field(default_factory=list)
    timezone: str | None = None

    def where(self, index: int) -> str:
        """Line (CSV, the header is line 1) or row (Parquet) of the frame's row `index`."""
        return f"line {index + 2}" if self.is_csv else f"row {index + 1}"

    def option(self, key: str, value: str) -> str:
        """How the user sets option `key` to `value` where they are (`--fill ffill`)."""
        return _OPTIONS[self.surface][key].format(value)

    def choices(self, key: str, values: tuple[str, ...]) -> str:
        """`--fill ffill, interpolate or zero` / `fill='ffill', 'interpolate' or 'zero'`."""
        rest = [repr(v) if self.surface == "python" else v for v in values[1:]]
        return self.option(key, values[0]) + "".join(
            f"{' or ' if k == len(rest) - 1 else ', '}{v}" for k, v in enumerate(rest)
        )


def _fresh(base: str, taken: list[str]) -> str:
    """A column name not in `taken` (internal columns never collide with the user's)."""
    name = base
    while name in taken:
        name += "_"
    return name


# ---------------------------------------------------------------------------------------------
# Reading a file into a frame of raw columns


def _check_path(path: Path) -> None:
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


def _not_text(reading: _Reading, encoding: str, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{reading.name} is not {encoding} text (byte 0x{exc.object[exc.start]:02x} at offset "
        f"{exc.start}).",
        f"save it as UTF-8 CSV, or give the file's encoding "
        f"({reading.option('encoding', 'latin-1')}, for example).",
    )


def _sniff(path: Path, encoding: str, reading: _Reading) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV: a UTF-16/UTF-8 byte-order mark wins over the default
    encoding; the delimiter is a comma unless the header has none and has `;`, tab or `|`."""
    head = path.open("rb").read(65536)
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
            reading.notes.append("read as UTF-16 (the file starts with its byte-order mark)")
        elif head.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
    if path.suffix.lower() == ".tsv":
        return encoding, "\t"
    try:
        text = head.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the 64 KB boundary
            raise _not_text(reading, encoding, exc) from None
        text = head[: exc.start].decode(encoding)
    except LookupError:
        raise DataError(
            f"Unknown text encoding {encoding!r}.",
            f"give a Python codec name ({reading.option('encoding', 'latin-1')}, for example).",
        ) from None
    header = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in DELIMITERS}
    if counts[","] or not any(counts.values()):
        return encoding, ","
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    name = {";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    reading.notes.append(f"read as {name}-separated (the header has no commas)")
    return encoding, delimiter


def _read_csv(path: Path, encoding: str, reading: _Reading) -> pd.DataFrame:
    if path.stat().st_size > MAX_CSV_BYTES:
        raise DataError(
            f"{reading.name} is {path.stat().st_size / 1e9:.1f} GB; the limit is "
            f"{MAX_CSV_BYTES / 1e9:.0f} GB of CSV.",
            "aggregate to a coarser frequency, split the file by series, or save it as Parquet.",
        )
    encoding, delimiter = _sniff(path, encoding, reading)
    # Every cell as text, nothing guessed: ids keep their zeros ("01" is not "1") and words such
    # as "NA" (only an empty cell is missing); value columns are converted by `_numbers`.
    # index_col=False: a trailing comma on every line must not turn the first column into the
    # index; a line with more fields than the header is an error, not silently truncated.
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                path,
                encoding=encoding,
                sep=delimiter,
                index_col=False,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
        except UnicodeDecodeError as exc:
            raise _not_text(reading, encoding, exc) from None


def _read_parquet(path: Path, reading: _Reading) -> pd.DataFrame:
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata  # the footer only: sizes before any data is read
    rows = metadata.num_rows
    content = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if rows > MAX_ROWS or content > MAX_PARQUET_BYTES:
        raise DataError(
            f"{reading.name} holds {rows:,} rows, {content / 1e9:.1f} GB uncompressed (its "
            f"Parquet metadata); the limits are {MAX_ROWS:,} rows and "
            f"{MAX_PARQUET_BYTES / 1e9:.0f} GB.",
            "aggregate to a coarser frequency or split the file by series.",
        )
    return pd.read_parquet(path)


def _read(path: Path, encoding: str, reading: _Reading) -> pd.DataFrame:
    import pyarrow as pa

    _check_path(path)
    kind = "CSV" if reading.is_csv else "Parquet"
    try:
        frame = (
            _read_csv(path, encoding, reading) if reading.is_csv else _read_parquet(path, reading)
        )
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{reading.name} holds no columns.", "write a header row and data rows."
        ) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, pa.ArrowException) as exc:
        raise DataError(
            f"{reading.name} cannot be read as {kind}: {_first_line(exc)}",
            f"check that it is a valid {kind} file (same number of fields on every line).",
        ) from None
    except (ValueError, TypeError, OSError, OverflowError, MemoryError) as exc:
        raise DataError(
            f"{reading.name} cannot be read as {kind}: {type(exc).__name__}: {_first_line(exc)}",
            f"check that it is a valid {kind} file with one column per field.",
        ) from None
    if len(frame) > MAX_ROWS:
        raise DataError(
            f"{reading.name} holds {len(frame):,} rows; the limit is {MAX_ROWS:,}.",
            "aggregate to a coarser frequency or split the file by series.",
        )
    if frame.empty:
        raise DataError(
            f"{reading.name} has a header ({', '.join(map(str, frame.columns))}) but no data rows.",
            "add data rows below the header.",
        )
    frame.columns = [str(c) for c in frame.columns]
    if len(set(frame.columns)) < frame.shape[1]:  # Parquet may repeat a name; CSV renames
        raise DataError(
            f"{reading.name} repeats a column name ({_repeated(list(frame.columns))!r}).",
            "give every column its own name.",
        )
    return frame.reset_index(drop=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _repeated(columns: list[str]) -> str:
    return next(c for c in columns if columns.count(c) > 1)


def _drop_unnamed_empty_columns(frame: pd.DataFrame, reading: _Reading) -> pd.DataFrame:
    """Drop columns without a header name and without a value: what a trailing comma on every
    line (a common spreadsheet export) makes. A nameless column holding values is kept, so it
    is reported like any unknown column."""
    empty = [c for c in frame.columns if c.startswith("Unnamed: ") and _blank(frame[c]).all()]
    if empty:
        reading.notes.append(
            f"dropped {len(empty)} empty column(s) without a header (trailing commas)"
        )
    return frame.drop(columns=empty)


def _blank(column: pd.Series) -> pd.Series:
    """True where a raw cell is missing or empty text."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return column.isna()
    return column.isna() | (column.astype(str).str.strip() == "")


# ---------------------------------------------------------------------------------------------
# Columns: numbers, dates, ids


def _numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values, bad): float64 values (NaN where missing) and where a cell is not a number."""
    if pd.api.types.is_bool_dtype(column):
        return np.full(len(column), np.nan), np.ones(len(column), bool)
    if pd.api.types.is_numeric_dtype(column):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # huge integers become inf
            return column.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(column), bool)
    text = column.astype(str).str.strip()
    missing = column.isna().to_numpy() | text.isin(list(MISSING_TOKENS)).to_numpy()
    coerced = pd.to_numeric(text.where(~missing), errors="coerce")
    values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    if column.dtype == object:  # Parquet's mixed objects: numbers as they are, bools refused
        for i, v in enumerate(column):
            if isinstance(v, bool | np.bool_):
                values[i] = np.nan
            elif isinstance(v, int | float | np.number):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    values[i] = float(v) if abs(v) < 1e308 else np.copysign(np.inf, v)
    return values, ~missing & np.isnan(values) & ~_is_nan_token(text)


def _is_nan_token(text: pd.Series) -> np.ndarray:
    """Where a cell spells NaN itself ("nan", "-NaN"): a number, missing, not an error."""
    return text.str.lower().str.lstrip("+-").eq("nan").to_numpy()


def _numeric(frame: pd.DataFrame, name: str, reading: _Reading, hint: str = "") -> np.ndarray:
    values, bad = _numbers(frame[name])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Non-numeric value {_cell(frame[name].iloc[i])} in column {name!r} at "
            f"{reading.where(frame.index[i])}.",
            hint
            or "make every value a number (a decimal point, no thousands separators or units); "
            "leave a missing value empty.",
        )
    return values


def _cell(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _to_datetime(text: pd.Series, **kwargs: object) -> pd.Series:
    """pandas' parse with unparsable cells NaT; raises ValueError for mixed UTC offsets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format" noise
        return pd.to_datetime(text, errors="coerce", **kwargs)  # type: ignore[call-overload]


def _parse_text_dates(text: pd.Series, iso: pd.Series, name: str, reading: _Reading) -> pd.Series:
    """Date strings parsed: `iso` (their ISO 8601 parse) unless some failed, then a month- or
    day-first form if one parses them all and they agree (else an ambiguity error)."""
    if not (iso.isna() & text.notna()).any():
        return iso
    candidates = []
    for dayfirst in (False, True):
        try:
            candidates.append(_to_datetime(text, dayfirst=dayfirst))
        except (ValueError, TypeError, OverflowError):
            continue
    complete = [c for c in candidates if not (c.isna() & text.notna()).any()]
    if len(complete) == 2 and not complete[0].equals(complete[1]):
        i = int(np.flatnonzero((complete[0] != complete[1]).to_numpy())[0])
        raise DataError(
            f"Ambiguous dates in column {name!r}: {text.iloc[i]!r} at "
            f"{reading.where(text.index[i])} reads as {complete[0].iloc[i].date()} (month first) "
            f"or {complete[1].iloc[i].date()} (day first).",
            _ISO_FIX + ".",
        )
    if not complete:
        return iso
    reading.notes.append(
        f"dates in {name!r} are not ISO 8601; parsed {text.iloc[0]!r} as "
        f"{complete[0].iloc[0].date()}"
    )
    return complete[0]


def _local_times(text: pd.Series, name: str, reading: _Reading) -> pd.Series:
    """Date strings with their UTC offsets cut off (the wall-clock time as written), noted."""
    zoned = text.str.extract(_OFFSET)
    has_offset = zoned["offset"].notna()
    offsets = sorted(set(zoned["offset"].dropna()))
    reading.timezone = ", ".join(offsets[:4]) + (", ..." if len(offsets) > 4 else "")
    reading.notes.append(
        f"times in {name!r} carry UTC offsets ({reading.timezone}): used the local wall-clock "
        "time as written (calendar features in local time)"
    )
    return text.where(~has_offset, zoned["local"])


def _parse_dates(column: pd.Series, name: str, reading: _Reading) -> pd.Series:
    """Timestamps as datetime64[us] in the file's local time, or a DataError at the first bad
    cell. A time-zone-aware column or UTC offsets keep their wall-clock time, with a note."""
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = column
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            reading.timezone = str(column.dt.tz)
            reading.notes.append(
                f"times in {name!r} are in time zone {reading.timezone}: used as local "
                "wall-clock time (calendar features in local time)"
            )
            parsed = column.dt.tz_localize(None)
    elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise DataError(
            f"Column {name!r} holds numbers ({column.iloc[0]!r}, ...), not dates.",
            f"{_ISO_FIX}, or name the right date column.",
        )
    else:
        text = column.astype(str).str.strip().where(~_blank(column))
        try:
            iso = _to_datetime(text, format="ISO8601")
            zoned = isinstance(iso.dtype, pd.DatetimeTZDtype)
        except (ValueError, TypeError, OverflowError):  # mixed UTC offsets
            zoned = True
        if zoned:
            text = _local_times(text, name, reading)
            try:
                iso = _to_datetime(text, format="ISO8601")
            except (ValueError, TypeError, OverflowError):
                iso = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[{TIMESTAMP_UNIT}]")
        parsed = _parse_text_dates(text, iso, name, reading)
        bad = parsed.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = (
                "Missing date"
                if pd.isna(text.iloc[i])
                else f"Unparsable date {_cell(text.iloc[i])}"
            )
            raise DataError(
                f"{what} in column {name!r} at {reading.where(column.index[i])}.", _ISO_FIX + "."
            )
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # a zone pandas read some other way
            parsed = parsed.dt.tz_localize(None)
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(
            f"Missing date in column {name!r} at {reading.where(column.index[i])}.",
            _ISO_FIX + ".",
        )
    return parsed.dt.as_unit(TIMESTAMP_UNIT)


def _ids(column: pd.Series, name: str, reading: _Reading) -> pd.Series:
    """Series ids as the strings written ("01" stays "01"); an empty id is refused."""
    empty = _blank(column).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"Empty series id in column {name!r} at {reading.where(column.index[i])} "
            f"({int(empty.sum())} rows without an id).",
            "give every row its series id, or drop the rows without one.",
        )
    return column.astype(str)


# ---------------------------------------------------------------------------------------------
# Format: long or wide, and which column plays which role


def _missing_columns(
    roles: list[tuple[str, str, str]], columns: list[str], reading: _Reading
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


def _require_long(
    columns: list[str], long_columns: tuple[str, str, str], reading: _Reading
) -> None:
    roles = zip(
        ("series id", "time", "target"), long_columns, ("id", "time", "target"), strict=True
    )
    missing = [role for role in roles if role[1] not in columns]
    if missing:
        raise _missing_columns(missing, columns, reading)


def _long_roles(
    columns: list[str], long_columns: tuple[str, str, str], reading: _Reading
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


def _wide_date_column(columns: list[str], date_column: str | None, reading: _Reading) -> str:
    if date_column is not None:
        if date_column not in columns:
            raise _missing_columns([("date", date_column, "date")], columns, reading)
        return date_column
    named = [c for c in columns if c.strip().lower() in DATE_COLUMN_NAMES]
    return named[0] if named else columns[0]


def _text_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Columns of labels: every cell that is not missing is text, not a number."""
    found = []
    for c in columns:
        values, bad = _numbers(frame[c])
        if bad.any() and not np.isfinite(values).any():
            found.append(c)
    return found


def _infer_format(
    frame: pd.DataFrame,
    long_columns: tuple[str, str, str],
    date_column: str | None,
    reading: _Reading,
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
            f"Column {text[0]!r} holds text ({_cell(frame[text[0]].iloc[0])}, ...), so "
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


def _check_freq(freq: str, reading: _Reading) -> str:
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
    series: dict[str, pd.DatetimeIndex], freq: str | None, reading: _Reading
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


def _zone_hint(reading: _Reading) -> str:
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
    first: pd.Timestamp, last: pd.Timestamp, freq: str, num_series: int, reading: _Reading
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
    stamps: pd.DatetimeIndex, stamp: pd.Timestamp, freq: str, sid: str, reading: _Reading
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
    reading: _Reading,
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
    reading: _Reading,
    target_hint: str = "",
) -> tuple[
    tuple[str, ...], pd.DatetimeIndex, np.ndarray, dict[str, np.ndarray], np.ndarray, str, bool
]:
    """(ids, grid, values (N, T), covariates name -> (N, T), spans (N, 2), freq, inferred).

    Vectorised over rows: R rows of N series cost a few sorts, not N loops.
    """
    stamps = _parse_dates(frame[time_column], time_column, reading)
    codes, uniques = pd.factorize(_ids(frame[id_column], id_column, reading))  # appearance order
    ids = tuple(str(u) for u in uniques)
    target = _numeric(frame, target_column, reading, target_hint)
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
        extra[name][code, position] = _numbers(frame[name])[0][order]
    spans = np.stack([position[starts], position[ends - 1] + 1], axis=1).astype(np.int64)
    return ids, grid, values, extra, spans, freq, inferred


def _wide_to_long(
    frame: pd.DataFrame, time: str, reading: _Reading
) -> tuple[pd.DataFrame, str, str, str]:
    """A wide frame melted to long rows under names none of the user's columns has."""
    series = [c for c in frame.columns if c != time]
    if not series:
        raise DataError(
            f"{reading.name} has only the date column {time!r}.",
            "add one numeric column per series (wide) or use unique_id, ds, y (long).",
        )
    stamps = _parse_dates(frame[time], time, reading)
    repeated = stamps.duplicated(keep=False).to_numpy()
    if repeated.any():
        lines = np.flatnonzero(repeated)[:2]
        raise DataError(
            f"The date column {time!r} repeats {stamps.iloc[lines[0]]} at "
            f"{' and '.join(reading.where(frame.index[i]) for i in lines)}: in wide format each "
            "date is one row.",
            f"keep one row per date; if the file is long format (one row per series and date), "
            f"pass {reading.option('format', 'long')} {reading.option('id', '<id column>')} "
            f"{reading.option('time', time)} {reading.option('target', '<column>')}.",
        )
    numbers = {}
    for name in series:  # name the offending series column, not the melted one
        hint = ""
        if _numbers(frame[name])[1].any():
            others = [c for c in series if c != name]
            hint = (
                f"make every value a number; if {name!r} holds series ids, the file is long "
                f"format: pass {reading.option('format', 'long')} {reading.option('id', name)} "
                f"{reading.option('time', time)} "
                f"{reading.option('target', others[0] if len(others) == 1 else '<column>')}."
            )
        numbers[name] = _numeric(frame, name, reading, hint)
    taken = list(frame.columns)
    row, sid, value = _fresh("row", taken), _fresh("series", taken), _fresh("value", taken)
    parsed = pd.concat([stamps.rename(time), pd.DataFrame(numbers, index=frame.index)], axis=1)
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
    reading = _Reading(path.name, path.suffix.lower() in CSV_SUFFIXES, surface)
    frame = _drop_unnamed_empty_columns(_read(path, encoding, reading), reading)
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
