"""Synthetic windows of users' series: shapes, units, the held-out scores, bad requests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn.data.user import load_user_data
from diffrnn.errors import ConfigError, DataError
from diffrnn.generate import generate_windows, windows_frame


def _series(path: Path, rows: int, columns: tuple[str, ...] = ("a", "b")) -> Path:
    t = np.arange(rows)
    frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=rows, freq="h")})
    for k, name in enumerate(columns):
        frame[name] = 10 * k + np.sin(2 * np.pi * t / (12 + 6 * k))
    frame.to_csv(path, index=False)
    return path


def test_gru_windows_are_in_the_data_units_and_scored(tmp_path: Path) -> None:
    data = load_user_data(_series(tmp_path / "s.csv", 200))
    result = generate_windows(data, "gru", length=8, n=16, max_steps=3)
    assert result.windows.shape == (16, 8, 2) and result.series_ids == ("a", "b")
    train = data.values[:, :160]  # the first 80% of the rows train the generator
    low, high = train.min(axis=1), train.max(axis=1)
    assert (result.windows >= low - 1e-6).all() and (result.windows <= high + 1e-6).all()
    assert set(result.scores) == {"discriminative_score", "predictive_score"}
    assert 0.0 <= result.scores["discriminative_score"] <= 0.5
    assert result.held_out == 40 - 8 + 1
    frame = windows_frame(result)
    assert list(frame.columns) == ["sample", "step", "a", "b"] and len(frame) == 16 * 8
    np.testing.assert_array_equal(frame["b"].to_numpy().reshape(16, 8), result.windows[..., 1])


def test_one_series_has_no_predictive_score_and_short_data_is_named(tmp_path: Path) -> None:
    one = load_user_data(_series(tmp_path / "one.csv", 120, ("a",)))
    result = generate_windows(one, "diffusion-generator", length=6, n=4, max_steps=2)
    assert set(result.scores) == {"discriminative_score"}
    with pytest.raises(DataError, match="need at least 155 rows"):
        generate_windows(one, "gru", length=24, n=4, max_steps=1)
    with pytest.raises(ConfigError, match="model must be one of"):
        generate_windows(one, "timegan", length=6, n=4)  # type: ignore[arg-type]
