"""One generic LightningModule around any diffrnn model.

A model is plain math: it exposes `loss(batch) -> Tensor` (a scalar to minimise). This wrapper adds
the optimiser, the learning-rate schedule, logging and the non-finite guard; it never branches on
the kind of model.

A model whose `loss` carries state from one batch to the next (a recurrent state under stateful
truncated BPTT) also exposes it as `carried_state() -> dict[str, Tensor]` and
`load_carried_state(state)`; it travels in the checkpoint, so a resumed run starts its next batch
from the state the interrupted one would have used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import lightning as L
import torch
from torch import nn

from diffrnn.errors import TrainingDivergedError
from diffrnn.training.budget import ComputeBudget
from diffrnn.training.resume import check_checkpoint

SchedulerName = Literal["constant", "cosine", "budget_cosine"]
SCHEDULES: tuple[str, ...] = ("constant", "cosine", "budget_cosine")
VALIDATION_SEED = 1234  # seeds the noise of validation losses (diffusion models draw noise)
CARRIED_STATE = "carried_state"
"""The checkpoint key of a model's `carried_state()`."""


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser settings shared by every model.

    Args:
        lr: peak learning rate of AdamW.
        weight_decay: decoupled weight decay.
        betas: AdamW's moment decay rates.
        warmup_steps: linear warm-up from 0 to `lr`.
        schedule: "constant" after warm-up; "cosine" decay to `min_lr_fraction` of `lr` at
            `total_steps`; or "budget_cosine", the same decay over the training budget, reaching
            its floor as the budget ends: progress is the seconds spent / `TrainConfig.budget_s`
            on the budget's clock (the steps a time budget allows are unknown in advance), or
            the steps taken / `TrainConfig.max_steps`, whichever is further on.
        total_steps: horizon of the "cosine" schedule (ignored by the others).
        min_lr_fraction: the cosine schedules' floor, a fraction of `lr`.
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    schedule: SchedulerName = "constant"
    total_steps: int = 1000
    min_lr_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.min_lr_fraction <= 1:
            raise ValueError(f"min_lr_fraction must be in [0, 1], got {self.min_lr_fraction}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")


def lr_factor(step: int, config: OptimConfig, budget_progress: float = 0.0) -> float:
    """Multiplier of the peak learning rate at optimiser step `step`.

    Args:
        step: optimiser steps taken.
        config: the schedule.
        budget_progress: fraction of the time budget spent, in [0, 1] (the "budget_cosine"
            schedule's clock; ignored by the others).
    """
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "budget_cosine":
        progress = min(1.0, max(0.0, budget_progress))
    else:
        span = max(1, config.total_steps - config.warmup_steps)
        progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_fraction
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class BestWeights:
    """The evaluated weights (a CPU copy) at the validation with the lowest loss so far."""

    step: int
    loss: float
    state: dict[str, torch.Tensor]


