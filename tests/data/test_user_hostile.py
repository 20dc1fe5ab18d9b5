"""Hostile files for the users' CSV/Parquet loader: a valid result or a `DataError`, nothing else.

Property-based (hypothesis): random bytes, other encodings, huge/tiny/non-finite numbers, mixed
types, duplicate/unsorted/irregular timestamps, zero or one row, very wide headers; then whole
tables in any dialect (column names colliding with ours, ids such as "01", "NA" or empty, dates
in any form, year or time zone, NaN tokens, four delimiters, five encodings), typed Parquet
columns (time-zone-aware, dates, decimals, mixed objects, nulls), and the same files through the
backtest `compare --data` builds. Any other exception (a pandas/numpy internal error, a
traceback for the user) fails the test, and every result that loads is checked for the
`UserSeries` invariants (and the backtest's for `ForecastProblem`).

Cases per run (`max_examples`): 100 + 60 + 150 + 20 + 250 + 150 + 100 = 830.
"""

from __future__ import annotations

import decimal
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from diffrnn.bench.user_data import prepare_user_data, user_problem
from diffrnn.data.user import FILL_POLICIES, UserSeries, load_user_data
from diffrnn.errors import ConfigError, DataError


def _settings(examples: int) -> settings:
    """A bounded run: `examples` cases, no per-case deadline (the machine is shared)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),  # huge, tiny, subnormal, inf, NaN
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e400", "1e-400", "0x10", "1,5", "abc"]),
    st.booleans(),
)
DATES = st.one_of(
    st.datetimes(min_value=pd.Timestamp("1700-01-01"), max_value=pd.Timestamp("2200-01-01")).map(
        str
    ),
    st.sampled_from(["2020-02-30", "13/01/2020", "01/13/2020", "", "yesterday", "0", "2020-01"]),
)


def _load(path: Path, **kwargs: Any) -> UserSeries | None:
    """The loader's result, or None when it refused the file with a DataError."""
    try:
        data = load_user_data(path, **kwargs)
    except DataError as exc:
        assert exc.problem and exc.fix  # one clear message: the problem and the fix
        assert "\n" not in str(exc)
        event("refused with a DataError")
        return None
    _check_invariants(data)
    event("loaded")
    return data


def _check_invariants(data: UserSeries) -> None:
    n, t = len(data.series_ids), len(data.timestamps)
    assert n >= 1 and t >= 1 and data.values.shape == (n, t)
    assert len(set(data.series_ids)) == n
    assert (np.diff(data.timestamps.astype(np.int64)) > 0).all()  # strictly increasing grid
    for i, (start, end) in enumerate(data.spans):
        assert 0 <= start < end <= t
        assert np.isfinite(data.values[i, start:end]).all()
        assert np.isnan(data.values[i, :start]).all() and np.isnan(data.values[i, end:]).all()
    for covariate in data.covariates.values():
        assert covariate.shape == (n, t)


def _write(frame: pd.DataFrame, suffix: str, directory: Path) -> Path:
    path = directory / f"data{suffix}"
    if suffix == ".parquet":
        frame.astype(str).to_parquet(path) if frame.dtypes.eq(object).any() else frame.to_parquet(
            path
        )
    else:
        frame.to_csv(path, index=False)
    return path


