"""Recurrent models for the long-range memory tasks (see `diffrnn.data.long_range`).

Adding problem: the two input channels feed the recurrent stack directly and a linear read-out of
the last hidden state regresses the sum (MSE). Copy memory: tokens are embedded, and a linear
read-out at every step classifies the output token (cross-entropy averaged over the T + 20 outputs,
the quantity whose memoryless floor is 10 ln 8 / (T + 20)).

`features` and `last_step_loss` split the model at its continuous input, so the gradient
diagnostic can differentiate the loss at the last step with respect to the input at every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffrnn.data.long_range import COPY_VOCAB
from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import CellType, RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack

LongRangeTask = Literal["adding", "copy"]
ADDING_CHANNELS = 2


@dataclass(frozen=True)
class LongRangeConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    task: "adding" (regress a sum) or "copy" (classify every output token).
    embed_dim: token embedding size (copy only).
    """

    task: LongRangeTask = "adding"
    embed_dim: int = 16

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task not in get_args(LongRangeTask):
            raise ValueError(f"task must be one of {get_args(LongRangeTask)}, got {self.task!r}")


class LongRangeModel(PretrainedMixin, nn.Module):
    """A recurrent stack with the read-out of the adding or the copy task."""

    config_class = LongRangeConfig

    def __init__(self, config: LongRangeConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(COPY_VOCAB, config.embed_dim) if config.task == "copy" else None
        width = config.embed_dim if config.task == "copy" else ADDING_CHANNELS
        self.rnn = recurrent_stack(config, width)
        self.head = nn.Linear(config.hidden_size, COPY_VOCAB if config.task == "copy" else 1)

    def features(self, inputs: Tensor) -> Tensor:
        """The continuous input of the recurrent stack: (B, T, 2) for adding (as is), (B, T)
        tokens -> (B, T, E) embeddings for copy."""
        return inputs if self.embed is None else self.embed(inputs)

    def readout(self, x: Tensor) -> Tensor:
        """From features (B, T, D): adding -> predictions (B,); copy -> logits (B, T, V)."""
        h, _ = self.rnn(x)  # (B, T, H)
        if self.config.task == "adding":
            return self.head(h[:, -1])[:, 0]
        return self.head(h)

    def forward(self, inputs: Tensor) -> Tensor:
        """inputs (B, T, 2) float or (B, T) long -> (B,) sums or (B, T, V) logits."""
        return self.readout(self.features(inputs))

    def loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """MSE (adding) or mean cross-entropy over all outputs (copy) of `(inputs, targets)`."""
        inputs, targets = batch
        out = self(inputs)
        if self.config.task == "adding":
            return F.mse_loss(out, targets)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))

    def last_step_loss(self, x: Tensor, targets: Tensor) -> Tensor:
        """Summed loss of the last output only, from features x (B, T, D) (for the diagnostic)."""
        out = self.readout(x)
        if self.config.task == "adding":
            return F.mse_loss(out, targets, reduction="sum")
        return F.cross_entropy(out[:, -1], targets[:, -1], reduction="sum")

    @torch.no_grad()
    def predict(self, inputs: Tensor) -> Tensor:
        """Adding: predicted sums (B,). Copy: most probable output tokens (B, T)."""
        out = self(inputs)
        return out if self.config.task == "adding" else out.argmax(-1)


def long_range(
    size: Size = "full", task: LongRangeTask = "adding", cell: CellType = "lstm"
) -> LongRangeConfig:
    """The long-range presets: one layer of 128 units ("full"), of 32 ("quick")."""
    presets = {
        "quick": LongRangeConfig(task, cell=cell, hidden_size=32),
        "full": LongRangeConfig(task, cell=cell, hidden_size=128),
    }
    return pick(size, presets)
