"""Forecasting loaders: shapes and splits equal the published protocols; ETTh1's min-max windows."""

from __future__ import annotations

import numpy as np

from diffrnn.data.timeseries import (
    etth1_windows,
    load_etth1,
    load_exchange_rate,
    load_exchange_rate_nips,
)
from diffrnn.data.windows import MINMAX_EPS


def test_exchange_rate_table() -> None:
    data = load_exchange_rate()
    assert data.values.shape == (7588, 8)
    assert np.isfinite(data.values).all() and (data.values > 0).all()


def test_exchange_rate_nips_split_is_the_first_rows_of_the_table() -> None:
    nips = load_exchange_rate_nips()
    assert nips.train.shape == (8, 6071)
    assert nips.test_ends == (6101, 6131, 6161, 6191, 6221)
    assert nips.freq == "B" and nips.prediction_length == 30
    assert nips.start == np.datetime64("1990-01-01")
    table = load_exchange_rate().values  # (T, N)
    np.testing.assert_array_equal(nips.train, table[:6071].T)
    for series in nips.test:
        np.testing.assert_array_equal(series, table[: series.shape[1]].T)


def test_etth1_informer_split() -> None:
    ett = load_etth1()
    assert ett.values.shape == (17420, 7)
    assert ett.columns == ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
    assert ett.timestamps[0] == np.datetime64("2016-07-01T00:00:00")
    assert (np.diff(ett.timestamps) == np.timedelta64(1, "h")).all()
    assert ett.borders == {"train": (0, 8640), "val": (8544, 11520), "test": (11424, 14400)}
    assert [ett.split(s).shape[0] for s in ("train", "val", "test")] == [8640, 2976, 2976]
    train = ett.split("train")
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-10)
    np.testing.assert_allclose(
        ett.split("test") * ett.std + ett.mean, ett.split("test", raw=True), atol=1e-12
    )
    assert load_etth1(input_length=336).borders["test"] == (11520 - 336, 14400)


def test_etth1_windows_are_scaled_with_the_training_rows_only() -> None:
    etth1 = load_etth1(input_length=0)
    train = etth1.split("train", raw=True)
    low, high = train.min(0), train.max(0)
    test = etth1.split("test", raw=True)
    expected = (test[:24] - low) / (high - low + MINMAX_EPS)
    np.testing.assert_allclose(etth1_windows("test", 24)[0], expected, rtol=1e-6)
    windows = etth1_windows("train")
    np.testing.assert_allclose(windows.min((0, 1)), 0.0, atol=1e-7)
    np.testing.assert_allclose(windows.max((0, 1)), 1.0, atol=1e-6)
    # refitting on the test rows would put every channel's minimum at 0; the train fit does not
    assert etth1_windows("test", 24).min((0, 1)).max() > 0.1