@_settings(100)
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".parquet", ".tsv"]))
def test_random_bytes(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        path.write_bytes(content)
        _load(path)


@_settings(60)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    encoding=st.sampled_from(["utf-16", "latin-1", "cp1252", "utf-8-sig", "shift_jis"]),
    declared=st.sampled_from(["utf-8", "latin-1"]),
    garbage=st.booleans(),
)
def test_wrong_encodings(text: str, encoding: str, declared: str, garbage: bool) -> None:
    rows = "".join(f"é{text[:20]!r},2020-01-0{day},{day}\n" for day in (1, 2, 3))
    content = "unique_id,ds,y\n" + rows + (text if garbage else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_bytes(content.encode(encoding, errors="replace"))
        data = _load(path, encoding=declared)
        if data is not None:  # read in the wrong encoding, the id may differ, never the values
            assert data.values.tolist() == [[1.0, 2.0, 3.0]]


@st.composite
def long_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Long-format tables: 0-3 series, regular or broken timestamps, any cell values."""
    n_series = draw(st.sampled_from([0, 1, 1, 2, 3]))
    hostile_cells = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))  # share of hostile values
    rows: list[dict[str, Any]] = []
    start = pd.Timestamp("2021-03-01") + pd.Timedelta(days=draw(st.integers(-3, 3)))
    freq = draw(st.sampled_from(["D", "h", "MS", "B", "W"]))
    for s in range(n_series):
        length = draw(st.sampled_from([1, 2, 3, 5, 8, 8]))
        stamps = list(pd.date_range(start, periods=length, freq=freq).astype(str))
        if draw(st.integers(0, 2)) == 0:  # break the grid: duplicates, shuffles, gaps, garbage
            stamps = draw(st.permutations(stamps))
            stamps = stamps + draw(st.lists(st.sampled_from(stamps) | DATES, max_size=2))
            if len(stamps) > 2 and draw(st.booleans()):
                del stamps[len(stamps) // 2]
        for stamp in stamps:
            hostile = draw(st.floats(0, 1)) < hostile_cells
            value = draw(NUMBERS) if hostile else draw(st.floats(-1e3, 1e3))
            rows.append({"unique_id": f"s{s}", "ds": stamp, "y": value})
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    if draw(st.booleans()) and len(frame):
        frame["temp"] = [  # a covariate
            draw(NUMBERS) if draw(st.floats(0, 1)) < hostile_cells else draw(st.floats(-9, 9))
            for _ in range(len(frame))
        ]
    return frame


@_settings(150)
@given(
    frame=long_frames(),
    suffix=st.sampled_from([".csv", ".parquet"]),
    fill=st.sampled_from(FILL_POLICIES),
    freq=st.sampled_from([None, None, None, "D", "h", "bogus"]),
)
def test_long_format_with_hostile_cells_and_timestamps(
    frame: pd.DataFrame, suffix: str, fill: str, freq: str | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _load(_write(frame, suffix, Path(tmp)), fill=fill, freq=freq)  # type: ignore[arg-type]


@_settings(20)
@given(
    n_columns=st.sampled_from([1, 2, 7, 100, 1000]),
    n_rows=st.integers(0, 3),
    header=st.sampled_from(["plain", "unicode", "duplicate", "empty"]),
    suffix=st.sampled_from([".csv", ".parquet"]),
)
def test_very_wide_headers_and_zero_or_one_row(
    n_columns: int, n_rows: int, header: str, suffix: str
) -> None:
    names = {
        "plain": [f"series_{i}" for i in range(n_columns)],
        "unicode": [f"серия_{i}_\u200b" for i in range(n_columns)],
        "duplicate": ["x"] * n_columns,
        "empty": [""] * n_columns,
    }[header]
    dates = pd.date_range("2020-01-01", periods=n_rows, freq="D").astype(str)
    values = np.arange(n_rows * n_columns, dtype=float).reshape(n_rows, n_columns)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        if suffix == ".csv":
            lines = [",".join(["date", *names])]
            lines += [",".join([d, *map(str, row)]) for d, row in zip(dates, values, strict=True)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            columns = [
                f"c{i}" if header in ("duplicate", "empty") else n for i, n in enumerate(names)
            ]
            pd.DataFrame(values, columns=columns).assign(date=dates).to_parquet(path)
        _load(path)


def test_trailing_commas_do_not_shift_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"  # spreadsheet exports often end every line with a comma
    path.write_text("unique_id,ds,y\ns1,2020-01-01,1,\ns1,2020-01-02,2,\ns1,2020-01-03,4,\n")
    data = load_user_data(path, fill="error")
    assert data.series_ids == ("s1",) and data.values.tolist() == [[1.0, 2.0, 4.0]]


def test_a_trailing_comma_in_the_header_too_drops_the_empty_column(tmp_path: Path) -> None:
    path = tmp_path / "excel_header.csv"  # the header ends with a comma as well
    path.write_text("ds,a,b,\n2020-01-01,1,5,\n2020-01-02,2,6,\n2020-01-03,4,7,\n")
    data = load_user_data(path)
    assert data.series_ids == ("a", "b") and data.values.tolist() == [[1, 2, 4], [5, 6, 7]]
    assert any("without a header" in note for note in data.notes)
    path.write_text("ds,a,\n2020-01-01,1,9\n2020-01-02,2,9\n2020-01-03,3,9\n")  # values there
    assert "Unnamed: 2" in load_user_data(path).series_ids  # kept: not ours to guess away


def test_a_line_longer_than_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long_line.csv"  # found by hypothesis: it used to raise a TypeError
    path.write_text("unique_id,ds,y\ns1,2020-01-01,1,7\ns1,2020-01-02,2,7\n")
    try:
        load_user_data(path)
    except DataError as exc:
        assert "long_line.csv" in exc.problem
    else:
        raise AssertionError("a line with an extra field was accepted")


# ---------------------------------------------------------------------------------------------
# Whole tables in any dialect

NAMES = st.sampled_from(
    (
        *("unique_id", "ds", "y", "id", "date", "value", "amount", "series", "row", "index"),
        *("time", "Unnamed: 0", "", " ", "Datum", "ünïcödé", "a;b", "x,y", '"q"', "temp"),
    )
)
IDS = st.one_of(
    st.sampled_from(["01", "1", "1.0", "NA", "null", "None", "nan", "", " ", "<script>", "é", "a"]),
    st.text(max_size=6),
)
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "NA", "null", "nan", "-inf", "9" * 400, "1,5", "1e-400", "abc", "True"]),
)
STAMPS = st.one_of(
    st.sampled_from(
        (
            *("2021-03-28T02:30:00+01:00", "2021-03-28 03:30:00+02:00", "2021-01-01Z"),
            *("1659-01-01", "2262-04-12", "1677-09-21", "0001-01-01", "9999-12-31"),
            *("12/31/2021", "31/12/2021", "2021-13-01", "2021-02-30", "", "NaT", "now", "1e9"),
            "2021-01-01 25:00",
        )
    ),
    st.datetimes(
        min_value=pd.Timestamp("1600-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2400-01-01").to_pydatetime(),
    ).map(lambda t: t.isoformat(sep=" ")),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header and rows: mostly a real table (regular dates in any form), cells made hostile."""
    columns = draw(st.lists(NAMES, max_size=4))
    if draw(st.integers(0, 3)) or not columns:  # mostly a recognisable table, names added
        shapes = [["unique_id", "ds", "y"], ["date", "value"], ["id", "date", "amount"]]
        columns = draw(st.sampled_from(shapes)) + columns[: draw(st.integers(0, 1))]
    freq = draw(st.sampled_from(["D", "h", "MS", "ME", "W-SUN", "QS-OCT", "B", "15min", "YS"]))
    start = draw(st.sampled_from(["2021-03-01", "1659-01-01", "2262-03-01", "2021-10-30"]))
    stamps = pd.date_range(start, periods=draw(st.sampled_from([1, 3, 12, 30, 60])), freq=freq)
    zone = draw(st.sampled_from([None, None, "Europe/Berlin", "UTC", "Asia/Kathmandu"]))
    if zone is not None and stamps[-1].year < 2262:
        stamps = stamps.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    style = draw(st.sampled_from(["iso", "iso", "iso", "date", "us", "eu"]))
    shown = [
        ""
        if pd.isna(t)
        else {
            "iso": t.isoformat(),
            "date": str(t.date()),
            "us": t.strftime("%m/%d/%Y"),
            "eu": t.strftime("%d.%m.%Y"),
        }[style]
        for t in stamps
    ]
    ids = draw(st.lists(st.sampled_from(["a", "b", "01", "1", "NA"]) | IDS, min_size=1, max_size=3))
    hostile = draw(st.sampled_from([0.0, 0.0, 0.0, 0.02, 0.3]))
    rows = []
    for sid in ids:
        for stamp in shown:
            row = []
            for column in columns:
                if draw(st.floats(0, 1)) < hostile:
                    row.append(draw(st.one_of(CELLS, STAMPS, IDS)))
                elif column in ("unique_id", "id", "series"):
                    row.append(sid)
                elif column in ("ds", "date", "time", "Datum"):
                    row.append(stamp)
                else:
                    row.append(repr(draw(st.floats(-1e6, 1e6))))
            rows.append(row)
    return columns, rows


def _csv_bytes(columns: list[str], rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


@_settings(250)
@given(
    table=tables(),
    delimiter=st.sampled_from([",", ",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]),
    declared=st.sampled_from(["utf-8", "utf-8", "latin-1", "no-such-codec"]),
    options=st.fixed_dictionaries(
        {},
        optional={
            "format": st.sampled_from(["long", "wide"]),
            "freq": st.sampled_from(["D", "h", "MS", "W", "bogus", "0D", "-1h"]),
            "fill": st.sampled_from(FILL_POLICIES),
            "id_column": NAMES,
            "time_column": NAMES,
            "target_column": NAMES,
            "surface": st.sampled_from(["python", "cli"]),
        },
    ),
    suffix=st.sampled_from([".csv", ".csv", ".tsv", ".txt"]),
)
def test_any_table_in_any_dialect(
    table: tuple[list[str], list[list[str]]],
    delimiter: str,
    encoding: str,
    declared: str,
    options: dict[str, Any],
    suffix: str,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        path.write_bytes(_csv_bytes(*table, delimiter, encoding))
        _load(path, encoding=declared, **options)


@st.composite
def parquet_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Typed columns as pandas writes them to Parquet: k series x m timestamps of rows."""
    m, k = draw(st.sampled_from([1, 3, 12, 40])), draw(st.integers(1, 3))
    freq = draw(st.sampled_from(["D", "h", "MS", "W-SUN"]))
    zone = draw(st.sampled_from([None, None, "Europe/Berlin", "America/New_York", "UTC"]))
    stamps = pd.date_range("2021-03-01", periods=m, freq=freq, tz=zone).repeat(k)
    n = m * k
    series = draw(st.lists(IDS, min_size=k, max_size=k))
    kinds = {
        "stamps": lambda: stamps,
        "dates": lambda: [t.date() for t in stamps],
        "strings": lambda: [t.isoformat() for t in stamps],
        "ints": lambda: list(range(n)),
        "floats": lambda: [draw(st.floats(-1e9, 1e9) | st.floats()) for _ in range(n)],
        "bools": lambda: [draw(st.booleans()) for _ in range(n)],
        "ids": lambda: series * m,
        "nullable": lambda: pd.array([draw(st.none() | st.integers(-5, 5)) for _ in range(n)]),
        "decimal": lambda: [decimal.Decimal(draw(st.integers(-99, 99))) / 10] * n,
        "mixed": lambda: [
            draw(st.one_of(st.integers(-9, 9), st.text(max_size=3))) for _ in range(n)
        ],
        "big": lambda: [2**62 + i for i in range(n)],
    }
    names = draw(st.lists(NAMES.filter(lambda c: c.strip()), min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 3)):  # mostly long or wide, a hostile column beside
        shape = draw(st.sampled_from([["unique_id", "ds", "y"], ["ds", "y"], ["date", "a", "b"]]))
        names = list(dict.fromkeys([*shape, *names[: draw(st.integers(0, 1))]]))
    columns = {}
    for name in names:
        kind = {"ds": "stamps", "date": "stamps", "unique_id": "ids"}.get(name, "floats")
        if draw(st.integers(0, 3)) == 0:
            kind = draw(st.sampled_from(sorted(kinds)))
        columns[name] = kinds[kind]()
    return pd.DataFrame(columns)


@_settings(150)
@given(frame=parquet_frames(), fill=st.sampled_from(FILL_POLICIES))
def test_any_typed_parquet(frame: pd.DataFrame, fill: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.parquet"
        try:
            frame.to_parquet(path)
        except (ValueError, TypeError, OverflowError, ImportError) as exc:  # pyarrow refuses
            event(f"unwritable: {type(exc).__name__}")
            return
        _load(path, fill=fill)  # type: ignore[arg-type]


@_settings(100)
@given(
    table=tables(),
    horizon=st.integers(1, 12),
    context=st.none() | st.integers(1, 40),
    windows=st.none() | st.integers(1, 30),
)
def test_the_backtest_of_any_table(
    table: tuple[list[str], list[list[str]]],
    horizon: int,
    context: int | None,
    windows: int | None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_bytes(_csv_bytes(*table, ",", "utf-8"))
        try:
            options = prepare_user_data(path, horizon, context=context, windows=windows)
        except (DataError, ConfigError) as exc:
            assert exc.problem and "\n" not in str(exc)
            event("refused")
            return
        problem = user_problem(options)
        past, future = problem.test_windows()
        assert future.shape[1:] == (horizon, problem.num_series)
        assert np.isfinite(past).all() and np.isfinite(future).all()
        assert problem.train_end >= problem.context + horizon
        assert problem.test_ends[-1] == len(problem.values)
        event("backtest planned")
