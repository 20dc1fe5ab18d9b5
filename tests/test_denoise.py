"""Denoising users' series: the noise-level estimate, the Noisier2Noise bi-GRU, the output frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn.data.user import load_user_data
from diffrnn.denoise import as_frame, denoise_series, noise_sd_from_differences
from diffrnn.errors import ConfigError, DataError


def test_noise_sd_from_differences_recovers_white_noise_on_a_slow_signal() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(20_000)
    y = np.sin(2 * np.pi * t / 5000) + 0.7 * rng.standard_normal(len(t))
    assert noise_sd_from_differences(y) == pytest.approx(0.7, rel=0.03)
    assert noise_sd_from_differences(np.full(50, 3.0)) == 0.0


def _noisy_csv(path: Path, rows: int = 400, sd: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(rows)
    clean = np.stack([3 * np.sin(2 * np.pi * t / 48), 2 * np.cos(2 * np.pi * t / 24)])
    noisy = clean + sd * rng.standard_normal(clean.shape)
    stamps = pd.date_range("2024-01-01", periods=rows, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    pd.DataFrame({"ds": stamps, "a": noisy[0], "b": noisy[1]}).to_csv(path, index=False)
    return clean


def test_the_bigru_removes_noise_it_never_saw_clean(tmp_path: Path) -> None:
    clean = _noisy_csv(tmp_path / "noisy.csv")
    data = load_user_data(tmp_path / "noisy.csv")
    result = denoise_series(data, sigma=0.5, max_steps=150, draws=8)
    np.testing.assert_array_equal(result.sigmas, [0.5, 0.5])
    noisy_mse = ((data.values - clean) ** 2).mean()
    assert ((result.values - clean) ** 2).mean() < 0.6 * noisy_mse
    again = denoise_series(data, sigma=0.5, max_steps=150, draws=8)
    np.testing.assert_array_equal(again.values, result.values)  # seeded: repeatable


def test_the_output_frame_keeps_the_input_format(tmp_path: Path) -> None:
    _noisy_csv(tmp_path / "noisy.csv", rows=20)
    wide = load_user_data(tmp_path / "noisy.csv")
    frame = as_frame(wide, wide.values * 2)
    assert list(frame.columns) == ["ds", "a", "b"] and len(frame) == 20
    np.testing.assert_array_equal(frame["b"], wide.values[1] * 2)
    long_frame = frame.melt(id_vars="ds", var_name="unique_id", value_name="y")
    long_frame.to_csv(tmp_path / "long.csv", index=False)
    long = load_user_data(tmp_path / "long.csv")
    back = as_frame(long, long.values)
    assert list(back.columns) == ["unique_id", "ds", "y"] and len(back) == 40


def test_bad_levels_and_short_series_are_named(tmp_path: Path) -> None:
    _noisy_csv(tmp_path / "short.csv", rows=10)
    data = load_user_data(tmp_path / "short.csv")
    with pytest.raises(DataError, match="denoising needs at least 16"):
        denoise_series(data, sigma=0.5, max_steps=1)
    with pytest.raises(ConfigError, match="sigma must be 'auto' or a positive number"):
        denoise_series(data, sigma=-1.0, max_steps=1)
