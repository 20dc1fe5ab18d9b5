"""Trainer factory and `fit`: the one training loop of the project, through Lightning.

    result = fit(model, train_loader, val_loader, TrainConfig(max_steps=500, budget_s=60))

Budgets are in optimiser steps and/or seconds (whichever ends first), so the harness can give
every model the same compute. Seconds are process CPU seconds on a CPU and wall seconds on an
accelerator (`budget.ComputeBudget`), so a budget means the same on a busy and a quiet machine.
Checkpoints (Lightning's, loaded with `weights_only=True`) make a killed run resumable; a resumed
run spends the remainder of its budget.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn

from diffrnn.errors import ConfigError
from diffrnn.training.budget import BudgetClock, ComputeBudget, check_budget_clock
from diffrnn.training.module import LitModel, OptimConfig, SchedulerName
from diffrnn.training.overrides import apply_current_overrides
from diffrnn.training.resume import (
    DurableCheckpointIO,
    EpochSampler,
    ResumeState,
    resumable_loader,
    seekable_stream,
)

LAST_CHECKPOINT = "last.ckpt"


@dataclass(frozen=True)
class TrainConfig:
    """How long and how to train.

    Args:
        max_steps: optimiser steps (-1: no step limit; then a time budget or `max_epochs` ends
            it).
        budget_s: training budget in seconds of `budget_clock` (None: no limit).
        budget_clock: "cpu" (process CPU seconds, all threads), "wall", or "auto": cpu on a CPU
            accelerator, wall on any other.
        max_time_s: a wall-clock limit in seconds, whatever the accelerator (None: no limit).
        max_epochs: passes over the training loader (-1: unlimited).
        grad_clip: gradient-norm clipping (None: off).
        seed: seeds Python, NumPy and torch before the model's data order is drawn.
        val_every_n_steps: validate every this many steps (None: once per epoch when a
            validation loader is given).
        ema_decay: keep an EMA of the weights with this decay (None: off).
        keep_best: return the weights of the validation with the lowest loss (early-stopping
            model selection; needs a validation loader), not the last ones.
        validate_at_end: validate once more after the last step (outside the budget), so under
            `keep_best` the last weights compete too (they would otherwise only if the last
            step fell on a validation).
        snapshot_s: seconds of the budget's clock at which to keep a copy of the weights `fit`
            would return if training stopped there (the best validated so far under
            `keep_best`), for a learning curve from one run (`FitResult.snapshots`). Taken at
            the first batch end (or validation) past each mark; the last `FitResult.model` is
            the budget's end. Kept in checkpoints, so a resumed run still returns them.
        checkpoint_every_n_steps: write `last.ckpt` this often when `checkpoint_dir` is set.
        devices, strategy, accelerator, num_nodes: passed to `lightning.Trainer`
            (e.g. devices=2, strategy="ddp" on CPU uses gloo).
        progress_bar: show Lightning's progress bar.
        deterministic: `torch.use_deterministic_algorithms` for repeatable runs.
        optim: optimiser settings.
    """

    max_steps: int = 1000
    budget_s: float | None = None
    budget_clock: BudgetClock = "auto"
    max_time_s: float | None = None
    max_epochs: int = -1
    grad_clip: float | None = 1.0
    seed: int = 0
    val_every_n_steps: int | None = None
    ema_decay: float | None = None
    keep_best: bool = False
    validate_at_end: bool = False
    snapshot_s: tuple[float, ...] = ()
    checkpoint_every_n_steps: int = 100
    devices: int | str = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    num_nodes: int = 1
    progress_bar: bool = False
    deterministic: bool = True
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        check_budget_clock(self.budget_clock)
        for name in ("budget_s", "max_time_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive seconds or None, got {value}")
        marks = list(self.snapshot_s)
        if any(not mark > 0 for mark in marks) or marks != sorted(set(marks)):
            raise ValueError(f"snapshot_s must be increasing positive seconds, got {marks}")


def budgeted(
    lr: float,
    warmup_steps: int = 0,
    *,
    schedule: SchedulerName = "constant",
    weight_decay: float = 0.0,
    **fields: Any,
) -> TrainConfig:
    """A `TrainConfig` with no step cap (a time budget or `max_epochs` ends it): AdamW at peak
    `lr` after `warmup_steps` of linear warm-up, then `schedule` ("budget_cosine": decay to the
    budget's end), with decoupled `weight_decay`; `fields` set any other `TrainConfig` field."""
    optim = OptimConfig(
        lr=lr, warmup_steps=warmup_steps, schedule=schedule, weight_decay=weight_decay
    )
    return TrainConfig(max_steps=-1, optim=optim, **fields)


StoppedBy = Literal["budget", "step_cap", "epochs"]


@dataclass
class FitResult:
    """What a training run cost and how its losses went.

    Attributes:
        model: the trained model (the EMA copy when `ema_decay` was set), in eval mode.
        steps: optimiser steps taken (over every run a resumed run continues).
        train_seconds: wall-clock seconds of training, over every run it continues.
        cpu_seconds: process CPU seconds (all threads) of training, over every run it continues.
        stopped_by: what ended training: "budget" (a time limit), "step_cap" (`max_steps`) or
            "epochs" (`max_epochs`, or the loader ran out).
        train_losses: the training loss at every step of this process.
        val_losses: the validation loss at each validation.
        best_step: with `keep_best`, the step whose weights `model` holds (None otherwise).
        snapshots: the weights kept at `TrainConfig.snapshot_s` marks the run reached.
    """

    model: nn.Module
    steps: int
    train_seconds: float
    cpu_seconds: float
    train_losses: list[float]
    val_losses: list[float]
    stopped_by: StoppedBy = "epochs"
    best_step: int | None = None
    snapshots: list[Snapshot] = field(default_factory=list)


@dataclass
class Snapshot:
    """The weights `fit` would have returned had training stopped at a `snapshot_s` mark.

    Attributes:
        mark_s: the mark (seconds of the budget's clock).
        cpu_seconds, wall_seconds: training seconds spent when it was taken.
        step: optimiser steps taken then.
        best_step, best_val_loss: under `keep_best`, the validation whose weights these are
            (None without one yet, then `state` holds the current weights).
        state: a CPU copy of the evaluated model's state dict.
    """

    mark_s: float
    cpu_seconds: float
    wall_seconds: float
    step: int
    best_step: int | None
    best_val_loss: float | None
    state: dict[str, torch.Tensor]


class Snapshots(L.Callback):
    """Keeps a `Snapshot` at each of `marks_s` (seconds of the `ComputeBudget`'s clock)."""

    def __init__(self, marks_s: tuple[float, ...]) -> None:
        self.pending = list(marks_s)
        self.taken: list[Snapshot] = []

    def _take(self, trainer: L.Trainer, lit: LitModel) -> None:
        budget = next(c for c in trainer.callbacks if isinstance(c, ComputeBudget))
        spent = budget.cpu_seconds if budget.clock == "cpu" else budget.wall_seconds
        while self.pending and spent >= self.pending[0]:
            best = lit.best
            state = best.state if best is not None else lit.model_for_eval().state_dict()
            self.taken.append(
                Snapshot(
                    mark_s=self.pending.pop(0),
                    cpu_seconds=budget.cpu_seconds,
                    wall_seconds=budget.wall_seconds,
                    step=int(trainer.global_step),
                    best_step=None if best is None else best.step,
                    best_val_loss=None if best is None else best.loss,
                    state={k: v.detach().to("cpu", copy=True) for k, v in state.items()},
                )
            )

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        self._take(trainer, pl_module)  # type: ignore[arg-type]

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take(trainer, pl_module)  # type: ignore[arg-type]

    def state_dict(self) -> dict[str, Any]:
        return {"pending": list(self.pending), "taken": [vars(s) for s in self.taken]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.pending = [float(mark) for mark in state_dict.get("pending", self.pending)]
        self.taken = [Snapshot(**taken) for taken in state_dict.get("taken", [])]


class SaveAtStop(L.Callback):
    """Writes `last.ckpt` at the batch where training stops (step cap or time budget).

    Saved there, Lightning's loop still stands in the middle of its epoch, as in a periodic
    checkpoint; one written after `trainer.fit` returns has closed the epoch, so a run resumed
    from it with a larger step cap would skip the rest of that epoch's batches.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.saved_step: int | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if trainer.should_stop or 0 <= trainer.max_steps <= trainer.global_step:
            trainer.save_checkpoint(self.path)
            self.saved_step = trainer.global_step


def make_trainer(config: TrainConfig, checkpoint_dir: str | Path | None = None) -> L.Trainer:
    """A quiet `lightning.Trainer` with the budgets and checkpointing of `config`."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*number of training batches.*smaller than the logging.*")
    warnings.filterwarnings("ignore", ".*`validation_step` but have no `val_dataloader`.*")
    warnings.filterwarnings("ignore", ".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*")
    callbacks: list[L.Callback] = [
        ResumeState(),
        ComputeBudget(config.budget_s, config.budget_clock, config.max_time_s),
    ]
    if config.snapshot_s:
        callbacks.append(Snapshots(config.snapshot_s))
    if checkpoint_dir is not None:
        callbacks.append(
            ModelCheckpoint(
                dirpath=str(checkpoint_dir),
                save_last=True,
                save_top_k=0,
                every_n_train_steps=config.checkpoint_every_n_steps,
            )
        )
        callbacks.append(SaveAtStop(Path(checkpoint_dir) / LAST_CHECKPOINT))  # after the budget
    return L.Trainer(
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        max_steps=config.max_steps,
        max_epochs=config.max_epochs,
        gradient_clip_val=config.grad_clip,
        val_check_interval=config.val_every_n_steps,
        check_val_every_n_epoch=None if config.val_every_n_steps else 1,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=checkpoint_dir is not None,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        deterministic=config.deterministic,
        callbacks=callbacks,
        plugins=[DurableCheckpointIO()],
        default_root_dir=str(checkpoint_dir) if checkpoint_dir is not None else None,
    )


def check_trainer_settings(config: TrainConfig) -> None:
    """Raise a ConfigError now if Lightning refuses `config`'s devices / strategy / nodes."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        make_trainer(config)
    except (MisconfigurationException, ValueError) as exc:
        raise ConfigError(
            f"the trainer settings were refused: {exc}",
            "check --devices, --strategy and --num-nodes (e.g. --devices 2 --strategy ddp).",
        ) from None


def fit(
    model: nn.Module,
    train_loader: Any,
    val_loader: Any | None = None,
    config: TrainConfig | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Train `model` (anything with `loss(batch)`) and return it with its costs.

    Args:
        model: the model to train, in place.
        train_loader: an iterable of batches (a `DataLoader`); each batch goes to `model.loss`.
        val_loader: optional validation batches.
        config: budgets and optimiser; defaults to `TrainConfig()`.
        checkpoint_dir: where `last.ckpt` is written; required for `resume`.
        resume: continue from `checkpoint_dir/last.ckpt` if it exists. A resumed run ends with
            the same weights as an uninterrupted one (same seed, CPU): the data order depends on
            (seed, epoch) only and the random generators are restored from the checkpoint.

    In one process, a `DataLoader` with the default sampler is rebuilt around
    `resume.EpochSampler` (its order: `seed + epoch`, as DDP's `DistributedSampler` draws it),
    and one over an iterable dataset that keeps its position becomes a `resume.StatefulLoader`;
    an endless stream with `seek(batch)` resumes at the checkpoint's global step.
    Settings of an enclosing `overrides.train_overrides` block replace those of `config`.
    """
    config = apply_current_overrides(config or TrainConfig())
    if config.keep_best and val_loader is None:
        raise ValueError("keep_best selects weights by validation loss: pass a val_loader")
    no_end = config.budget_s is None and config.max_steps < 0
    if config.optim.schedule == "budget_cosine" and no_end:
        raise ValueError("the budget_cosine schedule decays over budget_s or max_steps: set one")
    L.seed_everything(config.seed, workers=True, verbose=False)
    lit = LitModel(model, config.optim, config.ema_decay, config.keep_best)
    trainer = make_trainer(config, checkpoint_dir)
    resumable = train_loader
    if trainer.world_size == 1:  # under DDP, Lightning's DistributedSampler draws the same order
        resumable = resumable_loader(train_loader, config.seed)
    for callback in trainer.callbacks:
        if isinstance(callback, ResumeState):
            callback.stream = seekable_stream(resumable)
    ckpt_path = None
    last = Path(checkpoint_dir) / LAST_CHECKPOINT if checkpoint_dir is not None else None
    if resume and last is not None and (last.exists() or last.is_symlink()):
        ckpt_path = str(last)  # a dangling link too: the checkpoint checks refuse it, loudly
    # Lightning turns gradients on for training and leaves them on: a caller inside
    # `torch.no_grad()` (an evaluator training its scorer on first use) must get its mode back
    with warnings.catch_warnings(), torch.set_grad_enabled(torch.is_grad_enabled()):
        if isinstance(getattr(resumable, "sampler", None), EpochSampler):
            # it resumes mid-epoch exactly (through `ResumeState`), which Lightning cannot see
            warnings.filterwarnings("ignore", ".*dataloader is not resumable.*")
        model.train()  # a model handed over in eval mode would otherwise train in eval mode
        trainer.fit(lit, resumable, val_loader, ckpt_path=ckpt_path, weights_only=True)
        last_unvalidated = lit.validated_at != trainer.global_step
        if config.validate_at_end and val_loader is not None and last_unvalidated:
            trainer.validate(lit, val_loader, verbose=False)
    budget = next(c for c in trainer.callbacks if isinstance(c, ComputeBudget))
    saved_at_stop = [c.saved_step for c in trainer.callbacks if isinstance(c, SaveAtStop)]
    if checkpoint_dir is not None and saved_at_stop != [trainer.global_step]:
        # the periodic checkpoint lags up to `checkpoint_every_n_steps` behind: write the final
        # state (unless `SaveAtStop` did), so a run killed after training resumes to it
        trainer.save_checkpoint(Path(checkpoint_dir) / LAST_CHECKPOINT)
    trained = lit.model_for_eval()
    if lit.best is not None:
        trained.load_state_dict(lit.best.state)
    trained.eval()
    return FitResult(
        model=trained,
        steps=int(trainer.global_step),
        train_seconds=budget.wall_seconds,
        cpu_seconds=budget.cpu_seconds,
        train_losses=lit.train_losses,
        val_losses=lit.val_losses,
        stopped_by=_stopped_by(budget, trainer, config),
        best_step=None if lit.best is None else lit.best.step,
        snapshots=[s for c in trainer.callbacks if isinstance(c, Snapshots) for s in c.taken],
    )


def _stopped_by(budget: ComputeBudget, trainer: L.Trainer, config: TrainConfig) -> StoppedBy:
    if 0 <= config.max_steps <= trainer.global_step:
        return "step_cap"  # also when both limits fell on the same step: the cap bound it
    return "budget" if budget.stopped else "epochs"


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def evaluate_loss(model: nn.Module, loader: Any) -> float:
    """Mean of `model.loss(batch)` over `loader`, in eval mode."""
    model.eval()
    losses = [float(model.loss(batch)) for batch in loader]  # type: ignore[operator]
    return sum(losses) / max(1, len(losses))
