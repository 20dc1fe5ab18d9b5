"""Training budgets in seconds that mean the same on a busy and on a quiet machine.

A wall-clock budget gives a model on a loaded CPU a fraction of the steps it gets on an idle
one (the LSTM LM unit: 1.565 nats/char at low load, 1.898 under load, same command). So on a CPU
a budget counts the *process CPU seconds* of the training loop (`time.process_time()`: every
thread of the process, torch's intra-op threads included); contention from other processes then
stretches the wall time but not the work done. On an accelerator the device does the work and
the budget stays in wall seconds.

`ComputeBudget` is the one place a time budget is enforced: a Lightning callback checked at every
training batch end (and after each validation), beside Lightning's own step limit. The seconds it
has counted go into the checkpoint, so a run killed and resumed spends only the remainder of its
budget, and reports the seconds of all its runs together.

Note: the CPU clock counts every thread of this process, so a busy thread of the caller's own
running beside training is charged to the budget (other processes are not).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, get_args

import lightning as L

BudgetClock = Literal["auto", "cpu", "wall"]
BUDGET_CLOCKS: tuple[str, ...] = get_args(BudgetClock)


def check_budget_clock(clock: str) -> None:
    """Raise a ValueError naming `clock` and the allowed values unless it is one of them."""
    if clock not in BUDGET_CLOCKS:
        raise ValueError(f"budget_clock must be one of {BUDGET_CLOCKS}, got {clock!r}")


def resolve_clock(clock: BudgetClock, on_cpu: bool) -> Literal["cpu", "wall"]:
    """`clock` with "auto" made concrete: CPU seconds on a CPU accelerator, wall seconds else."""
    check_budget_clock(clock)
    if clock == "auto":
        return "cpu" if on_cpu else "wall"
    return clock


class ComputeBudget(L.Callback):
    """Stops training once `budget_s` seconds of its clock, or `max_wall_s` wall seconds, are spent.

    Args:
        budget_s: seconds on `clock` (None: no such limit).
        clock: "cpu" (process CPU seconds), "wall", or "auto" (cpu on a CPU accelerator, wall
            on any other), resolved when training starts.
        max_wall_s: an extra wall-clock limit (`TrainConfig.max_time_s`; None: none).
        cpu_timer, wall_timer: the clocks read (process CPU and monotonic wall seconds).

    Attributes:
        cpu_seconds, wall_seconds: seconds spent training, over this run and every run it
            resumes (between `on_train_start` and `on_train_end`).
        stopped: whether a limit of this callback ended training.
        clock: the resolved clock ("cpu" or "wall"), once training has started.
    """

    def __init__(
        self,
        budget_s: float | None,
        clock: BudgetClock = "auto",
        max_wall_s: float | None = None,
        *,
        cpu_timer: Callable[[], float] = time.process_time,
        wall_timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        check_budget_clock(clock)
        self.budget_s = budget_s
        self.requested_clock: BudgetClock = clock
        self.clock: Literal["cpu", "wall"] | None = None if clock == "auto" else clock
        self.max_wall_s = max_wall_s
        self.stopped = False
        self._cpu_timer, self._wall_timer = cpu_timer, wall_timer
        self._cpu_done = 0.0  # seconds of earlier runs (from the checkpoint) and finished spans
        self._wall_done = 0.0
        self._started: tuple[float, float] | None = None  # (cpu, wall) at on_train_start

    @property
    def cpu_seconds(self) -> float:
        """Process CPU seconds of training so far, earlier runs included."""
        running = 0.0 if self._started is None else self._cpu_timer() - self._started[0]
        return self._cpu_done + running

    @property
    def wall_seconds(self) -> float:
        """Wall seconds of training so far, earlier runs included."""
        running = 0.0 if self._started is None else self._wall_timer() - self._started[1]
        return self._wall_done + running

    def progress(self) -> float:
        """Fraction of `budget_s` spent on its clock, in [0, 1] (0 without a budget, or before
        training has started and resolved the clock)."""
        if self.budget_s is None or self.clock is None:
            return 0.0
        spent = self.cpu_seconds if self.clock == "cpu" else self.wall_seconds
        return min(1.0, spent / self.budget_s)

    def exhausted(self) -> bool:
        """Whether a limit is reached (the budget on its clock, or the wall limit)."""
        if self.max_wall_s is not None and self.wall_seconds >= self.max_wall_s:
            return True
        if self.budget_s is None:
            return False
        spent = self.cpu_seconds if self.clock == "cpu" else self.wall_seconds
        return spent >= self.budget_s

    def _check(self, trainer: L.Trainer) -> None:
        if self.budget_s is None and self.max_wall_s is None:
            return  # nothing to enforce: no collective for DDP ranks to wait on
        stop = bool(trainer.strategy.broadcast(self.exhausted()))  # rank zero decides for all
        if stop:
            self.stopped = True
            trainer.should_stop = True

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from lightning.pytorch.accelerators import CPUAccelerator

        on_cpu = isinstance(trainer.accelerator, CPUAccelerator)
        self.clock = resolve_clock(self.requested_clock, on_cpu)
        self._check(trainer)  # after the checkpoint's state is loaded: a spent budget trains 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = (self._cpu_timer(), self._wall_timer())

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        self._check(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is not None:  # a validation inside training
            self._check(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._cpu_done, self._wall_done = self.cpu_seconds, self.wall_seconds
        self._started = None  # a final checkpoint written after this is not training time

    def state_dict(self) -> dict[str, Any]:
        return {"cpu_seconds": self.cpu_seconds, "wall_seconds": self.wall_seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._cpu_done = float(state_dict.get("cpu_seconds", 0.0))
        self._wall_done = float(state_dict.get("wall_seconds", 0.0))
