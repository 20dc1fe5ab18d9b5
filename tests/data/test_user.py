"""Users' own data: designed files in long and wide format, and one test per bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn.data.user import check_length, load_user_data
from diffrnn.errors import DataError


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _long_csv(rows: list[tuple[str, str, str]], extra: str = "") -> str:
    header = "unique_id,ds,y" + extra
    return "\n".join([header, *(",".join(r) for r in rows)]) + "\n"


def _daily(series: str, n: int, start: str = "2024-01-01", offset: float = 0.0) -> list:
    days = pd.date_range(start, periods=n, freq="D").strftime("%Y-%m-%d")
    return [(series, d, str(offset + k)) for k, d in enumerate(days)]


def test_long_format_with_covariate_infers_format_and_freq(tmp_path: Path) -> None:
    rows = [(*r, str(10 * float(r[2]))) for r in _daily("a", 5) + _daily("b", 5, offset=100)]
    path = _write(tmp_path, _long_csv(rows, extra=",price"))
    data = load_user_data(path)
    assert data.series_ids == ("a", "b") and data.format == "long" and data.freq == "D"
    assert data.format_inferred and data.freq_inferred
    np.testing.assert_array_equal(data.values, [np.arange(5.0), 100 + np.arange(5.0)])
    np.testing.assert_array_equal(data.covariates["price"], 10 * data.values)
    assert data.timestamps[0] == np.datetime64("2024-01-01")
    assert any("format inferred as 'long'" in n for n in data.notes)
    assert any("frequency inferred as 'D'" in n for n in data.notes)


def test_wide_format_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"Date": pd.date_range("2024-01-01", periods=6, freq="h"), "x": range(6), "w": 1.5}
    )
    frame.to_parquet(tmp_path / "wide.parquet")
    data = load_user_data(tmp_path / "wide.parquet")
    assert data.format == "wide" and data.freq == "h" and data.series_ids == ("x", "w")
    np.testing.assert_array_equal(data.values, [np.arange(6.0), np.full(6, 1.5)])
    csv = load_user_data(_write(tmp_path, frame.to_csv(index=False)), format="wide", freq="h")
    np.testing.assert_array_equal(csv.values, data.values)
    assert not csv.format_inferred and not csv.freq_inferred


def test_business_day_frequency_is_inferred(tmp_path: Path) -> None:
    days = pd.bdate_range("2024-01-01", periods=10).strftime("%Y-%m-%d")
    data = load_user_data(_write(tmp_path, "date,v\n" + "".join(f"{d},1\n" for d in days)))
    assert data.freq == "B" and data.values.shape == (1, 10)


def test_series_with_different_spans_are_nan_outside(tmp_path: Path) -> None:
    path = _write(tmp_path, _long_csv(_daily("a", 6) + _daily("b", 3, start="2024-01-03")))
    data = load_user_data(path)
    assert data.spans.tolist() == [[0, 6], [2, 5]] and data.lengths.tolist() == [6, 3]
    assert np.isnan(data.values[1, [0, 1, 5]]).all() and data.values[1, 2] == 0.0


def test_unsorted_rows_are_sorted_with_a_note(tmp_path: Path) -> None:
    rows = _daily("a", 5)
    path = _write(tmp_path, _long_csv([rows[3], rows[0], rows[4], rows[1], rows[2]]))
    data = load_user_data(path)
    np.testing.assert_array_equal(data.values[0], np.arange(5.0))
    assert any("not in time order" in n for n in data.notes)


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        load_user_data(path, **kwargs)
    return str(err.value)


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in _error(_write(tmp_path, ""))
    assert "no data rows" in _error(_write(tmp_path, "unique_id,ds,y\n"))


def test_misnamed_column_suggests_closest(tmp_path: Path) -> None:
    rows = "\n".join(f"a,2024-01-0{d},{d}" for d in range(1, 6))
    message = _error(_write(tmp_path, "unique_id,dss,y\n" + rows))
    assert "Missing time column 'ds'" in message and "Did you mean 'dss'?" in message
    message = _error(_write(tmp_path, "unique_id,ds,Y\n" + rows))
    assert "'y'" in message and "Did you mean 'Y'?" in message


def test_missing_date_column_in_wide_format(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "day,a\n2024-01-01,1\n"), date_column="Day")
    assert "Missing date column 'Day'" in message and "Did you mean 'day'?" in message


def test_unparsable_date_names_line(tmp_path: Path) -> None:
    text = "date,a\n2024-01-01,1\n2024-01-02,2\nyesterday,3\n"
    message = _error(_write(tmp_path, text))
    assert "Unparsable date 'yesterday'" in message and "line 4" in message
    assert "ISO 8601" in message


def test_duplicate_timestamps(tmp_path: Path) -> None:
    rows = _daily("a", 4)
    message = _error(_write(tmp_path, _long_csv([*rows, rows[1]])))
    assert "Duplicate timestamp 2024-01-02" in message and "'a'" in message
    assert "line 3 and line 6" in message


def test_irregular_frequency(tmp_path: Path) -> None:
    rows = _daily("a", 6)
    del rows[2]
    message = _error(_write(tmp_path, _long_csv(rows)))
    assert "Cannot infer a regular frequency for series 'a'" in message and "freq=" in message
    message = _error(_write(tmp_path, _long_csv(rows)), freq="D")
    assert "1 missing 'D' steps, the first at 2024-01-03" in message


def test_ambiguous_frequency_between_series(tmp_path: Path) -> None:
    hourly = [("b", d, "1") for d in pd.date_range("2024-01-01", periods=4, freq="h").astype(str)]
    message = _error(_write(tmp_path, _long_csv(_daily("a", 4) + hourly)))
    assert "Ambiguous frequency" in message and "'D'" in message and "'h'" in message


def test_too_few_timestamps_to_infer(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, _long_csv(_daily("a", 2))))
    assert "only 2 timestamps" in message
    assert load_user_data(_write(tmp_path, _long_csv(_daily("a", 2))), freq="D").freq == "D"


def test_non_numeric_value_names_column_and_line(tmp_path: Path) -> None:
    rows = _daily("a", 5)
    rows[3] = ("a", rows[3][1], "12,5")  # a decimal comma splits the field: quote it
    text = _long_csv(rows).replace("12,5", '"12,5"')
    message = _error(_write(tmp_path, text))
    assert "Non-numeric value '12,5' in column 'y' at line 5" in message
    wide = "date,a,b\n2024-01-01,1,2\n2024-01-02,1,n/a?\n2024-01-03,1,2\n"
    assert "column 'b' at line 3" in _error(_write(tmp_path, wide))


def test_nan_and_inf_error_by_default_and_fill_policies(tmp_path: Path) -> None:
    text = "date,a\n2024-01-01,\n2024-01-02,2\n2024-01-03,\n2024-01-04,inf\n2024-01-05,8\n"
    path = _write(tmp_path, text)
    message = _error(path)
    assert "3 NaN or infinite values" in message and "2024-01-01" in message
    assert "fill=" in message
    expected = {
        "ffill": [2, 2, 2, 2, 8],
        "interpolate": [2, 2, 4, 6, 8],
        "zero": [0, 2, 0, 0, 8],
    }
    for policy, values in expected.items():
        data = load_user_data(path, fill=policy)
        np.testing.assert_array_equal(data.values[0], values)
        assert any("filled 3 NaN/infinite values" in n and policy in n for n in data.notes)


def test_series_shorter_than_context_plus_horizon(tmp_path: Path) -> None:
    path = _write(tmp_path, _long_csv(_daily("long", 20) + _daily("short", 8)))
    data = load_user_data(path)
    check_length(data, context_length=5, horizon=3)  # 8 steps are just enough
    with pytest.raises(DataError, match=r"'short' has 8 time steps .* needs 9"):
        check_length(data, context_length=6, horizon=3)
    message = _error(path, context_length=10, horizon=5)
    assert "'short' has 8 time steps" in message and "needs 15" in message


def test_unreadable_bytes_and_wrong_encoding(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,Zürich\n2024-01-01,1\n".encode("latin-1"))
    message = _error(latin)
    assert "is not utf-8 text" in message and "encoding=" in message
    assert load_user_data(latin, encoding="latin-1", freq="D").series_ids == ("Zürich",)
    garbage = tmp_path / "model.parquet"
    garbage.write_bytes(b"\x80\x03}q\x00.")  # a pickle, not Parquet
    assert "cannot be read as Parquet" in _error(garbage)
    assert "unsupported file type '.xlsx'" in _error(_write(tmp_path, "x", name="a.xlsx"))


def test_bad_choice_arguments() -> None:
    with pytest.raises(ValueError, match="fill must be one of"):
        load_user_data("x.csv", fill="mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format must be one of"):
        load_user_data("x.csv", format="tall")  # type: ignore[arg-type]


def test_non_iso_dates_are_parsed_with_a_note(tmp_path: Path) -> None:
    text = "Date,a\n03/01/2005,1\n10/01/2005,2\n17/01/2005,3\n"
    data = load_user_data(_write(tmp_path, text))
    assert data.freq.startswith("W") and data.timestamps[1] == np.datetime64("2005-01-10")
    assert any("not ISO 8601" in n for n in data.notes)


def test_ambiguous_day_month_order(tmp_path: Path) -> None:
    text = "Date,a\n01/02/2005,1\n01/03/2005,2\n01/04/2005,3\n"
    message = _error(_write(tmp_path, text))
    assert "Ambiguous dates in column 'Date': '01/02/2005' at line 2" in message
    assert "2005-01-02 (month first) or 2005-02-01 (day first)" in message


def test_date_value_never_collides_with_internal_column_names(tmp_path: Path) -> None:
    for header in ("date,value", "date,series", "date,row", "date,series_", "index,value"):
        text = header + "\n" + "".join(f"2024-01-0{d},{d}\n" for d in range(1, 8))
        data = load_user_data(_write(tmp_path, text))
        assert data.series_ids == (header.split(",")[1],) and data.values[0, -1] == 7.0


def test_a_date_and_a_target_without_ids_are_one_series(tmp_path: Path) -> None:
    text = "ds,y,temp\n" + "".join(f"2024-01-0{d},{d},{20 + d}\n" for d in range(1, 8))
    data = load_user_data(_write(tmp_path, text))
    assert data.format == "long" and data.series_ids == ("y",)
    assert data.covariates["temp"][0, 0] == 21.0


def test_a_text_column_of_repeated_labels_makes_the_file_long(tmp_path: Path) -> None:
    rows = [(i, d, k) for i in "ab" for k, d in enumerate(pd.date_range("2024-01-01", periods=6))]
    text = "id,date,amount\n" + "".join(f"{i},{d.date()},{k}\n" for i, d, k in rows)
    data = load_user_data(_write(tmp_path, text))
    assert data.format == "long" and data.series_ids == ("a", "b")
    assert any("'id' holds series ids" in note for note in data.notes)
    text = text.replace("id,date,amount", "id,date,amount,qty").replace("\n", ",1\n")
    text = text.replace("qty,1\n", "qty\n")
    message = _error(_write(tmp_path, text), surface="cli")
    assert "looks like long format" in message
    assert "--format long --id-col id --time-col date --target-col <column>" in message


def test_fixes_name_options_where_the_user_is(tmp_path: Path) -> None:
    rows = "\n".join(f"a,2024-01-0{d},{d}" for d in range(1, 6))
    path = _write(tmp_path, "unique_id,dss,y\n" + rows)
    assert "time_column='dss'" in _error(path)
    assert "--time-col dss" in _error(path, surface="cli")
    gaps = _write(tmp_path, "date,a\n2024-01-01,1\n2024-01-02,\n2024-01-03,3\n")
    assert "--fill ffill, interpolate or zero" in _error(gaps, surface="cli")
    assert "fill='ffill', 'interpolate' or 'zero'" in _error(gaps)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,Zürich\n2024-01-01,1\n".encode("latin-1"))
    assert "--encoding latin-1" in _error(latin, surface="cli")


def test_covariates_are_read_but_never_reject_a_file(tmp_path: Path) -> None:
    rows = _daily("a", 5)
    text = _long_csv([(*r, "") for r in rows], extra=",temp")  # an all-empty covariate
    data = load_user_data(_write(tmp_path, text))
    assert np.isnan(data.covariates["temp"]).all() and data.values.tolist() == [[0, 1, 2, 3, 4]]
    assert any("'temp' read but not used" in note for note in data.notes)


def test_a_wide_file_with_repeated_dates_points_at_long_format(tmp_path: Path) -> None:
    text = "id,date,amount\n" + "".join(
        f"{i},2024-01-0{d},{d}\n" for i in (1, 2) for d in (1, 2, 3)
    )
    message = _error(_write(tmp_path, text), surface="cli")
    assert "The date column 'date' repeats 2024-01-01 00:00:00 at line 2 and line 5" in message
    assert "--format long --id-col <id column> --time-col date" in message
