"""The forecaster contract: how each forecasting model is built for a `ForecastProblem`, trained
and asked for sample paths, for the bench's forecasting units and the `Forecaster` alike.

    spec = MODELS["deepar"]
    fitted = spec.train(problem, Settings("quick", seed=0, budget_s=30.0, max_steps=None))
    paths = spec.sample(fitted, history, calendar, horizon, 100, seed=0)   # (S, H, N)

A network forecaster is one `network_spec` line: its class, and its recipe (the model's config
for the problem, a `TrainConfig` and a batch size: `diffrnn.bench.unit_training.Recipe`). A class
that implements `NetworkForecaster` (`training_data`, `loss`, `sample_paths`) needs nothing more:

    "segrnn": network_spec("segrnn", "rnn", "SegRNN: ...", "diffrnn.rnn.segrnn.SegRNN",
                           recipe="diffrnn.forecast_specs.segrnn_recipe", scaling="standard"),

and that line makes it a unit of every forecasting task that registers it
(`diffrnn.bench.units.forecasting.forecast_unit`, `direct_unit`), a `forecast-user` unit when it is
in `MODELS`, so `compare --data` backtests it, and a model `Forecaster(model=...)` trains. The
model file holds the class and its preset for a problem (`segrnn_forecaster(problem, size)`);
a recipe here adds only the training and batch size.

Every spec trains with the one training loop, `diffrnn.training.fit`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.utils.data import Dataset

    from diffrnn.bench.unit_training import Recipe
    from diffrnn.data.windows import ForecastProblem
    from diffrnn.diffusion.ts_forecaster import PredictName
    from diffrnn.rnn.cells import CellType
    from diffrnn.training import FitResult

RecipeSize = Literal["quick", "full"]
RECIPES: tuple[str, ...] = ("quick", "full")
ScalingName = Literal["none", "standard"]
SCALINGS: tuple[ScalingName, ...] = ("none", "standard")
ALIASES: dict[str, str] = {"gru": "deepar-gru"}
"""Old model names still accepted (`Forecaster(model="gru")`), each the model it now names:
`gru` meant DeepAR with a GRU cell here and on forecast-exchange, but the point forecaster on
forecast-etth1 (issue 18); it is `deepar-gru` now."""


class NetworkForecaster(Protocol):
    """What a network forecaster implements to be one line of `MODELS` (`network_spec`).

    `config.history_length` (if present; else the problem's context) is the rows of past a
    forecast reads. Built as `cls(recipe.model)` and saved with `save_pretrained`
    (`diffrnn.modeling.PretrainedMixin`).
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
        point forecast. The same generator state gives the same paths. Keyword arguments of
        the spec's `sampling` (a sampler, its steps) may follow."""
        ...


Trainer = Callable[["nn.Module", Any, "Recipe"], "FitResult"]
"""(network, dataset, recipe) -> `fit`'s result: how a network is trained (a `Forecaster` with its
budget and step cap, a unit with its checkpoints)."""


@dataclass(frozen=True)
class Fitted:
    """A trained model: its network (None for a floor), a floor's parameters, its costs."""

    network: nn.Module | None
    params: dict[str, np.ndarray]
    recipe: RecipeSize
    result: FitResult | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One forecasting model, as the units and the Forecaster use it.

    Attributes:
        name, family, description: as registered on the tasks.
        scaling: how values are scaled before the model sees them (saved as JSON).
        uses_calendar: the model reads calendar features of the timestamps.
        network_class: the class of its trained network (None: a floor without one).
        network: how `network_spec` builds, trains and samples it (None: a floor).
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

    recipe: RecipeSize
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


def _fit(model: nn.Module, dataset: Any, recipe: Recipe, settings: Settings) -> FitResult:
    """The one training loop (`diffrnn.training.fit`) with the settings' budget, seed and cap."""
    import torch

    from diffrnn.bench.unit_training import seeded_loader
    from diffrnn.training import fit
    from diffrnn.training.overrides import TrainOverrides

    torch.manual_seed(settings.seed)
    config = replace(recipe.train, budget_s=settings.budget_s, seed=settings.seed)
    if settings.max_steps is not None:  # steps instead of seconds, as `diffrnn train` does
        config = TrainOverrides(max_steps=settings.max_steps).apply(config)
    loader = seeded_loader(dataset, recipe.batch_size, settings.seed)
    return fit(model, loader, None, config)


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
    """A network forecaster as `MODELS` uses it: its class, its recipe and its scaling.

    Attributes:
        network_class: dotted path of the class.
        recipe: dotted path of `recipe(problem, size[, cell=...]) -> Recipe`.
        scaling: "standard": each series standardised by its training rows' mean and standard
            deviation (kept in `Fitted.params`, undone on the paths); "none": the model scales.
        cell: the recurrent cell handed to the recipe (None: the recipe's own).
        sampling: by suite or recipe size, keyword arguments of `sample_paths` (a sampler, its
            steps); a size without an entry uses the defaults.
    """

    network_class: str
    recipe: str
    scaling: ScalingName = "none"
    cell: CellType | None = None
    sampling: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {self.scaling!r}")
        for path in (self.network_class, self.recipe):
            if not path.startswith("diffrnn."):
                raise ValueError(f"a network spec names objects inside diffrnn, got {path!r}")

    def build(self, problem: ForecastProblem, size: RecipeSize) -> Recipe:
        """The recipe of this network for `problem` at `size` (with the spec's cell)."""
        options = {} if self.cell is None else {"cell": self.cell}
        return _resolve(self.recipe)(problem, size, **options)

    def network(self, recipe: Recipe) -> nn.Module:
        """A new network of the recipe's config (weights from torch's global generator)."""
        return _resolve(self.network_class)(recipe.model)

    def dataset(self, network: nn.Module, problem: ForecastProblem) -> Dataset:
        """The network's training items of `problem.train` (`NetworkForecaster.training_data`)."""
        return network.training_data(problem)  # type: ignore[operator]

    def fit(
        self,
        problem: ForecastProblem,
        size: RecipeSize,
        seed: int,
        trainer: Trainer,
        recipe: Recipe | None = None,
    ) -> Fitted:
        """Build the network for `problem` (weights from `seed`) and train it on its rows.

        Args:
            recipe: instead of `build(problem, size)` (e.g. a benchmark's other sizes).
        """
        import torch

        params: dict[str, np.ndarray] = {}
        if self.scaling == "standard":
            train = problem.train  # (T, N)
            params = {"mean": train.mean(axis=0), "std": _positive_std(train)}
            scaled = (problem.values - params["mean"]) / params["std"]
            problem = replace(problem, values=scaled)
        recipe = self.build(problem, size) if recipe is None else recipe
        torch.manual_seed(seed)
        network = self.network(recipe)
        result = trainer(network, self.dataset(network, problem), recipe)
        return Fitted(result.model, params, size, result)

    def paths(
        self,
        fitted: Fitted,
        history: np.ndarray,
        calendar: np.ndarray | None,
        num_samples: int,
        seed: int,
        sampling: Mapping[str, Any] | None = None,
    ) -> np.ndarray:
        """Paths in the data's units: history (B, L, N), calendar (B, C + H, F) or None ->
        (B, S, H, N), S = 1 for a point forecast.

        Args:
            sampling: keyword arguments of `sample_paths` (default: `sampling[fitted.recipe]`).
        """
        import torch

        network = fitted.network
        assert network is not None
        if sampling is None:
            sampling = self.sampling.get(fitted.recipe, {})
        mean, std = fitted.params.get("mean", 0.0), fitted.params.get("std", 1.0)
        past = torch.as_tensor((history - mean) / std, dtype=torch.float32)  # (B, L, N)
        feats = None if calendar is None else torch.as_tensor(calendar, dtype=torch.float32)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            paths = network.sample_paths(  # type: ignore[operator]
                past, feats, num_samples, generator, **sampling
            )  # (B, S, H, N)
        return paths.double().numpy() * std + mean


def _train_network(network: NetworkSpec, problem: ForecastProblem, settings: Settings) -> Fitted:
    trainer = partial(_fit, settings=settings)
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


_MEAN_SCALING = (
    "per window and series, inside the model: when the recipe predicts increments, the steps "
    "(y_t - y_{t-1}) / s, s the root mean square of the context's steps (DeepAR's default) or "
    "the training differences' std (TimeGrad on forecast-exchange); else y / mean |y| over "
    "the context (levels, as in DeepAR's and TimeGrad's papers)"
)
_STANDARD_SCALING = (
    "per window and series, inside the model: standardised by the context's mean and standard "
    "deviation, or, when the recipe predicts increments (forecast-exchange's), the steps "
    "(y_t - y_{t-1}) / s, s the root mean square of the context's steps"
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
    recipe: str,
    scaling: ScalingName = "none",
    uses_calendar: bool = False,
    *,
    scaling_text: str | None = None,
    **network: Any,
) -> ModelSpec:
    """The spec of a network forecaster: one line of `MODELS`.

    Args:
        name, family, description: as registered on the tasks.
        network_class: dotted path of its class, e.g. "diffrnn.rnn.segrnn.SegRNN".
        recipe: dotted path of `recipe(problem, size) -> Recipe`.
        scaling: "standard" (per series on the training rows, outside the model) or "none".
        uses_calendar: `sample_paths` reads calendar features of the context and horizon.
        scaling_text: how the model scales, where `scaling` is "none" (for the saved config).
        **network: `NetworkSpec`'s other fields (cell, sampling).
    """
    spec = NetworkSpec(network_class, recipe, scaling, **network)
    return ModelSpec(
        name=name,
        family=family,
        description=description,
        scaling=scaling_text or _SCALING_TEXT[scaling],
        uses_calendar=uses_calendar,
        network_class=network_class,
        train=partial(_train_network, spec),
        history=_network_history,
        sample=partial(_sample_network, spec),
        network=spec,
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


# ---------------------------------------------------------------------------------------------
# Recipes: each network's preset for a problem (from its model file), its training and batch
# size, set once


def deepar_recipe(problem: ForecastProblem, size: RecipeSize, cell: CellType = "lstm") -> Recipe:
    """DeepAR (`deepar_forecaster`) with a gradient clip of 10, batches of 32; quick: 150 steps
    at 3e-3; full: 2000 steps, cosine from 1e-3, EMA 0.995."""
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.rnn.deepar import deepar_forecaster
    from diffrnn.training import OptimConfig, TrainConfig

    quick = size == "quick"
    steps = 150 if quick else 2000
    optim = OptimConfig(
        lr=3e-3 if quick else 1e-3, schedule="constant" if quick else "cosine", total_steps=steps
    )
    train = TrainConfig(
        max_steps=steps, grad_clip=10.0, ema_decay=None if quick else 0.995, optim=optim
    )
    return Recipe(deepar_forecaster(problem, size, cell), train, batch_size=32)


def point_recipe(problem: ForecastProblem, size: RecipeSize, cell: CellType = "gru") -> Recipe:
    """The direct RNN point forecaster (`point_forecaster_for`) with AdamW at a constant rate:
    quick: 60 steps of 16 at 3e-3; full: 3000 steps of 32 at 1e-3."""
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.rnn.point_forecaster import point_forecaster_for
    from diffrnn.training import OptimConfig, TrainConfig

    quick = size == "quick"
    train = TrainConfig(
        max_steps=60 if quick else 3000, optim=OptimConfig(lr=3e-3 if quick else 1e-3)
    )
    return Recipe(point_forecaster_for(problem, size, cell), train, batch_size=16 if quick else 32)


def segrnn_recipe(problem: ForecastProblem, size: RecipeSize) -> Recipe:
    """SegRNN (`segrnn_forecaster`) with AdamW at a constant rate: quick: 60 steps of 16 at
    3e-3; full: 20,000 steps of 64 at 1e-3."""
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.rnn.segrnn import segrnn_forecaster
    from diffrnn.training import OptimConfig, TrainConfig

    quick = size == "quick"
    train = TrainConfig(
        max_steps=60 if quick else 20_000, optim=OptimConfig(lr=3e-3 if quick else 1e-3)
    )
    return Recipe(segrnn_forecaster(problem, size), train, batch_size=16 if quick else 64)


def diffusion_recipe(
    problem: ForecastProblem, size: RecipeSize, predict: PredictName = "level"
) -> Recipe:
    """The conditional diffusion forecaster (`diffusion_forecaster`) in batches of 64, 100
    warm-up steps; quick: 400 steps at 3e-3; full: 20,000 steps at 1e-3, EMA 0.995."""
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.diffusion.ts_forecaster import diffusion_forecaster
    from diffrnn.training import OptimConfig, TrainConfig

    quick = size == "quick"
    train = TrainConfig(
        max_steps=400 if quick else 20_000,
        ema_decay=None if quick else 0.995,
        optim=OptimConfig(lr=3e-3 if quick else 1e-3, warmup_steps=100),
    )
    return Recipe(diffusion_forecaster(problem, size, predict), train, batch_size=64)


def diffusion_increment_recipe(problem: ForecastProblem, size: RecipeSize) -> Recipe:
    """`diffusion_recipe` denoising the future's scaled daily moves (`predict="increment"`):
    forecast-exchange's, where the level recipe lost to a random walk (BENCHMARKS.md, issue
    16: CRPS-sum 0.0069 on levels, 0.0046 on increments at 90 CPU s, 3 seeds)."""
    return diffusion_recipe(problem, size, predict="increment")


def timegrad_recipe(problem: ForecastProblem, size: RecipeSize, cell: CellType = "gru") -> Recipe:
    """TimeGrad (`timegrad_forecaster`) with a gradient clip of 10; full: pytorch-ts's run, 2000
    steps of 64 at 1e-3; quick: 150 steps of 32 at 3e-3."""
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.hybrid.timegrad import timegrad_forecaster
    from diffrnn.training import OptimConfig, TrainConfig

    quick = size == "quick"
    train = TrainConfig(
        max_steps=150 if quick else 2000,
        grad_clip=10.0,
        optim=OptimConfig(lr=3e-3 if quick else 1e-3),
    )
    return Recipe(timegrad_forecaster(problem, size, cell), train, batch_size=32 if quick else 64)


def timegrad_increment_recipe(
    problem: ForecastProblem, size: RecipeSize, cell: CellType = "gru"
) -> Recipe:
    """`timegrad_recipe` diffusing the daily moves scaled by the training rows' step std
    (`predict="increment"`, `step_scale=training_step_scale(problem.train)`), the untrained
    model the random-walk floor (`white_noise_skip`); full: AdamW at 1e-4 (not 1e-3), decayed
    over the budget (`budget_cosine`), weights averaged (EMA 0.995). forecast-exchange's: at
    1e-3 the forecast's quality jumps from one optimiser step to the next and drifts off the
    walk (BENCHMARKS.md, issue 16: CRPS-sum 0.0050 at 90 CPU s over 3 seeds, the paper's levels
    0.0065, the random walk 0.0045)."""
    from diffrnn.hybrid.timegrad import training_step_scale

    base = timegrad_recipe(problem, size, cell)
    model = replace(
        base.model,
        predict="increment",
        white_noise_skip=True,
        step_scale=training_step_scale(problem.train),
    )
    if size == "quick":
        return replace(base, model=model)
    optim = replace(base.train.optim, lr=1e-4, schedule="budget_cosine")
    return replace(base, model=model, train=replace(base.train, ema_decay=0.995, optim=optim))


TIMEGRAD_SAMPLING: dict[str, dict[str, Any]] = {
    "quick": {"sampler": "dpmsolver++", "steps": 5},
    "full": {"sampler": "ddpm", "steps": None},  # the paper's: every one of the 100 steps
    "reference": {"sampler": "dpmsolver++", "steps": 10},
}
"""TimeGrad's sampler by suite. The reference suite's DPM-Solver++ at 10 steps matched the paper's
100-step DDPM on the full recipe (CRPS-sum 0.0070 vs 0.0070 over 3 seeds, BENCHMARKS.md) at 1/8
of its 27.5 CPU s."""


# ---------------------------------------------------------------------------------------------
# The specs

_HERE = "diffrnn.forecast_specs"


def _deepar(name: str, cell: CellType, description: str) -> ModelSpec:
    return network_spec(
        name,
        "rnn",
        description,
        "diffrnn.rnn.deepar.DeepAR",
        f"{_HERE}.deepar_recipe",
        uses_calendar=True,
        scaling_text=_MEAN_SCALING,
        cell=cell,
    )


def _point(cell: CellType) -> ModelSpec:
    return network_spec(
        f"point-{cell}",
        "rnn",
        f"direct multi-horizon {cell} point forecaster: the cell reads the context, a linear "
        "head emits the horizon",
        "diffrnn.rnn.point_forecaster.PointForecaster",
        f"{_HERE}.point_recipe",
        scaling="standard",
        cell=cell,
    )


SPECS: dict[str, ModelSpec] = {
    "deepar": _deepar(
        "deepar", "lstm", "DeepAR: an LSTM over lags and calendar features, Student-t paths"
    ),
    "deepar-gru": _deepar("deepar-gru", "gru", "DeepAR with a GRU cell"),
    "deepar-mingru": _deepar("deepar-mingru", "mingru", "DeepAR with a minGRU cell"),
    "deepar-minlstm": _deepar("deepar-minlstm", "minlstm", "DeepAR with a minLSTM cell"),
    "point-lstm": _point("lstm"),
    "point-gru": _point("gru"),
    "point-mingru": _point("mingru"),
    "diffusion-forecaster": network_spec(
        "diffusion-forecaster",
        "diffusion",
        "conditional diffusion over the horizon given the context (DPM-Solver++)",
        "diffrnn.diffusion.ts_forecaster.DiffusionForecaster",
        f"{_HERE}.diffusion_recipe",
        scaling_text=_STANDARD_SCALING,
    ),
    "segrnn": network_spec(
        "segrnn",
        "rnn",
        "SegRNN: a GRU over segments of the context, the horizon's segments decoded in parallel "
        "(a point forecast)",
        "diffrnn.rnn.segrnn.SegRNN",
        f"{_HERE}.segrnn_recipe",
        scaling="standard",
    ),
    "timegrad": network_spec(
        "timegrad",
        "hybrid",
        "TimeGrad: a GRU conditioning a diffusion model of each next step of all series",
        "diffrnn.hybrid.timegrad.TimeGrad",
        f"{_HERE}.timegrad_recipe",
        uses_calendar=True,
        scaling_text=_MEAN_SCALING,
        sampling=TIMEGRAD_SAMPLING,
    ),
}
"""Every network forecaster of the forecasting tasks, by name."""

MODELS: dict[str, ModelSpec] = {
    "last-value": _floor_spec("last-value", "the last observed value repeated (a point forecast)"),
    "seasonal-naive": _floor_spec(
        "seasonal-naive", "the last season, by the data's frequency, repeated (a point forecast)"
    ),
    "random-walk": _floor_spec("random-walk", "a Gaussian random walk per series"),
    "linear-ar": _floor_spec("linear-ar", "least-squares AR(<= 7) per series, Gaussian residuals"),
    **{
        name: SPECS[name]
        for name in ("deepar", "deepar-gru", "diffusion-forecaster", "segrnn", "timegrad")
    },
}
"""The models a `Forecaster` trains and `forecast-user` backtests: the floors and the networks
that model a user's series (the point forecaster is SegRNN's weaker sibling, and DeepAR's
minimal cells are on forecast-exchange only)."""
