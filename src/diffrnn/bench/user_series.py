"""The uses of the user's series (`compare --data FILE --uses forecast,generate,denoise`).

    options = prepare_series(Path("sales.csv"), ("generate", "denoise"))   # checks, summary
    windows = user_windows(options)                  # in each unit of generate-/denoise-user

`forecast` is the rolling-origin backtest of `user_data` (forecast-user). `generate` and `denoise`
read the series as generate-etth1 and denoise-etth1 read ETTh1: every series is a channel of one
window of WINDOW steps, min-max scaled per series over all the rows every series covers (as
TimeGAN scales its whole data set: the data range is 1, the noise sd and PSNR's peak are
fractions of it, and estimates clamped to [0, 1] clamp nothing real; scaling on the training
rows alone would put a drifting series' later windows outside [0, 1], where the clamp alone
would cost PSNR). Those rows split in time, SPLIT of them (ETTh1's Informer proportions) for
training, validation and test, no window crossing a boundary.

- generate-user: the generators train on every training window (stride 1) and are scored with
  the discriminative and predictive scores against windows of the rows they never saw (stride 1
  over the validation and test rows, as many as the suite's score recipe draws at random).
- denoise-user: the denoisers train on the training windows; the smoothers tune on the
  non-overlapping validation windows; all are scored by PSNR on the non-overlapping test windows
  with denoise-etth1's noise (sd 0.1, 0.3 and 0.5 of the range, fixed per seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from diffrnn.errors import ConfigError, DataError

if TYPE_CHECKING:
    from diffrnn.data.noisy_inputs import NoisyData

USES = {"forecast": "forecast-user", "generate": "generate-user", "denoise": "denoise-user"}
"""`--uses` names -> the task each makes."""
WINDOW = 24
"""Steps per window: TimeGAN's sequence length, as generate-etth1 and denoise-etth1."""
SPLIT = (0.6, 0.2, 0.2)
"""Training, validation and test shares of the rows, in time order (ETTh1's 12/4/4 months)."""
MIN_HELD_OUT_WINDOWS = 4
"""Non-overlapping windows the validation and the test rows must each hold."""
LOADER_KEYS = ("format", "freq", "fill", "id_column", "time_column", "target_column", "encoding")
"""The series loader's options (`user_data.load_series`), None when not given."""
MAX_CHANNELS = 64
"""Most series a window holds as channels (the generators and denoisers model them jointly)."""
MAX_WINDOW_VALUES = 25_000_000
"""Most values the stride-1 windows of one part hold (100 MB as float32); longer histories
take every k-th window instead (the summary says so)."""


def parse_uses(text: str | None) -> tuple[str, ...]:
    """`--uses forecast,generate` -> ("forecast", "generate") (None: forecast alone).

    Raises:
        ConfigError: an unknown or repeated use, or none.
    """
    if text is None:
        return ("forecast",)
    uses = tuple(part.strip() for part in text.split(",") if part.strip())
    fix = f"pass --uses with some of: {', '.join(USES)} (comma-separated)."
    unknown = [use for use in uses if use not in USES]
    if unknown:
        raise ConfigError(f"unknown use {unknown[0]!r} in --uses.", fix)
    if not uses or len(set(uses)) != len(uses):
        raise ConfigError(f"--uses {text!r} must name each use once.", fix)
    return uses


