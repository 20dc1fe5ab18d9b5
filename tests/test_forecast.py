"""The Forecaster: shapes, timestamps that continue the series, exact save/load, auto's backtest."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn import Forecaster, load
from diffrnn.errors import CheckpointError, ConfigError, DataError

DAY = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0] * 2)  # 24 hours


def hourly_wide(rows: int = 96, noise: float = 0.0) -> pd.DataFrame:
    """Two series with an exact daily pattern (plus optional noise), hourly, wide."""
    rng = np.random.default_rng(0)
    hours = np.arange(rows)
    return pd.DataFrame(
        {
            "ds": pd.date_range("2025-01-06", periods=rows, freq="h"),
            "north": DAY[hours % 24] + noise * rng.standard_normal(rows),
            "south": 10 + 2 * DAY[hours % 24] + noise * rng.standard_normal(rows),
        }
    )


def test_seasonal_naive_continues_the_day_at_the_next_hours() -> None:
    frame = hourly_wide()
    forecasts = Forecaster("seasonal-naive", horizon=30).fit(frame).predict()
    assert list(forecasts.columns) == ["unique_id", "ds", "mean", "q0.1", "q0.5", "q0.9"]
    assert forecasts["unique_id"].tolist() == ["north"] * 30 + ["south"] * 30
    expected_ds = pd.date_range(frame["ds"].iloc[-1], periods=31, freq="h")[1:]
    for sid in ("north", "south"):
        rows = forecasts[forecasts.unique_id == sid]
        assert (rows["ds"].to_numpy() == expected_ds.to_numpy()).all()
    hours = np.arange(96, 126) % 24
    np.testing.assert_array_equal(forecasts["mean"][:30], DAY[hours])  # a point forecast:
    np.testing.assert_array_equal(forecasts["q0.9"][30:], 10 + 2 * DAY[hours])  # q = mean


def test_long_format_and_a_path_give_the_same_fit(tmp_path: Path) -> None:
    wide = hourly_wide()
    long = wide.melt(id_vars="ds", var_name="unique_id", value_name="y")
    wide.to_csv(tmp_path / "wide.csv", index=False)
    a = Forecaster("linear-ar", horizon=5).fit(long).predict()
    b = Forecaster("linear-ar", horizon=5).fit(tmp_path / "wide.csv").predict()
    pd.testing.assert_frame_equal(a, b)


def test_sample_paths_shape_and_quantiles_are_ordered() -> None:
    fc = Forecaster("random-walk", horizon=7).fit(hourly_wide(noise=0.3))
    paths = fc.sample_paths(num_samples=50)
    assert paths.shape == (50, 2, 7)
    forecasts = fc.predict(num_samples=50, quantiles=(0.05, 0.5, 0.95))
    assert (forecasts["q0.05"] <= forecasts["q0.5"]).all()
    assert (forecasts["q0.5"] <= forecasts["q0.95"]).all()
    np.testing.assert_allclose(forecasts["mean"], paths.mean(axis=0).reshape(-1))
    assert not np.array_equal(fc.sample_paths(num_samples=50, seed=1), paths)


@pytest.mark.parametrize("model", ["linear-ar", "deepar-gru"])
def test_a_reloaded_forecaster_forecasts_exactly_the_same(tmp_path: Path, model: str) -> None:
    frame = hourly_wide(noise=0.2)
    fc = Forecaster(model, horizon=6, max_steps=2).fit(frame)
    before = fc.predict(num_samples=8)
    fc.save(tmp_path / "saved")
    assert not any(p.suffix in (".pt", ".pkl", ".ckpt") for p in (tmp_path / "saved").rglob("*"))
    again = load(tmp_path / "saved")
    assert isinstance(again, Forecaster) and again.model_ == model
    pd.testing.assert_frame_equal(again.predict(num_samples=8), before)
    newer = hourly_wide(120, noise=0.2)  # forecasting from newer data: the same on both
    pd.testing.assert_frame_equal(
        again.predict(newer, num_samples=8), fc.predict(newer, num_samples=8)
    )
    assert again.predict(newer)["ds"].iloc[0] == pd.Timestamp("2025-01-11 00:00")


def test_a_tampered_history_is_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    Forecaster("last-value", horizon=3).fit(hourly_wide()).save(tmp_path / "saved")
    save_file({"history": np.zeros((2, 5))}, str(tmp_path / "saved" / "model.safetensors"))
    with pytest.raises(CheckpointError, match="history"):
        load(tmp_path / "saved")


def test_auto_backtests_the_candidates_and_keeps_the_best(tmp_path: Path) -> None:
    fc = Forecaster("auto", horizon=12, candidates=["last-value", "seasonal-naive"])
    fc.fit(hourly_wide(240))
    table = fc.backtest_
    assert table["model"].tolist() == ["last-value", "seasonal-naive"]
    assert table.set_index("model").loc["seasonal-naive", "crps"] == 0.0  # the exact day
    assert table.set_index("model").loc["last-value", "crps"] > 0.1
    assert fc.model_ == "seasonal-naive"
    fc.save(tmp_path / "auto")
    pd.testing.assert_frame_equal(load(tmp_path / "auto").backtest_, table, check_dtype=False)


def test_auto_backtests_segrnn_as_a_point_forecast() -> None:
    fc = Forecaster("auto", horizon=12, candidates=["last-value", "segrnn"], max_steps=2)
    fc.fit(hourly_wide(240, noise=0.2))
    table = fc.backtest_.set_index("model")
    assert list(table.index) == ["last-value", "segrnn"]
    assert table.loc["segrnn", "steps"] == 2 and np.isfinite(table.loc["segrnn", "crps"])
    assert fc.model_ == table["crps"].astype(float).idxmin()


def test_the_old_name_gru_means_deepar_gru_with_a_note(tmp_path: Path) -> None:
    import json

    fc = Forecaster("gru", horizon=6, max_steps=2).fit(hourly_wide(noise=0.2))
    assert fc.model == fc.model_ == "deepar-gru"
    assert "model 'gru' is now 'deepar-gru'" in fc.notes_[0]
    fc.save(tmp_path / "saved")
    config_file = tmp_path / "saved" / "config.json"
    meta = json.loads(config_file.read_text())  # as a forecaster saved before the rename
    meta["config"].update(model="gru", requested="gru")
    config_file.write_text(json.dumps(meta))
    again = load(tmp_path / "saved")
    assert again.model_ == "deepar-gru"
    pd.testing.assert_frame_equal(again.predict(num_samples=8), fc.predict(num_samples=8))
    assert Forecaster("auto", candidates=["gru"]).candidates == ("deepar-gru",)


def test_forecasting_other_series_than_fitted_is_refused() -> None:
    fc = Forecaster("last-value", horizon=3).fit(hourly_wide())
    with pytest.raises(DataError, match="series differ"):
        fc.predict(hourly_wide().rename(columns={"south": "west"}))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": "prophet"}, ConfigError, "unknown model 'prophet'"),
        ({"horizon": 0}, ConfigError, "horizon must be a whole number >= 1"),
        ({"budget": -1.0}, ConfigError, "budget must be positive"),
        ({"candidates": ["arima"]}, ConfigError, "unknown candidate"),
    ],
)
def test_bad_settings_are_named(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Forecaster(**kwargs)


def test_short_and_ragged_data_are_named() -> None:
    with pytest.raises(DataError, match="needs at least 50 rows"):
        Forecaster("linear-ar", horizon=16).fit(hourly_wide(40))
    ragged = hourly_wide()
    ragged.loc[90:, "south"] = np.nan
    long = ragged.melt(id_vars="ds", var_name="unique_id", value_name="y").dropna()
    with pytest.raises(DataError, match="common last timestamp"):
        Forecaster("last-value", horizon=3).fit(long)
    with pytest.raises(ConfigError, match="not fitted"):
        Forecaster("last-value", horizon=3).predict()


def test_a_saved_forecaster_is_readable_by_the_team(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        Forecaster("last-value", horizon=3).fit(hourly_wide()).save(tmp_path / "saved")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "saved").stat().st_mode) == 0o755
    for path in (tmp_path / "saved").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
