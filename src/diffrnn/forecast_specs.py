"""The forecasting models a `Forecaster` trains: how each learns from a `ForecastProblem` and
draws sample paths from a history.

    spec = MODELS["deepar"]
    fitted = spec.train(problem, Settings("quick", seed=0, budget_s=30.0, max_steps=None))
    paths = spec.sample(fitted, history, calendar, horizon, 100, seed=0)   # (S, H, N)

Each spec builds its model with the recipe the `forecast-user` unit of the same name uses
(`diffrnn.bench.units`), so a model trained here is the one `compare --data` backtested, and
trains it with the one training loop, `diffrnn.training.fit`.

A network forecaster that implements `NetworkForecaster` (built by a preset from the problem,
`training_data`, `loss`, `sample_paths`) needs nothing here but its line in `MODELS`:

    "segrnn": network_spec("segrnn", "rnn", "SegRNN: ...", "diffrnn.rnn.segrnn.SegRNN",
                           preset="diffrnn.rnn.segrnn.segrnn_forecaster", scaling="standard"),

and that line also makes it a `forecast-user` unit (`diffrnn.bench.units.user_forecast`), so
`compare --data` backtests it and `Forecaster(model="auto")` considers it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

    from diffrnn.data.windows import ForecastProblem
    from diffrnn.rnn.cells import CellType
    from diffrnn.training import FitResult, TrainConfig

Recipe = Literal["quick", "full"]
RECIPES: tuple[str, ...] = ("quick", "full")
ScalingName = Literal["none", "standard"]
SCALINGS: tuple[ScalingName, ...] = ("none", "standard")
ALIASES: dict[str, str] = {"gru": "deepar-gru"}
"""Old model names still accepted (`Forecaster(model="gru")`), each the model it now names:
`gru` meant DeepAR with a GRU cell here and on forecast-exchange, but the point forecaster on
forecast-etth1 (issue 18); it is `deepar-gru` now."""


@dataclass(frozen=True)
class NetworkRecipe:
    """A network forecaster's preset for one problem: its config, batch size and training.

    Attributes:
        config: the model's frozen config (the network is `cls(config)`).
        batch_size, max_steps, lr: batches of `training_data`, optimiser steps, AdamW's rate.
        grad_clip, ema_decay, schedule, warmup_steps: as `TrainConfig` / `OptimConfig` take them
            (defaults: theirs).
    """

    config: Any
    batch_size: int
    max_steps: int
    lr: float
    grad_clip: float | None = 1.0
    ema_decay: float | None = None
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0

    def train_config(self) -> TrainConfig:
        """The `TrainConfig` of this recipe (budget and seed are the caller's to set)."""
        from diffrnn.training import OptimConfig, TrainConfig

        optim = OptimConfig(lr=self.lr, warmup_steps=self.warmup_steps, schedule=self.schedule)
        if self.schedule == "cosine":
            optim = dataclasses.replace(optim, total_steps=self.max_steps)
        return TrainConfig(
            max_steps=self.max_steps,
            grad_clip=self.grad_clip,
            ema_decay=self.ema_decay,
            optim=optim,
        )


class NetworkForecaster(Protocol):
    """What a network forecaster implements to be one line of `MODELS` (`network_spec`).

    `config.history_length` (if present; else the problem's context) is the rows of past a
    forecast reads. Built as `cls(preset(problem, size).config)` and saved with
    `save_pretrained` (`diffrnn.modeling.PretrainedMixin`).
    """

    config: Any
    config_class: ClassVar[type]

    def training_data(self, problem: ForecastProblem) -> Any:
        """A Dataset of `problem.train` (and its calendar) whose batches `loss` reads."""
        ...

    def loss(self, batch: Any) -> torch.Tensor:
        """A scalar training loss of one batch."""
        ...

    def sample_paths(
        self,
        history: torch.Tensor,
        calendar: torch.Tensor | None,
        num_samples: int,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """history (B, L, N), calendar (B, C + H, F) or None -> paths (B, S, H, N); S = 1 for a
        point forecast. The same generator state gives the same paths."""
        ...


Trainer = Callable[["nn.Module", Any, NetworkRecipe], "FitResult"]
"""(network, dataset, recipe) -> `fit`'s result: how a network is trained (a `Forecaster` with its
budget and step cap, a unit with its checkpoints)."""


@dataclass(frozen=True)
class Fitted:
    """A trained model: its network (None for a floor), a floor's parameters, its costs."""

    network: nn.Module | None
    params: dict[str, np.ndarray]
    recipe: Recipe
    result: FitResult | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One forecasting model of the `forecast-user` task, as the Forecaster uses it.

    Attributes:
        name, family, description: as registered on the task.
        scaling: how values are scaled before the model sees them (saved as JSON).
        uses_calendar: the model reads calendar features of the timestamps.
        network_class: the class of its trained network (None: a floor without one).
        network: how `network_spec` builds, trains and samples it (None: a hand-written spec).
        train: (problem, settings) -> Fitted, on every training row of `problem`.
        history: (fitted, problem) -> rows of past a forecast reads.
        sample: (fitted, history (L, N), calendar (C + H, F) or None, horizon, S, seed)
            -> (S, H, N) paths in the data's units.
    """

    name: str
    family: str
    description: str
    scaling: str
    uses_calendar: bool
    network_class: str | None
    train: Callable[[ForecastProblem, Settings], Fitted]
    history: Callable[[Fitted, ForecastProblem], int]
    sample: Callable[[Fitted, np.ndarray, np.ndarray | None, int, int, int], np.ndarray]
    network: NetworkSpec | None = None


@dataclass(frozen=True)
class Settings:
    """What a training is given: recipe size, seed, CPU-second budget, optional step cap."""

    recipe: Recipe
    seed: int
    budget_s: float
    max_steps: int | None


def _season(freq: str) -> int:
    from diffrnn.data.windows import season_length

    return season_length(freq)  # as `floor_samples` of the backtest


def _ar_order(problem: ForecastProblem) -> int:
    return min(problem.context, 7)  # as `floor_samples` of the backtest


def _train_floor(name: str) -> Callable[[ForecastProblem, Settings], Fitted]:
    def train(problem: ForecastProblem, settings: Settings) -> Fitted:
        from diffrnn.baselines.forecast import LinearAR, RandomWalk

        if name == "random-walk":
            walk = RandomWalk.fit(problem.train)
            return Fitted(None, {"drift": walk.drift, "sigma": walk.sigma}, settings.recipe)
        if name == "linear-ar":
            ar = LinearAR.fit(problem.train, _ar_order(problem), shared=False)
            return Fitted(None, {"coef": ar.coef, "sigma": ar.sigma}, settings.recipe)
        if name == "seasonal-naive":
            season = np.array(_season(problem.freq), dtype=np.int64)
            return Fitted(None, {"season": season}, settings.recipe)
        return Fitted(None, {}, settings.recipe)

    return train


def _floor_history(name: str) -> Callable[[Fitted, ForecastProblem], int]:
    def history(fitted: Fitted, problem: ForecastProblem) -> int:
        if name == "seasonal-naive":
            return max(problem.context, _season(problem.freq))
        if name == "linear-ar":
            return max(problem.context, _ar_order(problem))
        return problem.context

    return history


def _sample_floor(name: str) -> Any:
    def sample(
        fitted: Fitted,
        history: np.ndarray,
        calendar: np.ndarray | None,
        horizon: int,
        num_samples: int,
        seed: int,
    ) -> np.ndarray:
        from diffrnn.baselines.forecast import (
            LinearAR,
            RandomWalk,
            last_value,
            seasonal_naive,
        )

        past = history[None]  # (1, L, N)
        rng = np.random.default_rng(seed)
        if name == "last-value":
            paths = last_value(past, horizon)[:, None]
        elif name == "seasonal-naive":
            paths = seasonal_naive(past, horizon, int(fitted.params["season"]))[:, None]
        elif name == "random-walk":
            walk = RandomWalk(fitted.params["drift"], fitted.params["sigma"])
            paths = walk.sample(past, horizon, num_samples, rng)
        else:
            ar = LinearAR(fitted.params["coef"], fitted.params["sigma"])
            paths = ar.sample(past, horizon, num_samples, rng)
        paths = paths[0]  # (S, H, N); S = 1 for a point forecast
        return np.repeat(paths, num_samples, axis=0) if len(paths) == 1 else paths

    return sample


def _fit(model: nn.Module, dataset: Any, batch_size: int, settings: Settings, train: Any) -> Any:
    """The one training loop (`diffrnn.training.fit`) with the settings' budget, seed and cap."""
    import dataclasses

    import torch

    from diffrnn.bench.unit_training import seeded_loader
    from diffrnn.training import fit
    from diffrnn.training.overrides import TrainOverrides

    torch.manual_seed(settings.seed)
    config = dataclasses.replace(train, budget_s=settings.budget_s, seed=settings.seed)
    if settings.max_steps is not None:  # steps instead of seconds, as `diffrnn train` does
        config = TrainOverrides(max_steps=settings.max_steps).apply(config)
    loader = seeded_loader(dataset, batch_size, settings.seed)
    return fit(model, loader, None, config)


def _train_deepar(cell: CellType) -> Callable[[ForecastProblem, Settings], Fitted]:
    def train(problem: ForecastProblem, settings: Settings) -> Fitted:
        import torch

        from diffrnn.bench.units.forecasting import DEEPAR_RECIPES, deepar_config_for
        from diffrnn.data.windows import SeriesWindows
        from diffrnn.rnn.deepar import DeepAR
        from diffrnn.training import OptimConfig, TrainConfig

        recipe = DEEPAR_RECIPES[settings.recipe]
        config = deepar_config_for(problem, cell, settings.recipe)
        calendar = problem.calendar()  # (T, F) or None
        windows = SeriesWindows(problem.train, config.window_length, calendar)
        torch.manual_seed(settings.seed)
        model = DeepAR(config)
        train_config = TrainConfig(
            max_steps=recipe.max_steps,
            grad_clip=10.0,
            ema_decay=recipe.ema_decay,
            optim=OptimConfig(lr=recipe.lr, schedule=recipe.schedule, total_steps=recipe.max_steps),
        )
        result = _fit(model, windows, recipe.batch_size, settings, train_config)
        return Fitted(result.model, {}, settings.recipe, result)

    return train


def _sample_deepar(
    fitted: Fitted,
    history: np.ndarray,
    calendar: np.ndarray | None,
    horizon: int,
    num_samples: int,
    seed: int,
) -> np.ndarray:
    import torch

    model = fitted.network
    assert model is not None
    n = history.shape[1]
    steps = model.config.context_length + horizon
    feats = np.zeros((steps, 0), np.float32) if calendar is None else calendar
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # DeepAR draws from the global generator
        paths = model.sample(
            torch.as_tensor(history.T, dtype=torch.float32),  # (N, L)
            torch.as_tensor(feats, dtype=torch.float32)[None].expand(n, -1, -1),  # (N, C + H, F)
            torch.arange(n),
            num_samples,
        )  # (N, S, H)
    return paths.permute(1, 2, 0).double().numpy()  # (S, H, N)


def _train_diffusion(problem: ForecastProblem, settings: Settings) -> Fitted:
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.bench.units.diffusion_forecasting import RECIPES
    from diffrnn.data.windows import forecast_windows
    from diffrnn.diffusion.denoisers_1d import ConvDenoiser1dConfig
    from diffrnn.diffusion.ts_forecaster import DiffusionForecaster, DiffusionForecasterConfig
    from diffrnn.training import OptimConfig, TrainConfig

    recipe = RECIPES[settings.recipe]
    past, future = forecast_windows(problem.train, problem.context, problem.horizon)
    dataset = TensorDataset(
        torch.tensor(past, dtype=torch.float32), torch.tensor(future, dtype=torch.float32)
    )
    torch.manual_seed(settings.seed)
    config = DiffusionForecasterConfig(
        ConvDenoiser1dConfig(
            num_series=problem.num_series,
            horizon=problem.horizon,
            context=problem.context,
            hidden=recipe.hidden,
            layers=recipe.layers,
        ),
        sampler_steps=recipe.sampler_steps,
    )
    train_config = TrainConfig(
        max_steps=recipe.max_steps,
        ema_decay=recipe.ema_decay,
        optim=OptimConfig(lr=recipe.lr, warmup_steps=100),
    )
    result = _fit(DiffusionForecaster(config), dataset, recipe.batch_size, settings, train_config)
    return Fitted(result.model, {}, settings.recipe, result)


def _sample_diffusion(
    fitted: Fitted,
    history: np.ndarray,
    calendar: np.ndarray | None,
    horizon: int,
    num_samples: int,
    seed: int,
) -> np.ndarray:
    import torch

    model = fitted.network
    assert model is not None
    past = torch.as_tensor(history[None], dtype=torch.float32)  # (1, C, N)
    paths = model.forecast(past, num_samples, generator=torch.Generator().manual_seed(seed))
    return paths[0].double().numpy()  # (S, H, N)


def _train_timegrad(problem: ForecastProblem, settings: Settings) -> Fitted:
    import torch

    from diffrnn.bench.units.timegrad import TIMEGRAD_RECIPES, timegrad_config_for
    from diffrnn.data.windows import MultivariateWindows
    from diffrnn.hybrid.timegrad import TimeGrad
    from diffrnn.training import OptimConfig, TrainConfig

    recipe = TIMEGRAD_RECIPES[settings.recipe]
    config = timegrad_config_for(problem, recipe, "gru")
    windows = MultivariateWindows(problem.train, config.window_length, problem.calendar())
    torch.manual_seed(settings.seed)
    train_config = TrainConfig(
        max_steps=recipe.max_steps, grad_clip=10.0, optim=OptimConfig(lr=recipe.lr)
    )
    result = _fit(TimeGrad(config), windows, recipe.batch_size, settings, train_config)
    return Fitted(result.model, {}, settings.recipe, result)


def _sample_timegrad(
    fitted: Fitted,
    history: np.ndarray,
    calendar: np.ndarray | None,
    horizon: int,
    num_samples: int,
    seed: int,
) -> np.ndarray:
    import torch

    from diffrnn.bench.units.timegrad import TIMEGRAD_RECIPES

    model = fitted.network
    assert model is not None
    steps = model.config.context_length + horizon
    feats = np.zeros((steps, 0), np.float32) if calendar is None else calendar
    recipe = TIMEGRAD_RECIPES[fitted.recipe]  # the backtest's sampler for this recipe
    paths = model.sample(
        torch.as_tensor(history[None], dtype=torch.float32),  # (1, L, N)
        torch.as_tensor(feats[None], dtype=torch.float32),  # (1, C + H, F)
        num_samples,
        sampler=recipe.sampler,
        steps=recipe.sampler_steps,
        generator=torch.Generator().manual_seed(seed),
    )  # (1, S, H, N)
    return paths[0].double().numpy()


def _positive_std(values: np.ndarray) -> np.ndarray:
    """Per-series standard deviation of (T, N) values, 1 where a series is constant."""
    std = values.std(axis=0)
    return np.where(std > 0, std, 1.0)


def _resolve(path: str) -> Any:
    """The object a spec line names by its dotted path inside diffrnn."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class NetworkSpec:
    """A `NetworkForecaster` as `MODELS` uses it: its class, its preset and its scaling.

    Attributes:
        network_class: dotted path of the class (implements `NetworkForecaster`).
        preset: dotted path of `preset(problem, size) -> NetworkRecipe`.
        scaling: "standard": each series standardised by its training rows' mean and standard
            deviation (kept in `Fitted.params`, undone on the paths); "none": the model scales.
    """

    network_class: str
    preset: str
    scaling: ScalingName = "none"

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {self.scaling!r}")
        for path in (self.network_class, self.preset):
            if not path.startswith("diffrnn."):
                raise ValueError(f"a network spec names objects inside diffrnn, got {path!r}")

    def fit(self, problem: ForecastProblem, size: Recipe, seed: int, trainer: Trainer) -> Fitted:
        """Build the network for `problem` (weights from `seed`) and train it on its rows."""
        import torch

        params: dict[str, np.ndarray] = {}
        if self.scaling == "standard":
            train = problem.train  # (T, N)
            params = {"mean": train.mean(axis=0), "std": _positive_std(train)}
            scaled = (problem.values - params["mean"]) / params["std"]
            problem = dataclasses.replace(problem, values=scaled)
        recipe = _resolve(self.preset)(problem, size)
        torch.manual_seed(seed)
        network = _resolve(self.network_class)(recipe.config)
        result = trainer(network, network.training_data(problem), recipe)
        return Fitted(result.model, params, size, result)

    def paths(
        self,
        fitted: Fitted,
        history: np.ndarray,
        calendar: np.ndarray | None,
        num_samples: int,
        seed: int,
    ) -> np.ndarray:
        """Paths in the data's units: history (B, L, N), calendar (B, C + H, F) or None ->
        (B, S, H, N), S = 1 for a point forecast."""
        import torch

        network = fitted.network
        assert network is not None
        mean, std = fitted.params.get("mean", 0.0), fitted.params.get("std", 1.0)
        past = torch.as_tensor((history - mean) / std, dtype=torch.float32)  # (B, L, N)
        feats = None if calendar is None else torch.as_tensor(calendar, dtype=torch.float32)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            paths = network.sample_paths(past, feats, num_samples, generator)  # (B, S, H, N)
        return paths.double().numpy() * std + mean


def _fit_with_settings(
    model: nn.Module, dataset: Any, recipe: NetworkRecipe, settings: Settings
) -> FitResult:
    return _fit(model, dataset, recipe.batch_size, settings, recipe.train_config())


def _train_network(network: NetworkSpec, problem: ForecastProblem, settings: Settings) -> Fitted:
    trainer = partial(_fit_with_settings, settings=settings)
    return network.fit(problem, settings.recipe, settings.seed, trainer)


def _sample_network(
    network: NetworkSpec,
    fitted: Fitted,
    history: np.ndarray,
    calendar: np.ndarray | None,
    horizon: int,
    num_samples: int,
    seed: int,
) -> np.ndarray:
    batch = None if calendar is None else calendar[None]
    paths = network.paths(fitted, history[None], batch, num_samples, seed)[0, :, :horizon]
    return np.repeat(paths, num_samples, axis=0) if len(paths) == 1 else paths  # (S, H, N)


def _network_history(fitted: Fitted, problem: ForecastProblem) -> int:
    config = fitted.network.config  # type: ignore[union-attr]
    return getattr(config, "history_length", problem.context)


_MEAN_SCALING = "per window and series, y / mean |y| over the context (DeepAR's), inside the model"
_STANDARD_SCALING = (
    "per window and series, standardised by the context's mean and standard deviation, inside "
    "the model"
)
_SCALING_TEXT = {
    "standard": "per series, standardised by the training rows' mean and standard deviation "
    "(saved)",
    "none": "inside the model",
}


def network_spec(
    name: str,
    family: str,
    description: str,
    network_class: str,
    preset: str,
    scaling: ScalingName = "none",
    uses_calendar: bool = False,
) -> ModelSpec:
    """The spec of a network forecaster implementing `NetworkForecaster`: one line of `MODELS`.

    Args:
        name, family, description: as registered on `forecast-user`.
        network_class: dotted path of its class, e.g. "diffrnn.rnn.segrnn.SegRNN".
        preset: dotted path of `preset(problem, size) -> NetworkRecipe`.
        scaling: "standard" (per series on the training rows, outside the model) or "none".
        uses_calendar: `sample_paths` reads calendar features of the context and horizon.
    """
    network = NetworkSpec(network_class, preset, scaling)
    return ModelSpec(
        name=name,
        family=family,
        description=description,
        scaling=_SCALING_TEXT[scaling],
        uses_calendar=uses_calendar,
        network_class=network_class,
        train=partial(_train_network, network),
        history=_network_history,
        sample=partial(_sample_network, network),
        network=network,
    )


def _floor_spec(name: str, description: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="baseline",
        description=description,
        scaling="none",
        uses_calendar=False,
        network_class=None,
        train=_train_floor(name),
        history=_floor_history(name),
        sample=_sample_floor(name),
    )


MODELS: dict[str, ModelSpec] = {
    "last-value": _floor_spec("last-value", "the last observed value repeated (a point forecast)"),
    "seasonal-naive": _floor_spec(
        "seasonal-naive", "the last season, by the data's frequency, repeated (a point forecast)"
    ),
    "random-walk": _floor_spec("random-walk", "a Gaussian random walk per series"),
    "linear-ar": _floor_spec("linear-ar", "least-squares AR(<= 7) per series, Gaussian residuals"),
    "deepar": ModelSpec(
        "deepar",
        "rnn",
        "DeepAR: an LSTM over lags and calendar features, Student-t paths",
        _MEAN_SCALING,
        True,
        "diffrnn.rnn.deepar.DeepAR",
        _train_deepar("lstm"),
        _network_history,
        _sample_deepar,
    ),
    "deepar-gru": ModelSpec(
        "deepar-gru",
        "rnn",
        "DeepAR with a GRU cell",
        _MEAN_SCALING,
        True,
        "diffrnn.rnn.deepar.DeepAR",
        _train_deepar("gru"),
        _network_history,
        _sample_deepar,
    ),
    "diffusion-forecaster": ModelSpec(
        "diffusion-forecaster",
        "diffusion",
        "conditional diffusion over the horizon given the context (DPM-Solver++)",
        _STANDARD_SCALING,
        False,
        "diffrnn.diffusion.ts_forecaster.DiffusionForecaster",
        _train_diffusion,
        _network_history,
        _sample_diffusion,
    ),
    "segrnn": network_spec(
        "segrnn",
        "rnn",
        "SegRNN: a GRU over segments of the context, the horizon's segments decoded in parallel "
        "(a point forecast)",
        "diffrnn.rnn.segrnn.SegRNN",
        preset="diffrnn.rnn.segrnn.segrnn_forecaster",
        scaling="standard",
    ),
    "timegrad": ModelSpec(
        "timegrad",
        "hybrid",
        "TimeGrad: a GRU conditioning a diffusion model of each next step of all series",
        _MEAN_SCALING,
        True,
        "diffrnn.hybrid.timegrad.TimeGrad",
        _train_timegrad,
        _network_history,
        _sample_timegrad,
    ),
}
