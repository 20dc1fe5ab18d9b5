"""Tasks and the models registered on them: the public names of the comparison harness.

A *unit* is one (task, model, seed). Each model area writes its units in a module of
`diffrnn.bench.units` (discovered automatically) as plain functions:

    @register_unit("forecast-exchange", "deepar", family="rnn")
    def deepar_exchange(ctx: UnitContext) -> UnitOutput:
        ...train within ctx.budget_s, evaluate on the task's protocol...
        return UnitOutput(metrics={"crps": ..., "crps_sum": ...}, params=..., ...)

Task and model names are a public contract (scripts and users depend on them): do not rename.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from diffrnn.errors import ConfigError

logger = logging.getLogger(__name__)

T = TypeVar("T")

Family = Literal["baseline", "rnn", "diffusion", "hybrid", "reference"]
FAMILIES: tuple[Family, ...] = ("baseline", "rnn", "diffusion", "hybrid")
"""The families the comparison table sets against each other."""
ALL_FAMILIES: tuple[Family, ...] = (*FAMILIES, "reference")
"""Plus `reference`: real data through the task's pipeline (a ceiling, not a floor), shown in the
per-task tables but never counted as a competing family."""
SuiteName = Literal["quick", "full", "reference"]
RecipeSize = Literal["quick", "full"]
"""The model and evaluation sizes a unit builds: tiny ("quick") or the issues' ("full")."""


@dataclass(frozen=True)
class UnitContext:
    """What a unit is given.

    Attributes:
        seed: seeds the initial weights, the data order and the sampling noise.
        budget_s: training budget in seconds (the suite's, or `--budget`): process CPU seconds
            on a CPU, wall seconds on an accelerator (`bench.unit_training.train_for_unit`).
        suite: "quick" (tiny models, small evaluation), "full" (the issues' target budgets) or
            "reference" (the committed evidence run: full-size recipes unless a unit names a
            middle size for it).
        out_dir: a directory of its own where the unit may write artefacts (PNG, WAV, CSV).
        threads: torch intra-op threads the unit may use (the worker sets them).
        options: free-form extras (e.g. the user's data path and horizon for `--data`).
        checkpoint_dir: where training checkpoints go (pass to `fit`), so a killed unit resumes.
        resume: continue from `checkpoint_dir` if a checkpoint is there.
    """

    seed: int
    budget_s: float
    suite: SuiteName
    out_dir: Path
    threads: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    checkpoint_dir: Path | None = None
    resume: bool = False

    @property
    def recipe(self) -> RecipeSize:
        """The sizes to build: "quick" in the quick suite, "full" in the full and reference
        suites (which differ in budgets, seeds and ladders only)."""
        return "quick" if self.suite == "quick" else "full"

    def preset(self, presets: Mapping[str, T]) -> T:
        """This suite's entry of `presets` (keyed by suite name): its own when it has one (a
        middle size for the reference suite), else that of its recipe size."""
        return presets[self.suite] if self.suite in presets else presets[self.recipe]

    def checkpoint_subdir(self, name: str) -> Path | None:
        """Checkpoints of one of several trainings in a unit (one per length, fold, ...)."""
        return None if self.checkpoint_dir is None else self.checkpoint_dir / name


@dataclass
class UnitOutput:
    """What a unit measured. Metric keys follow the public list (crps, crps_sum, mse, ...).

    Long-range tasks (long-adding, long-copy) report one value per sequence length T, keyed by
    T as a string: `metrics={"mse": {"50": 0.002, "200": 0.16}, "passed": {"50": True, "200":
    False}}`, and the gradient diagnostic as curves named `grad_norm_vs_lag` (or
    `grad_norm_vs_lag_T<T>`), one value per lag 0, 1, 2, ...

    Attributes:
        metrics: metric name -> value (floats; `passed` is a bool; per-T results nested as above).
        params: trainable parameters (0 for baselines without any).
        train_seconds, train_cpu_seconds: wall and process-CPU seconds spent training.
        steps: optimiser steps trained (summed over a unit's trainings; None: nothing trained).
        stopped_by: what ended training: "budget", "step_cap", "epochs", or "mixed" when a
            unit's several trainings ended differently (None: nothing trained).
        infer_seconds_per_sample: wall seconds per generated sample / forecast / sequence.
        throughput: samples (or tokens, see `throughput_unit`) per second at inference.
        sampler_steps: denoising steps used at inference (diffusion models).
        curves: named series for plots: y values at x = 0, 1, 2, ..., or {"x": [...], "y":
            [...]} ("train_loss" and "val_loss" are drawn as training curves; any other name,
            e.g. "grad_norm_vs_lag" or "crps_sum_vs_steps", gets a plot of its own with every
            model of the task overlaid, axes named after "<y>_vs_<x>").
        artefacts: name -> path relative to the unit's out_dir (sample grids, fan charts, WAV).
        notes: short plain-text remarks that belong in the report.
    """

    metrics: dict[str, Any]
    params: int = 0
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    steps: int | None = None
    stopped_by: str | None = None
    infer_seconds_per_sample: float | None = None
    throughput: float | None = None
    throughput_unit: str = "samples/s"
    sampler_steps: int | None = None
    curves: dict[str, list[float] | dict[str, list[float]]] = field(default_factory=dict)
    artefacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


