"""Training machinery: one generic LightningModule, a trainer factory, checkpoints."""

from diffrnn.training.module import LitModel, OptimConfig
from diffrnn.training.trainer import (
    FitResult,
    TrainConfig,
    budgeted,
    count_parameters,
    fit,
    make_trainer,
)

__all__ = [
    "FitResult",
    "LitModel",
    "OptimConfig",
    "TrainConfig",
    "budgeted",
    "count_parameters",
    "fit",
    "make_trainer",
]
