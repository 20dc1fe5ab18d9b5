"""Loaders of the vendored forecasting data: exchange rates (LSTNet table, GluonTS split) and ETTh1.

Arrays are float64, exactly the values in the files; the split conventions follow the papers that
publish numbers on them (GP-Copula/TimeGrad for exchange_rate_nips, Informer for ETTh1).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass

import numpy as np

from diffrnn.data import registry

# Informer/Autoformer protocol on ETTh1: 12 months train, 4 val, 4 test, in hours.
ETT_MONTH_HOURS = 30 * 24
ETT_TRAIN_END = 12 * ETT_MONTH_HOURS  # 8640
ETT_VAL_END = 16 * ETT_MONTH_HOURS  # 11520
ETT_TEST_END = 20 * ETT_MONTH_HOURS  # 14400
ETT_INPUT_LENGTH = 96
ETTH1_WINDOW = 24
"""Steps per min-max scaled ETTh1 window (`etth1_windows`; TimeGAN's sequence length)."""

EXCHANGE_NIPS_PREDICTION_LENGTH = 30
EXCHANGE_NIPS_FREQ = "B"


@dataclass(frozen=True, eq=False)
class ExchangeRate:
    """The LSTNet exchange-rate table: `values` (T, N) = (7588, 8), daily, no dates."""

    values: np.ndarray  # (T, N)


@dataclass(frozen=True, eq=False)
class ExchangeRateNips:
    """The GP-Copula/TimeGrad split of the exchange rates (GluonTS JSON lines).

    `train` is (N, T_train) = (8, 6071). `test[k]` is (N, T_k): the whole series up to the end of
    test window k (T_k = 6101 + 30k); the last `prediction_length` steps are the window scored.
    """

    train: np.ndarray  # (N, T_train)
    test: tuple[np.ndarray, ...]  # K x (N, T_k)
    start: np.datetime64
    freq: str
    prediction_length: int

    @property
    def test_ends(self) -> tuple[int, ...]:
        """Length of each test series, i.e. the (exclusive) end index of each test window."""
        return tuple(t.shape[1] for t in self.test)


@dataclass(frozen=True, eq=False)
class ETTh1:
    """ETTh1 with the Informer 12/4/4-month split.

    `values` holds the raw file (T, D) = (17420, 7); `scaled` the same standardised with the
    training rows' `mean`/`std`. `borders[s] = (start, end)` are row ranges into both for
    s in train/val/test; val and test start `input_length` rows early so their first window has
    a full history, as the Informer/Autoformer code does. Rows from 14,400 on are unused.
    """

    values: np.ndarray  # (T, D) raw
    scaled: np.ndarray  # (T, D) standardised with train statistics
    mean: np.ndarray  # (D,)
    std: np.ndarray  # (D,)
    columns: tuple[str, ...]
    timestamps: np.ndarray  # (T,) datetime64[s]
    borders: dict[str, tuple[int, int]]
    input_length: int

    def split(self, name: str, *, raw: bool = False) -> np.ndarray:
        """Rows of split `name` ("train" | "val" | "test"), standardised unless `raw`: (T_s, D)."""
        if name not in self.borders:
            raise ValueError(f"split must be one of {tuple(self.borders)}, got {name!r}")
        start, end = self.borders[name]
        return (self.values if raw else self.scaled)[start:end]


def load_exchange_rate() -> ExchangeRate:
    """The LSTNet exchange-rate table, (7588, 8)."""
    path = registry.path("exchange_rate", "exchange_rate/exchange_rate.txt.gz")
    with gzip.open(path, "rt", encoding="ascii") as f:
        values = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return ExchangeRate(values=values)


def _json_lines(archive: tarfile.TarFile, member: str) -> list[dict]:
    raw = archive.extractfile(member)
    assert raw is not None, member
    return [json.loads(line) for line in io.TextIOWrapper(raw, encoding="utf-8") if line.strip()]


def load_exchange_rate_nips() -> ExchangeRateNips:
    """The GluonTS `exchange_rate_nips` split, read from the tar.gz in memory (no extraction)."""
    path = registry.path("exchange_rate_nips", "exchange_rate/exchange_rate_nips.tar.gz")
    with tarfile.open(path, "r:gz") as archive:
        train_rows = _json_lines(archive, "exchange_rate_nips/train/train.json")
        test_rows = _json_lines(archive, "exchange_rate_nips/test/test.json")
    n_series = len(train_rows)
    train = np.array([row["target"] for row in train_rows], dtype=np.float64)  # (N, T_train)
    # test.json lists the N series of window 0, then of window 1, ...
    test = tuple(
        np.array([row["target"] for row in test_rows[k : k + n_series]], dtype=np.float64)
        for k in range(0, len(test_rows), n_series)
    )
    return ExchangeRateNips(
        train=train,
        test=test,
        start=np.datetime64(train_rows[0]["start"].split(" ")[0]),
        freq=EXCHANGE_NIPS_FREQ,
        prediction_length=EXCHANGE_NIPS_PREDICTION_LENGTH,
    )


def load_etth1(input_length: int = ETT_INPUT_LENGTH) -> ETTh1:
    """ETTh1 with the Informer split; val/test start `input_length` rows before their border."""
    path = registry.path("etth1", "etth1/ETTh1.csv")
    with path.open(encoding="ascii") as f:
        header = f.readline().strip().split(",")
        rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    timestamps = np.array([r[0] for r in rows], dtype="datetime64[s]")
    values = np.array([r[1:] for r in rows], dtype=np.float64)  # (T, D)
    borders = {
        "train": (0, ETT_TRAIN_END),
        "val": (ETT_TRAIN_END - input_length, ETT_VAL_END),
        "test": (ETT_VAL_END - input_length, ETT_TEST_END),
    }
    train = values[:ETT_TRAIN_END]
    mean, std = train.mean(axis=0), train.std(axis=0)  # sklearn StandardScaler: ddof=0
    return ETTh1(
        values=values,
        scaled=(values - mean) / std,
        mean=mean,
        std=std,
        columns=tuple(header[1:]),
        timestamps=timestamps,
        borders=borders,
        input_length=input_length,
    )


def etth1_windows(split: str = "train", stride: int = 1) -> np.ndarray:
    """ETTh1 windows of `ETTH1_WINDOW` steps, every `stride` rows of one Informer split
    ("train" | "val" | "test", no overlap between splits), min-max scaled per channel with the
    training rows' statistics (other splits may leave [0, 1] slightly): (W, 24, 7) float32.

    The data of generate-etth1 (TimeGAN's protocol) and denoise-etth1."""
    from diffrnn.data.windows import MinMax, forecast_windows

    etth1 = load_etth1(input_length=0)
    scaler = MinMax.fit(etth1.split("train", raw=True))  # (8640, 7) rows
    rows = scaler.transform(etth1.split(split, raw=True))  # (T_split, 7)
    windows, _ = forecast_windows(rows, ETTH1_WINDOW, 0, stride)
    return windows.astype(np.float32)