UnitFn = Callable[[UnitContext], UnitOutput]


@dataclass(frozen=True)
class ModelEntry:
    """A model registered on a task."""

    name: str
    family: Family
    run: UnitFn
    description: str = ""


@dataclass(frozen=True)
class Anchor:
    """A published or peer-measured number shown beside ours in the report."""

    model: str
    metric: str
    value: float | str
    source: str


@dataclass
class Task:
    """A task: a dataset, a protocol and the metrics it reports.

    Attributes:
        name: public name (e.g. "forecast-exchange").
        dataset: registry name of the dataset it uses.
        description: one line on the protocol.
        metrics: metric keys every unit of this task reports.
        primary_metric: the metric the verdicts rank by.
        lower_is_better: direction of `primary_metric`.
        anchors: published / peer numbers on the same protocol.
        needs_user_data: built from the user's file (`compare --data`); no suite runs it otherwise.
        models: model name -> entry, filled by `register_unit`.
        aliases: old model name -> the model it now names (`register_alias`; deprecated names
            still accepted by `get_model` and `--models`).
    """

    name: str
    dataset: str
    description: str
    metrics: tuple[str, ...]
    primary_metric: str
    lower_is_better: bool = True
    anchors: tuple[Anchor, ...] = ()
    needs_user_data: bool = False
    models: dict[str, ModelEntry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        """The model `name` names on this task: itself, or what an old name now means (with a
        logged deprecation warning)."""
        if name in self.models or name not in self.aliases:
            return name
        logger.warning(
            "model %r on %s is now %r; the old name is deprecated.",
            name,
            self.name,
            self.aliases[name],
        )
        return self.aliases[name]


TASKS: dict[str, Task] = {}


def define_task(task: Task) -> Task:
    """Add a task to the registry (names are unique)."""
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is defined twice")
    TASKS[task.name] = task
    return task


def register_unit(
    task: str, model: str, family: Family, description: str = ""
) -> Callable[[UnitFn], UnitFn]:
    """Decorator registering `fn(ctx) -> UnitOutput` as model `model` on task `task`."""
    if family not in ALL_FAMILIES:
        raise ValueError(f"family must be one of {ALL_FAMILIES}, got {family!r}")

    def decorate(fn: UnitFn) -> UnitFn:
        importlib.import_module("diffrnn.bench.tasks")  # a units module may be imported alone
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; define it in diffrnn.bench.tasks first")
        if model in TASKS[task].models:
            raise ValueError(f"model {model!r} is registered twice on task {task!r}")
        TASKS[task].models[model] = ModelEntry(model, family, fn, description or (fn.__doc__ or ""))
        return fn

    return decorate


def register_alias(task: str, old: str, new: str) -> None:
    """Accept `old` as a deprecated name of `new` (registered already) on `task`."""
    if new not in TASKS[task].models or old in TASKS[task].models:
        raise ValueError(f"alias {old!r} -> {new!r} on {task!r}: {new!r} must exist, {old!r} not")
    TASKS[task].aliases[old] = new


_LOADED = False
UNIT_IMPORT_ERRORS: dict[str, str] = {}
"""Units module -> the error that stopped its import (its models are then missing, and say so)."""


def unit_modules() -> list[str]:
    """The importable names of every module of `diffrnn.bench.units`."""
    import diffrnn.bench.units as units

    infos = sorted(pkgutil.iter_modules(units.__path__), key=lambda i: i.name)
    return [f"{units.__name__}.{info.name}" for info in infos]


def load_registry() -> dict[str, Task]:
    """Import the task definitions and every module of `diffrnn.bench.units` (once).

    A units module that fails to import does not take the others down: its error is kept in
    `UNIT_IMPORT_ERRORS` (the CLI and the report show it) and its models are absent.
    """
    global _LOADED
    if not _LOADED:
        importlib.import_module("diffrnn.bench.tasks")
        for name in unit_modules():
            try:
                importlib.import_module(name)
            except Exception as exc:
                logger.warning("units module %s failed to import: %r", name, exc)
                UNIT_IMPORT_ERRORS[name] = f"{type(exc).__name__}: {exc}"
        _LOADED = True
    return TASKS


def get_task(name: str) -> Task:
    """The task called `name`, or a ConfigError listing the known ones."""
    tasks = load_registry()
    if name not in tasks:
        raise ConfigError(f"unknown task {name!r}.", f"choose one of: {', '.join(sorted(tasks))}.")
    return tasks[name]


def get_model(task: str, name: str) -> ModelEntry:
    """The model `name` registered on `task`, or a ConfigError listing the known ones."""
    entry = get_task(task).models.get(get_task(task).resolve(name))
    if entry is None:
        known = ", ".join(sorted(get_task(task).models)) or "(none yet)"
        raise ConfigError(f"task {task!r} has no model {name!r}.", f"choose one of: {known}.")
    return entry
