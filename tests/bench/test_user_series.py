"""generate-user and denoise-user: the user's series as windows (`compare --data --uses`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from diffrnn.bench.user_series import (
    MAX_CHANNELS,
    WINDOW,
    parse_uses,
    prepare_series,
    user_windows,
)
from diffrnn.errors import ConfigError, DataError


def _wide(path: Path, rows: int = 600, series: int = 3) -> Path:
    stamps = pd.date_range("2024-01-01", periods=rows, freq="h")
    # series k is 10 k + t at row t: every window's scaled values are known in advance
    frame = pd.DataFrame({"date": stamps.strftime("%Y-%m-%d %H:%M:%S")})
    for k in range(series):
        frame[f"s{k}"] = 10.0 * k + np.arange(rows)
    frame.to_csv(path, index=False)
    return path


def test_windows_split_in_time_and_scale_over_every_row(tmp_path: Path) -> None:
    options = prepare_series(_wide(tmp_path / "w.csv"), ("generate", "denoise"))
    assert options["tasks"] == ["generate-user", "denoise-user"]
    w = user_windows(options)
    # 600 rows: 360 train, 120 validation, 120 test; windows of 24 steps x 3 series
    assert w.train.shape == (360 - WINDOW + 1, WINDOW, 3) and w.train.dtype == np.float32
    assert (w.val.shape, w.test.shape) == ((5, WINDOW, 3), (5, WINDOW, 3))
    assert w.held_out.shape == (240 - WINDOW + 1, WINDOW, 3)
    scaled = lambda row: row / (599 + 1e-7)  # noqa: E731  min-max of rows 0..599
    assert w.train[0, :, 1] == pytest.approx(scaled(np.arange(24)), abs=1e-6)
    assert w.test[-1, -1, 0] == pytest.approx(1.0)  # the last row is the maximum
    assert w.val[1, 0, 2] == pytest.approx(scaled(360 + 24), abs=1e-6)  # non-overlapping
    assert w.test[0, 0, 0] == pytest.approx(scaled(480), abs=1e-6)
    assert w.held_out[0, 0, 0] == pytest.approx(scaled(360), abs=1e-6)
    summary = options["summary"]
    assert summary["uses"] == "generate (generate-user), denoise (denoise-user)"
    assert "the first 360 rows (60%)" in summary["windows"]
    assert "5 and 5 non-overlapping" in summary["windows"]
    assert "backtest" not in summary  # no forecast asked for


def test_noisy_windows_are_fixed_per_seed_with_range_one(tmp_path: Path) -> None:
    data = user_windows(prepare_series(_wide(tmp_path / "w.csv"), ("denoise",))).noisy_data()
    clean, noisy = data.noisy("test", 0.3, 0)
    assert clean.shape == (5, WINDOW, 3) and data.data_range == 1.0
    assert torch.equal(noisy, data.noisy("test", 0.3, 0)[1])  # every denoiser sees the same
    assert not torch.equal(noisy, data.noisy("test", 0.3, 1)[1])
    assert (noisy - clean).std().item() == pytest.approx(0.3, rel=0.15)
    assert data.train().shape == (337, WINDOW, 3)
    assert data.clamp(torch.tensor([-0.5, 1.5])).tolist() == [0.0, 1.0]


def test_forecast_keeps_the_backtest_and_adds_the_windows(tmp_path: Path) -> None:
    options = prepare_series(_wide(tmp_path / "w.csv"), ("forecast", "denoise"), horizon=24)
    assert options["tasks"] == ["forecast-user", "denoise-user"] and options["horizon"] == 24
    assert "backtest" in options["summary"] and "windows" in options["summary"]


def test_uses_and_their_flags_are_checked(tmp_path: Path) -> None:
    assert parse_uses(None) == ("forecast",)
    assert parse_uses("denoise, generate") == ("denoise", "generate")
    with pytest.raises(ConfigError, match="unknown use 'plot'"):
        parse_uses("forecast,plot")
    with pytest.raises(ConfigError, match="must name each use once"):
        parse_uses("generate,generate")
    path = _wide(tmp_path / "w.csv")
    with pytest.raises(ConfigError, match="needs a forecast horizon"):
        prepare_series(path, ("forecast",))
    with pytest.raises(ConfigError, match="--horizon is for the forecast use"):
        prepare_series(path, ("generate",), horizon=4)


def test_too_few_rows_or_too_many_series_name_the_limit(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"at least 478 rows .* your file has 400"):
        prepare_series(_wide(tmp_path / "short.csv", rows=400), ("denoise",))
    wide = _wide(tmp_path / "wide.csv", rows=500, series=MAX_CHANNELS + 1)
    with pytest.raises(DataError, match=f"{MAX_CHANNELS + 1} series \\(at most {MAX_CHANNELS}\\)"):
        prepare_series(wide, ("generate",))


def test_long_histories_take_every_kth_window_within_the_memory_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import diffrnn.bench.user_series as user_series

    options = prepare_series(_wide(tmp_path / "w.csv"), ("generate",))
    monkeypatch.setattr(user_series, "MAX_WINDOW_VALUES", 337 * WINDOW * 3 // 4 - 1)
    w = user_windows(options)
    assert len(w.train) == len(range(0, 337, 5)) and w.train_rows == 360  # stride 5
    assert w.train[1, 0, 0] == pytest.approx(5 / (599 + 1e-7), abs=1e-6)
