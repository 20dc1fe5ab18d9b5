"""How a unit trains: its recipe, budget, seed, checkpoints and resume applied in one place.

    recipe = ctx.preset(speech_recipes(cell, 40))     # a Recipe: model config, TrainConfig, batch
    loader = seeded_loader(dataset, recipe.batch_size, ctx.seed)
    result = train_for_unit(SpeechRecogniser(recipe.model), loader, ctx, recipe.train)
    return fitted_output(result, {"mse": mse}, infer_seconds_per_sample=seconds)

`ctx.budget_s` becomes `TrainConfig.budget_s` with the "auto" clock: process CPU seconds on a CPU,
wall seconds on an accelerator (`diffrnn.training.budget`). A unit that trains several models
(one per length, noise level, speaker) gives each a `name` (its checkpoint folder) and a `share`
of the budget. A unit's own step cap still applies; the record then says `stopped_by="step_cap"`
beside the seconds used, so a report can tell a user that a `--budget` was not spent.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from diffrnn.bench.registry import UnitContext, UnitOutput

if TYPE_CHECKING:  # torch stays off the import path of the registry
    from torch.utils.data import DataLoader, Dataset

    from diffrnn.training import FitResult, TrainConfig

ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class Recipe(Generic[ConfigT]):
    """What a unit trains in one suite: every hyperparameter, each set once.

    A unit keeps one table of these per suite size, built by a function (model configs and
    `TrainConfig` import torch, which stays off the registry's import path) and chosen with
    `ctx.preset(table)`.

    Attributes:
        model: the model's config, from its file's named preset (`Model(recipe.model)`).
        train: steps, epochs, optimiser, EMA, validation; the unit's budget and seed replace
            its own (`train_for_unit`).
        batch_size: examples (or TBPTT streams) per optimiser step.
    """

    model: ConfigT
    train: TrainConfig
    batch_size: int


def seeded_loader(
    dataset: Dataset, batch_size: int, seed: int, shuffle: bool = True, **kwargs: Any
) -> DataLoader:
    """A `DataLoader` whose order is drawn from `seed` alone (the global generator untouched)."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, **kwargs
    )


def train_for_unit(
    model: Any,
    train_loader: Any,
    ctx: UnitContext,
    train: TrainConfig,
    val_loader: Any | None = None,
    name: str | None = None,
    share: float = 1.0,
) -> FitResult:
    """Train `model` for the unit: `train`'s recipe with the unit's budget, seed and checkpoints.

    Args:
        model: anything with `loss(batch)`, trained in place.
        train_loader, val_loader: batches for `model.loss` (see `diffrnn.training.fit`).
        ctx: the unit's context: `budget_s` (times `share`) becomes the training budget, `seed`
            the training seed, `checkpoint_dir` (or its `name` subfolder) and `resume` the
            checkpointing.
        train: the recipe (steps, epochs, optimiser, validation); its budget and seed are
            replaced by the unit's.
        name: the checkpoint subfolder of one of several trainings in a unit.
        share: the fraction of `ctx.budget_s` this training may spend (0 < share <= 1).

    Returns:
        `fit`'s result: the trained model, steps, seconds (over resumes) and `stopped_by`.
    """
    from diffrnn.training import fit

    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    config = dataclasses.replace(train, budget_s=ctx.budget_s * share, seed=ctx.seed)
    checkpoint_dir = ctx.checkpoint_dir if name is None else ctx.checkpoint_subdir(name)
    return fit(model, train_loader, val_loader, config, checkpoint_dir, ctx.resume)


def fitted_output(
    result: FitResult | Sequence[FitResult], metrics: dict[str, Any], **fields: Any
) -> UnitOutput:
    """The `UnitOutput` of a unit that trained: its costs filled in from `result`.

    Args:
        result: one training's result, or those of a unit's several trainings (seconds and
            steps are summed; params are the last model's; `stopped_by` is theirs when they
            agree, else "mixed").
        metrics: the unit's scores.
        **fields: any other `UnitOutput` field (curves, notes, infer_seconds_per_sample, ...);
            given ones replace the defaults. A single training's default curves are its
            training (and validation) losses; notes given come after the step-cap note.
    """
    from diffrnn.training import FitResult, count_parameters

    results = [result] if isinstance(result, FitResult) else list(result)
    if not results:
        raise ValueError("fitted_output needs at least one training result")
    stopped = {r.stopped_by for r in results}
    output = UnitOutput(
        metrics=metrics,
        params=count_parameters(results[-1].model),
        train_seconds=sum(r.train_seconds for r in results),
        train_cpu_seconds=sum(r.cpu_seconds for r in results),
        steps=sum(r.steps for r in results),
        stopped_by=stopped.pop() if len(stopped) == 1 else "mixed",
    )
    if len(results) == 1:
        output.curves["train_loss"] = list(results[0].train_losses)
        if results[0].val_losses:
            output.curves["val_loss"] = list(results[0].val_losses)
    if output.stopped_by == "step_cap":
        output.notes.append(
            f"stopped at its step cap: {output.steps} steps in {output.train_cpu_seconds:.1f} "
            f"CPU s ({output.train_seconds:.1f} s wall) of training"
        )
    notes = fields.pop("notes", [])
    for key, value in fields.items():
        if not hasattr(output, key):
            raise TypeError(f"UnitOutput has no field {key!r}")
        setattr(output, key, value)
    output.notes.extend(notes)
    return output


def snapshot_curves(
    model: Any,
    result: FitResult,
    scorers: dict[str, Callable[[Any], float]],
    final: dict[str, float],
    notes: list[str],
) -> dict[str, Any]:
    """Scores against training CPU seconds, for a learning curve from one run: each of
    `result.snapshots` (`TrainConfig.snapshot_s`) loaded into a copy of `model` and scored like
    the final model, then the final model's `final` scores; a note per point is appended to
    `notes`.

    Args:
        model: the trained model (its copies hold the snapshots' weights).
        result: `fit`'s result, with its snapshots and validation losses.
        scorers: metric name -> function of a model giving that metric.
        final: metric name -> the final model's value (already scored).
    Returns:
        curves `<name>_vs_cpu_s` per scorer and `held_out_loss_vs_cpu_s` (the selected weights'
        validation loss), each {"x": CPU seconds, "y": values}.
    """
    points = []  # (CPU s, wall s, step, held-out loss of the selected weights, scores)
    for snap in result.snapshots:
        scored = copy.deepcopy(model)
        scored.load_state_dict(snap.state)
        values = {name: score(scored) for name, score in scorers.items()}
        points.append((snap.cpu_seconds, snap.wall_seconds, snap.step, snap.best_val_loss, values))
    held = min(result.val_losses) if result.val_losses else None
    points.append((result.cpu_seconds, result.train_seconds, result.steps, held, final))
    for cpu_s, wall_s, step, held, values in points:
        shown = "none yet" if held is None else f"{held:.4f}"
        scores = ", ".join(f"{name} {value:.4f}" for name, value in values.items())
        notes.append(
            f"at {cpu_s:.0f} CPU s ({wall_s:.0f} s wall, step {step}): {scores}, held-out loss "
            f"of the selected weights {shown}"
        )
    curves: dict[str, Any] = {
        f"{name}_vs_cpu_s": {"x": [p[0] for p in points], "y": [p[4][name] for p in points]}
        for name in scorers
    }
    held_points = [p for p in points if p[3] is not None]
    curves["held_out_loss_vs_cpu_s"] = {
        "x": [p[0] for p in held_points],
        "y": [p[3] for p in held_points],
    }
    return curves
