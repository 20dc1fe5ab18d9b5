"""Synthetic windows of your own series, drawn from a generator fitted to them and scored on the
TimeGAN protocol against windows it never saw.

The rows the series all cover are split in time: the first `1 - HELD_OUT` train the generator,
the last `HELD_OUT` give the real windows it is scored against. Every value is min-max scaled per
series with the training rows' statistics (TimeGAN's scaling; `diffrnn.data.windows.MinMax`),
the generator (`diffusion-generator`: the window diffusion of `generate-etth1`; `gru`: the
autoregressive GRU) is trained on every `length`-step training window, and its windows are
mapped back to the data's units. Scores (`diffrnn.evaluation.timegan`, post-hoc networks at
`generate-etth1`'s quick sizes): discriminative |accuracy - 0.5| (0 = indistinguishable) and
predictive MAE (a GRU trained on synthetic windows predicts the last series of real ones; 2+
series only).

    result = generate_windows(load_user_data("sensors.csv"), "gru", length=24, n=100)
    result.windows     # (n, length, N) in the data's units
    result.scores      # {"discriminative_score": ..., "predictive_score": ...}
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from diffrnn.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from diffrnn.bench.unit_training import Recipe
    from diffrnn.data.user import UserSeries

log = logging.getLogger(__name__)

GeneratorName = Literal["diffusion-generator", "gru"]
GENERATORS: tuple[str, ...] = get_args(GeneratorName)
HELD_OUT = 0.2
"""Share of the rows (the last ones) kept out of training to score against."""
MIN_WINDOWS = 8
"""Fewest windows each of the training and the held-out rows must give."""


@dataclass(frozen=True)
class Generated:
    """What `generate_windows` returns.

    Attributes:
        windows: (n, length, N) synthetic windows in the data's units.
        series_ids: the N series, in the windows' last-axis order.
        scores: discriminative and (2+ series) predictive score against held-out windows.
        held_out: real windows scored against.
        steps, cpu_seconds, wall_seconds, stopped_by: of the training.
    """

    windows: np.ndarray
    series_ids: tuple[str, ...]
    scores: dict[str, float]
    held_out: int
    steps: int
    cpu_seconds: float
    wall_seconds: float
    stopped_by: str


def _model(name: str, num_series: int, length: int) -> tuple[Any, Recipe[Any]]:
    """The generator and its recipe (the quick sizes of `generate-etth1`)."""
    from diffrnn.bench.units.generation import ar_generator_recipes, window_diffusion_recipes

    if name == "diffusion-generator":
        from diffrnn.diffusion.ts_generator import WindowDiffusion

        recipe = window_diffusion_recipes(num_series, length)["quick"]
        return WindowDiffusion(recipe.model), recipe
    from diffrnn.rnn.ar_generator import ARGenerator

    recipe = ar_generator_recipes(num_series, length)["quick"]
    return ARGenerator(recipe.model), recipe


def generate_windows(
    data: UserSeries,
    model: GeneratorName,
    length: int,
    n: int,
    budget: float = 30.0,
    max_steps: int | None = None,
    seed: int = 0,
    progress: Callable[[str, float | None], None] | None = None,
) -> Generated:
    """Fit a generator to the user's windows of `length` steps, draw `n`, score them.

    Args:
        data: the loaded series (`diffrnn.data.user.load_user_data`).
        model: "diffusion-generator" or "gru".
        length: L, steps per window.
        n: windows to draw.
        budget: CPU seconds of training.
        max_steps: optimiser steps instead of the budget (repeatable).
        seed: seeds the weights, the data order, the draws and the scores.
        progress: called with a description and the budget as training starts.

    Returns:
        `Generated` with (n, L, N) windows and their scores.

    Raises:
        ConfigError: an unknown model, or a length or n below 2 / 1.
        DataError: too few rows for `MIN_WINDOWS` windows in training and in the held-out rows.
    """
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.bench.unit_training import seeded_loader
    from diffrnn.bench.units.generation import score
    from diffrnn.data.windows import MINMAX_EPS, MinMax, forecast_windows
    from diffrnn.forecast import common_block
    from diffrnn.training import fit
    from diffrnn.training.overrides import TrainOverrides

    if model not in GENERATORS:
        raise ConfigError(f"model must be one of {GENERATORS}, got {model!r}.", "")
    if length < 2 or n < 1:
        raise ConfigError(f"length must be >= 2 and n >= 1, got {length} and {n}.", "")
    values, _ = common_block(data)  # (T, N)
    split = round(len(values) * (1 - HELD_OUT))
    need = int(np.ceil((length + MIN_WINDOWS - 1) / HELD_OUT))
    if len(values) - split < length + MIN_WINDOWS - 1:
        raise DataError(
            f"windows of {length} steps need at least {need} rows common to all series (the "
            f"last {HELD_OUT:.0%} are held out to score against); the data has {len(values)}.",
            "pass a shorter --length, or give more history.",
        )
    scaler = MinMax.fit(values[:split])
    train, _ = forecast_windows(scaler.transform(values[:split]), length, 0)  # (W, L, N)
    real, _ = forecast_windows(scaler.transform(values[split:]), length, 0)
    torch.manual_seed(seed)
    network, recipe = _model(model, values.shape[1], length)
    config = dataclasses.replace(recipe.train, budget_s=budget, seed=seed)
    if max_steps is not None:
        config = TrainOverrides(max_steps=max_steps).apply(config)
    dataset = TensorDataset(torch.tensor(train, dtype=torch.float32))
    loader = seeded_loader(dataset, recipe.batch_size, seed)
    if progress is not None:
        progress(f"training {model} on {len(train)} windows of {length} steps", budget)
    result = fit(network, loader, None, config)  # type: ignore[arg-type]
    trained = result.model
    generator = torch.Generator().manual_seed(seed)
    drawn = trained.sample(n, generator=generator).clamp(0.0, 1.0)  # type: ignore[operator]
    synthetic = drawn.double().numpy()  # (n, L, N) in [0, 1]
    if progress is not None:
        progress(f"scoring against {len(real)} held-out windows", None)
    scores = score(real, synthetic, "quick", seed)  # predictive: only for two series or more
    windows = synthetic * (scaler.high - scaler.low + MINMAX_EPS) + scaler.low  # the inverse
    log.info("generated %d windows of %d steps with %s", n, length, model)
    return Generated(
        windows=windows,
        series_ids=data.series_ids,
        scores=scores,
        held_out=len(real),
        steps=result.steps,
        cpu_seconds=result.cpu_seconds,
        wall_seconds=result.train_seconds,
        stopped_by=result.stopped_by,
    )


def windows_frame(result: Generated) -> pd.DataFrame:
    """The windows as a table: `sample, step` and one column per series, n L rows."""
    import pandas as pd

    n, length, num_series = result.windows.shape
    frame = pd.DataFrame(result.windows.reshape(n * length, num_series), columns=result.series_ids)
    frame.insert(0, "step", np.tile(np.arange(length), n))
    frame.insert(0, "sample", np.repeat(np.arange(n), length))
    return frame
