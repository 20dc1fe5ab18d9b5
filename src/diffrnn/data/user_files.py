"""Reading a user's file: CSV or Parquet into raw columns, and cells into numbers, dates and ids.

    reading = Reading("sales.csv", is_csv=True, surface="cli")
    frame = read_frame(Path("sales.csv"), "utf-8", reading)  # every CSV cell as text
    values = numeric(frame, "y", reading)                     # float64, NaN where missing
    stamps = parse_dates(frame["ds"], "ds", reading)          # datetime64[us], local time
    ids = parse_ids(frame["unique_id"], "unique_id", reading) # strings as written

Nothing is guessed from a cell's look: a CSV is read as text, so ids keep their zeros ("01" is
not "1") and words such as "NA"; value columns turn pandas' missing tokens into NaN and refuse
anything else that is not a number. Sizes are checked before memory is committed (Parquet's
row count and uncompressed size from its metadata). `DataError`s name the file, column and line,
and spell the fix for where the user is (`--encoding latin-1` or `encoding='latin-1'`).
"""

from __future__ import annotations

import codecs
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from diffrnn.errors import DataError

Surface = Literal["python", "cli"]
SURFACES: tuple[str, ...] = ("python", "cli")
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
_ISO_FIX = "write dates in one ISO 8601 form throughout (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
_OFFSET = (  # "2020-03-29 03:00:00+02:00": the local time, then its UTC offset
    r"^(?P<local>.*\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?)\s*"
    r"(?P<offset>Z|UTC|GMT|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d+)?)?)?)$"  # +00:53:28 (LMT)
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


@dataclass
class Reading:
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


def _not_text(reading: Reading, encoding: str, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{reading.name} is not {encoding} text (byte 0x{exc.object[exc.start]:02x} at offset "
        f"{exc.start}).",
        f"save it as UTF-8 CSV, or give the file's encoding "
        f"({reading.option('encoding', 'latin-1')}, for example).",
    )


def _sniff(path: Path, encoding: str, reading: Reading) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV: a UTF-16/UTF-8 byte-order mark wins over the default
    encoding; the delimiter is a comma unless the header has none and has `;`, tab or `|`."""
    try:
        codecs.lookup(encoding)
        b"".decode(encoding)  # a text encoding, not a bytes-to-bytes codec such as rot13
    except LookupError:
        raise DataError(
            f"Unknown text encoding {encoding!r}.",
            f"give a Python codec name ({reading.option('encoding', 'latin-1')}, for example).",
        ) from None
    with path.open("rb") as file:
        head = file.read(65536)
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
    header = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in DELIMITERS}
    if counts[","] or not any(counts.values()):
        return encoding, ","
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    name = {";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    reading.notes.append(f"read as {name}-separated (the header has no commas)")
    return encoding, delimiter


def _read_csv(path: Path, encoding: str, reading: Reading) -> pd.DataFrame:
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


def _read_parquet(path: Path, reading: Reading) -> pd.DataFrame:
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata  # the footer only: sizes before any data is read
    rows, columns = metadata.num_rows, metadata.num_columns
    if rows > MAX_ROWS:
        raise DataError(
            f"{reading.name} holds {rows:,} rows of {columns} column(s) (its Parquet metadata), "
            f"about {rows * columns * 8 / 1e9:.1f} GB once loaded; the limit is {MAX_ROWS:,} rows.",
            "aggregate to a coarser frequency or split the file by series.",
        )
    content = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if content > MAX_PARQUET_BYTES:
        raise DataError(
            f"{reading.name} holds {content / 1e9:.1f} GB of data once decompressed (its Parquet "
            f"metadata); the limit is {MAX_PARQUET_BYTES / 1e9:.0f} GB.",
            "drop the columns that are not series, ids or dates, or split the file by series.",
        )
    return pd.read_parquet(path)


def read_frame(path: Path, encoding: str, reading: Reading) -> pd.DataFrame:
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


def drop_unnamed_empty_columns(frame: pd.DataFrame, reading: Reading) -> pd.DataFrame:
    """Drop columns without a header name and without a value: what a trailing comma on every
    line (a common spreadsheet export) makes. A nameless column holding values is kept, so it
    is reported like any unknown column."""
    empty = [c for c in frame.columns if c.startswith("Unnamed: ") and blank(frame[c]).all()]
    if empty:
        reading.notes.append(
            f"dropped {len(empty)} empty column(s) without a header (trailing commas)"
        )
    return frame.drop(columns=empty)


def blank(column: pd.Series) -> pd.Series:
    """True where a raw cell is missing or empty text."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return column.isna()
    return column.isna() | (column.astype(str).str.strip() == "")


# ---------------------------------------------------------------------------------------------
# Columns: numbers, dates, ids


def numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
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
    values = coerced.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    if column.dtype == object:  # Parquet's mixed objects: numbers as they are, bools refused
        for i, v in enumerate(column):
            if isinstance(v, bool | np.bool_):
                values[i] = np.nan
            elif isinstance(v, int | float | np.number):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    values[i] = float(v) if abs(v) < 1e308 else np.copysign(np.inf, v)
    bad = ~missing & np.isnan(values)
    if bad.any():  # "+nan", "-NaN": a number that is NaN, missing, not an error
        bad[bad] = ~text[bad].str.lower().str.lstrip("+-").eq("nan").to_numpy()
    return values, bad


def numbers_table(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`numbers` of many columns at once (a wide file's thousand series in one parse).

    Returns:
        values (R, C) float64 and bad (R, C), column j being `columns[j]`.
    """
    if not columns:
        return np.zeros((len(frame), 0)), np.zeros((len(frame), 0), bool)
    values, bad = numbers(pd.concat([frame[c] for c in columns], ignore_index=True))
    shape = (len(columns), len(frame))
    return values.reshape(shape).T, bad.reshape(shape).T


def numeric(frame: pd.DataFrame, name: str, reading: Reading, hint: str = "") -> np.ndarray:
    values, bad = numbers(frame[name])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Non-numeric value {cell_text(frame[name].iloc[i])} in column {name!r} at "
            f"{reading.where(frame.index[i])}.",
            hint
            or "make every value a number (a decimal point, no thousands separators or units); "
            "leave a missing value empty.",
        )
    return values


def cell_text(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _to_datetime(text: pd.Series, **kwargs: object) -> pd.Series:
    """pandas' parse with unparsable cells NaT; raises ValueError for mixed UTC offsets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format" noise
        return pd.to_datetime(text, errors="coerce", **kwargs)  # type: ignore[call-overload]


def _parse_text_dates(text: pd.Series, iso: pd.Series, name: str, reading: Reading) -> pd.Series:
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
            f"{reading.where(text.index[i])} reads as {_day(complete[0].iloc[i])} (month first) "
            f"or {_day(complete[1].iloc[i])} (day first).",
            _ISO_FIX + ".",
        )
    if not complete:  # the parse that reads the most cells: its first failure is the culprit
        return max([iso, *candidates], key=lambda c: int(c.notna().sum()))
    reading.notes.append(
        f"dates in {name!r} are not ISO 8601; parsed {text.iloc[0]!r} as "
        f"{_day(complete[0].iloc[0])}"
    )
    return complete[0]


def _day(stamp: pd.Timestamp) -> str:
    """The day of `stamp` as YYYY-MM-DD; unlike `.date()` also for pandas' years before 1."""
    return stamp.isoformat().split("T")[0]


def _local_times(text: pd.Series, name: str, reading: Reading) -> pd.Series:
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


def parse_dates(column: pd.Series, name: str, reading: Reading) -> pd.Series:
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
        text = column.astype(str).str.strip()
        text = text.where(~blank(column) & ~text.isin(list(MISSING_TOKENS | {"NaT"})))
        try:
            iso = _to_datetime(text, format="ISO8601")
            failed = iso.isna() & text.notna()
            zoned = isinstance(iso.dtype, pd.DatetimeTZDtype) or (  # offsets pandas cannot read
                failed.any() and text[failed].str.extract(_OFFSET)["offset"].notna().any()
            )
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
                else f"Unparsable date {cell_text(text.iloc[i])}"
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


def parse_ids(column: pd.Series, name: str, reading: Reading) -> pd.Series:
    """Series ids as the strings written ("01" stays "01"); an empty id is refused."""
    empty = blank(column).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"Empty series id in column {name!r} at {reading.where(column.index[i])} "
            f"({int(empty.sum())} rows without an id).",
            "give every row its series id, or drop the rows without one.",
        )
    return column.astype(str)
