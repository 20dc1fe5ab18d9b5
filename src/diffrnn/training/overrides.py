"""Settings a caller imposes on every `fit` inside a block, whatever the model code asks for.

    with train_overrides(TrainOverrides(max_steps=200, devices=2, strategy="ddp")):
        output = unit(ctx)  # every fit() inside trains 200 steps on 2 DDP processes

`diffrnn train` uses this to run a harness unit with a step budget (repeatable, unlike a time
budget) or under DDP without each unit having to forward the options.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diffrnn.training.budget import BudgetClock, check_budget_clock

if TYPE_CHECKING:  # trainer.py imports this module
    from diffrnn.training.trainer import TrainConfig


@dataclass(frozen=True)
class TrainOverrides:
    """Fields left None keep the value the model code chose.

    Args:
        max_steps: optimiser steps; replaces the time and epoch budgets, so the run is repeatable.
        devices, strategy, num_nodes, accelerator: passed to `lightning.Trainer`.
        budget_clock: the clock of the time budget ("cpu", "wall", "auto"), e.g. "wall" to
            measure what a wall-clock budget does on a loaded machine.
    """

    max_steps: int | None = None
    devices: int | str | None = None
    strategy: str | None = None
    num_nodes: int | None = None
    accelerator: str | None = None
    budget_clock: BudgetClock | None = None

    def __post_init__(self) -> None:
        if self.budget_clock is not None:
            check_budget_clock(self.budget_clock)
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.num_nodes is not None and self.num_nodes < 1:
            raise ValueError(f"num_nodes must be at least 1, got {self.num_nodes}")

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with these overrides in place."""
        changes: dict[str, object] = {
            name: value
            for name in ("devices", "strategy", "num_nodes", "accelerator", "budget_clock")
            if (value := getattr(self, name)) is not None
        }
        if self.max_steps is not None:
            changes.update(max_steps=self.max_steps, budget_s=None, max_time_s=None, max_epochs=-1)
        return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


_CURRENT: ContextVar[TrainOverrides | None] = ContextVar("diffrnn_train_overrides", default=None)


@contextlib.contextmanager
def train_overrides(overrides: TrainOverrides) -> Iterator[None]:
    """Apply `overrides` to every `fit` called inside the block (this thread/context only)."""
    token = _CURRENT.set(overrides)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def apply_current_overrides(config: TrainConfig) -> TrainConfig:
    """`config` with the overrides of the enclosing `train_overrides` block, if any."""
    overrides = _CURRENT.get()
    return config if overrides is None else overrides.apply(config)