class LitModel(L.LightningModule):
    """Trains any `nn.Module` that has `loss(batch) -> Tensor`.

    Args:
        model: the model; its `loss` receives each batch as the DataLoader yields it.
        optim: optimiser settings.
        ema_decay: if set, keeps an exponential moving average of the weights (diffusion models);
            `model_for_eval()` returns the averaged copy.
        keep_best: keep a copy of the evaluated weights at the lowest validation loss in `best`
            (saved in checkpoints, so a resumed run still knows it).
    """

    def __init__(
        self,
        model: nn.Module,
        optim: OptimConfig | None = None,
        ema_decay: float | None = None,
        keep_best: bool = False,
    ) -> None:
        super().__init__()
        self.keep_best = keep_best
        self.best: BestWeights | None = None
        self.model = model
        self.optim = optim or OptimConfig()
        self.ema: torch.optim.swa_utils.AveragedModel | None = None
        if ema_decay is not None:
            self.ema = torch.optim.swa_utils.AveragedModel(
                model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema_decay)
            )
        self.train_losses: list[float] = []
        self.val_losses: list[float] = []
        self.validated_at: int | None = None  # the step of the latest validation

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self.model.loss(batch)  # type: ignore[operator]
        if not torch.isfinite(loss):
            raise TrainingDivergedError(
                f"the training loss became {loss.item()} at step {self.global_step}.",
                "lower the learning rate, clip gradients, or check that the data is scaled "
                "and free of NaN/inf.",
            )
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        self.train_losses.append(float(loss.detach()))
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        for name, param in self.model.named_parameters():
            if param.grad is not None and not torch.isfinite(param.grad).all():
                raise TrainingDivergedError(
                    f"the gradient of {name} became non-finite at step {self.global_step}.",
                    "lower the learning rate, clip gradients, or check that the data is scaled.",
                )

    def optimizer_step(
        self, epoch: int, batch_idx: int, optimizer: Any, optimizer_closure: Any = None
    ) -> None:
        optimizer.step(closure=optimizer_closure)
        # Here, not in on_train_batch_end: checkpoints are written before that hook runs, and
        # a resumed run must find the average of every step it has already taken.
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        for name, param in self.model.named_parameters():
            if not torch.isfinite(param).all():
                raise TrainingDivergedError(
                    f"the weight {name} became non-finite at step {self.global_step}; the "
                    "checkpoint was not overwritten, so the last good one survives.",
                    "lower the learning rate, clip gradients, or check that the data is scaled.",
                )
        if hasattr(self.model, "carried_state"):
            checkpoint[CARRIED_STATE] = self.model.carried_state()  # type: ignore[operator]
        if self.best is not None:
            checkpoint["best_weights"] = {
                "step": self.best.step,
                "loss": self.best.loss,
                "state": self.best.state,
            }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        fresh = self.configure_optimizers()  # a throwaway: the layout the saved states must have
        check_checkpoint(
            checkpoint,
            self.state_dict(),
            fresh["optimizer"],
            [fresh["lr_scheduler"]["scheduler"].state_dict()],
            self.trainer.fit_loop.state_dict(),
            self.model_for_eval().state_dict(),
            {callback.state_key: callback.state_dict() for callback in self.trainer.callbacks},
        )
        if hasattr(self.model, "load_carried_state"):
            self.model.load_carried_state(checkpoint.get(CARRIED_STATE, {}))  # type: ignore[operator]
        saved = checkpoint.get("best_weights")
        if saved is not None:
            self.best = BestWeights(int(saved["step"]), float(saved["loss"]), saved["state"])

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        # Fixed noise per validation batch: comparable across validations, and the training
        # random stream is left untouched (so a resumed run draws what the original drew).
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(VALIDATION_SEED + batch_idx)
            loss = self.model_for_eval().loss(batch)  # type: ignore[operator]
        self.log("val_loss", loss, prog_bar=True, on_step=False, on_epoch=True)
        return loss

    def on_validation_epoch_end(self) -> None:
        value = self.trainer.callback_metrics.get("val_loss")
        if value is None:
            return
        self.val_losses.append(float(value))
        self.validated_at = int(self.global_step)
        if self.keep_best and (self.best is None or float(value) < self.best.loss):
            state = {
                k: v.detach().to("cpu", copy=True)
                for k, v in self.model_for_eval().state_dict().items()
            }
            self.best = BestWeights(int(self.global_step), float(value), state)

    def _budget_progress(self) -> float:
        """Fraction of the training budget spent: of its seconds, or of its step cap, whichever
        is further on (0 without a trainer)."""
        trainer = self._trainer
        if trainer is None:
            return 0.0
        steps = trainer.global_step / trainer.max_steps if trainer.max_steps > 0 else 0.0
        seconds = [c.progress() for c in trainer.callbacks if isinstance(c, ComputeBudget)]
        return min(1.0, max([steps, *seconds]))

    def model_for_eval(self) -> nn.Module:
        """The EMA copy of the model if one is kept, else the model itself."""
        return self.ema.module if self.ema is not None else self.model

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=self.optim.lr,
            weight_decay=self.optim.weight_decay,
            betas=self.optim.betas,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, self.optim, self._budget_progress())
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