@dataclass(frozen=True, eq=False)
class UserWindows:
    """The user's series as windows (B, WINDOW, D) in [0, 1] (min-max per series), float32.

    Attributes:
        train: every window of the training rows (stride 1, or more past MAX_WINDOW_VALUES).
        val, test: the non-overlapping windows of the validation and test rows.
        held_out: every window of the rows after training (stride as `train`'s): generate-user's
            real set.
        series_ids: the channels' names.
        train_rows: the rows before validation.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    held_out: np.ndarray
    series_ids: tuple[str, ...]
    train_rows: int

    def noisy_data(self) -> NoisyData:
        """The windows as denoise-etth1's `NoisyData`: data range 1, estimates clamped to [0, 1],
        the val / test splits' noise fixed by (seed, noise level, split)."""
        import torch

        from diffrnn.data.noisy_inputs import NoisyData, add_noise

        def noisy(split: str, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
            clean = torch.from_numpy(self.test if split == "test" else self.val)  # (B, T, D)
            return clean, add_noise(clean, fraction, 1.0, split, seed)

        return NoisyData(1.0, 0.0, noisy, lambda: torch.from_numpy(self.train))


def _bounds(rows: int) -> tuple[int, int]:
    """(training rows, training + validation rows) of `rows` by SPLIT."""
    return int(rows * SPLIT[0]), int(rows * (SPLIT[0] + SPLIT[1]))


def _rows(rows: int) -> tuple[int, int]:
    """`_bounds(rows)`; a DataError when the validation or test rows hold too few windows."""

    def fits(count: int) -> bool:
        train_end, val_end = _bounds(count)
        return min(val_end - train_end, count - val_end) >= MIN_HELD_OUT_WINDOWS * WINDOW

    if not fits(rows):
        need = next(n for n in range(rows, 10 * rows + 1000) if fits(n))
        raise DataError(
            f"generate and denoise need at least {need} rows common to all series (windows of "
            f"{WINDOW} steps, {MIN_HELD_OUT_WINDOWS} of them in each of the validation "
            f"({SPLIT[1]:.0%}) and the test ({SPLIT[2]:.0%}) rows); your file has {rows}.",
            "give more history, or pass --uses forecast.",
        )
    return _bounds(rows)


def user_windows(options: dict[str, Any], data: Any = None) -> UserWindows:
    """The windows of a unit's `ctx.options` (`data`: the loaded `UserSeries`, when loaded).

    Raises:
        DataError: too few rows or too many series (see `prepare_series`).
    """
    from diffrnn.bench.user_data import common_range, load_series
    from diffrnn.data.windows import MinMax, forecast_windows

    data = data if data is not None else load_series(options)
    if len(data.series_ids) > MAX_CHANNELS:
        raise DataError(
            f"generate and denoise model your series jointly, as the channels of one window; "
            f"your file has {len(data.series_ids):,} series (at most {MAX_CHANNELS}).",
            f"pass a file of at most {MAX_CHANNELS} series, or --uses forecast.",
        )
    start, end = common_range(data)
    raw = np.ascontiguousarray(data.values[:, start:end].T)  # (T, D)
    train_end, val_end = _rows(len(raw))
    rows = MinMax.fit(raw).transform(raw).astype(np.float32)  # (T, D)

    def windows(part: np.ndarray, stride: int | None = None) -> np.ndarray:
        """(T', D) -> (B, WINDOW, D) copies, every `stride` rows (None: 1, or the stride that
        keeps them within MAX_WINDOW_VALUES)."""
        if stride is None:
            stride = -(-(len(part) - WINDOW + 1) * WINDOW * part.shape[1] // MAX_WINDOW_VALUES)
        return forecast_windows(part, WINDOW, 0, max(stride, 1))[0].copy()

    return UserWindows(
        train=windows(rows[:train_end]),
        val=windows(rows[train_end:val_end], WINDOW),
        test=windows(rows[val_end:], WINDOW),
        held_out=windows(rows[train_end:]),
        series_ids=tuple(data.series_ids),
        train_rows=train_end,
    )


def prepare_series(
    path: str | Path, uses: Sequence[str], horizon: int | None = None, **loader: Any
) -> dict[str, Any]:
    """Check the user's series once for `uses`; the units' options with a summary.

    Args:
        path: CSV or Parquet, long or wide (see `user_data.prepare_user_data`).
        uses: from `parse_uses`; "forecast" needs `horizon`.
        horizon: the forecast's steps (only with "forecast").
        **loader: `prepare_user_data`'s other options (format, freq, context, windows, fill,
            id/time/target columns, encoding); context and windows belong to "forecast".

    Returns:
        `prepare_user_data`'s options (with "forecast"; else the loader's), plus "tasks" (the
        task of each use) and the summary's "uses" and "windows" lines.

    Raises:
        ConfigError: a forecast without a horizon, a horizon or backtest flag without one.
        DataError: the file's, the backtest's or the windows' refusals.
    """
    from diffrnn.bench.user_data import load_series, prepare_user_data, series_summary

    if "forecast" in uses:
        if horizon is None:
            raise ConfigError("--data needs a forecast horizon.", "pass --horizon H (steps).")
        options = prepare_user_data(path, horizon, **loader)
    else:
        flags = {"--horizon": horizon, "--context": loader.pop("context", None)}
        flags["--windows"] = loader.pop("windows", None)
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise ConfigError(
                f"{given[0]} is for the forecast use; --uses is {','.join(uses)}.",
                f"drop {given[0]}, or add forecast to --uses.",
            )
        options = {"path": str(Path(path).resolve()), **dict.fromkeys(LOADER_KEYS), **loader}
        options["fill"] = options["fill"] or "error"
        data = load_series(options)
        options["summary"] = {
            **series_summary(path, data),
            "loader notes": "; ".join(data.notes) or "none",
        }
    options["tasks"] = [USES[use] for use in uses]
    options["task"] = options["tasks"][0]
    summary = options["summary"]
    summary["uses"] = ", ".join(f"{use} ({USES[use]})" for use in uses)
    if "generate" in uses or "denoise" in uses:
        windows = user_windows(options)
        summary["windows"] = (
            f"{WINDOW} steps x {len(windows.series_ids)} series (one channel each), min-max "
            f"scaled per series over all the rows used; training: the first "
            f"{windows.train_rows} rows ({SPLIT[0]:.0%}); validation and test: the next "
            f"{SPLIT[1]:.0%} and the last "
            f"{SPLIT[2]:.0%} of the rows ({len(windows.val)} and {len(windows.test)} "
            "non-overlapping windows)"
        )
        if "generate" in uses:
            summary["generate"] = (
                f"generators train on the {len(windows.train):,} windows of the training rows "
                f"and are scored against windows of the last {1 - SPLIT[0]:.0%} of the rows "
                f"({len(windows.held_out):,}, a random draw of them per seed)"
            )
        if "denoise" in uses:
            summary["denoise"] = (
                "Gaussian noise of sd 0.1, 0.3 and 0.5 (of the range 1) on the test windows; "
                "PSNR of each denoiser's estimate (smoothers tuned on the validation windows)"
            )
    return options
