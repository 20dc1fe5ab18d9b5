"""The TimeGAN protocol for generated time series (Yoon et al. 2019, sec. 5; their
`metrics/discriminative_metrics.py` and `metrics/predictive_metrics.py`).

Windows (B, T, D) are min-max scaled per channel to [0, 1] as TimeGAN does
(`diffrnn.data.windows.MinMax`; ETTh1's in `diffrnn.data.timeseries.etth1_windows`).

- Discriminative score: a post-hoc GRU classifier is trained to tell real windows from synthetic
  ones on 80% of each, and scored on the other 20%: |accuracy - 0.5| (0 = indistinguishable,
  0.5 = always told apart).
- Predictive score ("train on synthetic, test on real"): a post-hoc GRU reads the first D - 1
  channels up to step t and predicts the last channel at step t + 1; trained on synthetic windows
  only, its mean absolute error is measured on real windows.

TimeGAN's own classifiers are one GRU layer of D / 2 units trained 2000 (discriminative) and 5000
(predictive) iterations of batch 128 with Adam; sizes and iterations are arguments here so a quick
run can use fewer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class GRUHead(nn.Module):
    """A GRU over (B, T, D) and a linear read-out of every step's state: (B, T, out)."""

    def __init__(self, inputs: int, hidden: int, layers: int, out: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)  # (B, T, H)
        return self.head(h)  # (B, T, out)


def _train(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    iterations: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
) -> None:
    """TimeGAN's loop: Adam on mini-batches drawn with replacement."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(iterations):
        idx = torch.randint(0, inputs.shape[0], (batch_size,), generator=generator)
        loss = loss_fn(model(inputs[idx]), targets[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def discriminative_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    hidden: int = 16,
    layers: int = 2,
    iterations: int = 2000,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> float:
    """|accuracy - 0.5| of a post-hoc GRU classifier on a held-out 20% of each set.

    Args:
        real: (B_r, T, D) real windows in [0, 1].
        synthetic: (B_s, T, D) generated windows in [0, 1].
        hidden, layers: the classifier GRU (TimeGAN: D / 2 units, 1 layer).
        iterations, batch_size, lr: Adam's mini-batches and learning rate (TimeGAN: 1e-3).
        seed: seeds the split, the initial weights and the batches.
    Returns:
        a score in [0, 0.5]; lower is better.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.tensor(np.concatenate([real, synthetic]), dtype=torch.float32)  # (B, T, D)
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(synthetic))])  # (B,)
    is_test = torch.zeros(len(x), dtype=torch.bool)
    for start, count in ((0, len(real)), (len(real), len(synthetic))):
        order = torch.randperm(count, generator=generator)[: int(0.2 * count)]
        is_test[start + order] = True
    model = GRUHead(x.shape[-1], hidden, layers, 1)

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(out[:, -1, 0], target)  # last step's state

    _train(model, loss_fn, x[~is_test], y[~is_test], iterations, batch_size, lr, generator)
    with torch.no_grad():
        predicted = (model(x[is_test])[:, -1, 0] > 0).float()
    accuracy = float((predicted == y[is_test]).float().mean())
    return abs(accuracy - 0.5)


def predictive_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    hidden: int = 16,
    layers: int = 1,
    iterations: int = 5000,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> float:
    """MAE on real windows of a GRU trained on synthetic ones to predict the last channel.

    Inputs are channels 0..D-2 at steps 0..T-2, the target channel D-1 at steps 1..T-1 (TimeGAN).

    Args:
        real: (B_r, T, D) real windows in [0, 1] (all of them are scored).
        synthetic: (B_s, T, D) generated windows in [0, 1] (the training data).
        hidden, layers: the predictor GRU (TimeGAN: D / 2 units, 1 layer).
        iterations, batch_size, lr: Adam's mini-batches and learning rate (TimeGAN: 1e-3).
        seed: seeds the initial weights and the batches.
    Returns:
        mean absolute error over every real window and step; lower is better.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    syn = torch.tensor(synthetic, dtype=torch.float32)
    ref = torch.tensor(real, dtype=torch.float32)
    model = GRUHead(syn.shape[-1] - 1, hidden, layers, 1)

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (out[..., 0] - target).abs().mean()

    inputs, targets = syn[:, :-1, :-1], syn[:, 1:, -1]  # (B, T-1, D-1), (B, T-1)
    _train(model, loss_fn, inputs, targets, iterations, batch_size, lr, generator)
    with torch.no_grad():
        return float((model(ref[:, :-1, :-1])[..., 0] - ref[:, 1:, -1]).abs().mean())
