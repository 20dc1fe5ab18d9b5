"""Reading users' files: ids, dates, time zones, delimiters, encodings and sizes, one case each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import diffrnn.data.user_files as user_files
from diffrnn.data.user import load_user_data
from diffrnn.data.windows import time_features
from diffrnn.errors import DataError


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(series: str, days: int, start: str = "2024-01-01") -> str:
    stamps = pd.date_range(start, periods=days, freq="D").strftime("%Y-%m-%d")
    return "".join(f"{series},{d},{k}\n" for k, d in enumerate(stamps))


def test_ids_are_strings_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path, "unique_id,ds,y\n" + _rows("01", 5) + _rows("1", 5) + _rows("1.0", 5))
    data = load_user_data(path)
    assert data.series_ids == ("01", "1", "1.0")  # three series, not one
    path = _write(tmp_path, "unique_id,ds,y\n" + _rows("NA", 5) + _rows("null", 5))
    assert load_user_data(path).series_ids == ("NA", "null")


def test_an_empty_id_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "unique_id,ds,y\n" + _rows("a", 3) + _rows("", 2))
    with pytest.raises(DataError, match=r"Empty series id in column 'unique_id' at line 5"):
        load_user_data(path)
    frame = pd.DataFrame({"unique_id": ["a", None, "a"], "ds": ["2024-01-01"] * 3, "y": 1.0})
    frame.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"Empty series id .* at row 2"):
        load_user_data(tmp_path / "d.parquet")


@pytest.mark.parametrize("year", [1659, 2261, 2400, 100])
def test_dates_outside_the_nanosecond_range_keep_their_year(tmp_path: Path, year: int) -> None:
    stamps = [f"{year + k // 12:04d}-{k % 12 + 1:02d}-01" for k in range(30)]  # 2261: crosses 2262
    path = _write(tmp_path, "ds,y\n" + "".join(f"{d},{k}\n" for k, d in enumerate(stamps)))
    data = load_user_data(path)
    assert data.freq == "MS"
    assert str(data.timestamps[0])[:10] == stamps[0] and str(data.timestamps[-1])[:10] == stamps[-1]
    assert (np.diff(data.timestamps.astype(np.int64)) > 0).all()


def test_time_zone_aware_parquet_keeps_local_calendar(tmp_path: Path) -> None:
    # midnight in Auckland is 11:00 UTC the day before: read as UTC, every weekday is off by one
    stamps = pd.date_range("2024-01-01", periods=60, freq="D", tz="Pacific/Auckland")
    pd.DataFrame({"ds": stamps, "y": np.arange(60.0)}).to_parquet(tmp_path / "nz.parquet")
    data = load_user_data(tmp_path / "nz.parquet")
    assert pd.Timestamp(data.timestamps[0]) == pd.Timestamp("2024-01-01")  # a Monday, local
    local = pd.DatetimeIndex(data.timestamps)
    assert time_features(local, "D")[0, 0] == -0.5  # day of week: Monday, not Sunday (UTC)
    assert data.timezone == "Pacific/Auckland"
    assert any("Pacific/Auckland" in note and "local" in note for note in data.notes)


def test_daylight_saving_offsets_keep_local_days(tmp_path: Path) -> None:
    # what pandas writes for a tz-aware column to CSV: the offset changes at each DST switch
    stamps = pd.date_range("2024-03-01", periods=60, freq="D", tz="Europe/Berlin")
    text = "ds,y\n" + "".join(f"{t.isoformat()},{k}\n" for k, t in enumerate(stamps))
    data = load_user_data(_write(tmp_path, text))
    assert data.freq == "D" and pd.Timestamp(data.timestamps[-1]) == pd.Timestamp("2024-04-29")
    assert data.timezone == "+01:00, +02:00"


def test_hourly_data_across_a_dst_change_is_refused_with_a_fix(tmp_path: Path) -> None:
    stamps = pd.date_range("2024-03-30", periods=48, freq="h", tz="Europe/Berlin")
    pd.DataFrame({"ds": stamps, "y": np.arange(48.0)}).to_parquet(tmp_path / "h.parquet")
    with pytest.raises(DataError) as error:
        load_user_data(tmp_path / "h.parquet", freq="h")
    assert "1 missing 'h' steps, the first at 2024-03-31 02:00:00" in str(error.value)
    assert "daylight-saving" in error.value.fix and "UTC" in error.value.fix


def test_mixed_time_zones_give_local_times(tmp_path: Path) -> None:
    days = [f"2024-01-{d:02d}T00:00:00{'+01:00' if d % 2 else '-05:00'}" for d in range(1, 11)]
    data = load_user_data(_write(tmp_path, "ds,y\n" + "".join(f"{d},1\n" for d in days)))
    assert data.freq == "D" and pd.Timestamp(data.timestamps[0]) == pd.Timestamp("2024-01-01")


def test_a_400_digit_integer_is_a_clear_error(tmp_path: Path) -> None:
    text = "ds,y\n" + "".join(
        f"2024-01-{d:02d},{'9' * 400 if d == 3 else d}\n" for d in range(1, 9)
    )
    with pytest.raises(
        DataError, match=r"infinite \(or beyond float64\) in series 'y' at 2024-01-03"
    ):
        load_user_data(_write(tmp_path, text))
    frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=3), "y": ["1", "9" * 400, "3"]})
    frame.to_parquet(tmp_path / "big.parquet")  # numbers stored as text
    with pytest.raises(DataError, match="infinite"):
        load_user_data(tmp_path / "big.parquet")


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_the_delimiter_is_sniffed_from_the_header(
    tmp_path: Path, separator: str, name: str
) -> None:
    text = ("unique_id,ds,y\n" + _rows("a", 5)).replace(",", separator)
    data = load_user_data(_write(tmp_path, text))
    assert data.series_ids == ("a",) and data.values.tolist() == [[0, 1, 2, 3, 4]]
    assert f"read as {name}-separated" in " ".join(data.notes)


def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(("unique_id,ds,y\n" + _rows("é", 4)).encode("utf-16"))
    assert load_user_data(path).series_ids == ("é",)


def test_parquet_row_count_is_checked_from_metadata_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=1001), "y": 0.0})
    frame.to_parquet(tmp_path / "many.parquet")
    monkeypatch.setattr(user_files, "MAX_ROWS", 1000)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was read before its size was checked")

    monkeypatch.setattr(pd, "read_parquet", never)
    with pytest.raises(
        DataError, match=r"holds 1,001 rows of 2 column\(s\) .* the limit is 1,000 rows"
    ):
        load_user_data(tmp_path / "many.parquet")


def test_a_time_grid_too_large_for_memory_is_refused(tmp_path: Path) -> None:
    # two rows, one in 1900 and one in 2100: every second between them would be 6e9 values
    text = "unique_id,ds,y\na,1900-01-01 00:00:00,1\na,2100-01-01 00:00:00,2\n"
    with pytest.raises(DataError, match=r"about 6,311,\d{3},\d{3} steps.*over the limit"):
        load_user_data(_write(tmp_path, text), freq="s")


def test_text_in_value_columns_names_column_and_line_and_na_tokens_are_missing(
    tmp_path: Path,
) -> None:
    text = "ds,a,b\n2024-01-01,1,NA\n2024-01-02,2,null\n2024-01-03,3,4\n2024-01-04,x,4\n"
    with pytest.raises(DataError, match=r"Non-numeric value 'x' in column 'a' at line 5"):
        load_user_data(_write(tmp_path, text))
    text = text.replace(",x,", ",4,")
    data = load_user_data(_write(tmp_path, text), fill="ffill")  # NA and null are missing values
    assert data.values[1].tolist() == [4.0, 4.0, 4.0, 4.0]


def test_non_iso_dates_before_year_one_are_noted_not_a_traceback() -> None:
    """pandas reads years before 1 that `datetime.date` cannot hold (found by Hypothesis)."""
    text = pd.Series(["0000/01/01", "0000/01/02"])
    reading = user_files.Reading("data.csv", is_csv=True, surface="cli")
    parsed = user_files._parse_text_dates(text, pd.Series([pd.NaT, pd.NaT]), "date", reading)
    assert parsed.notna().all()
    assert reading.notes and "0000-01-01" in reading.notes[-1]
