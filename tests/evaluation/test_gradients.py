"""Gradient-vs-lag diagnostic on designed functions whose gradients are known."""

from __future__ import annotations

import torch
from torch import nn

from diffrnn.evaluation.gradients import grad_norm_vs_lag


def test_weighted_sum_gives_its_weights_by_lag() -> None:
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0])  # per step t
    x = torch.randn(5, 4, 3)
    direction = torch.tensor([0.6, 0.0, 0.8])  # unit vector: ||d/dx_t|| = |w_t|
    norms = grad_norm_vs_lag(lambda z: (z @ direction * weights).sum(), x)
    torch.testing.assert_close(norms, weights.flip(0))  # lag 0 is the last step


def test_linear_rnn_decays_geometrically() -> None:
    """h_t = a h_{t-1} + x_t, loss = h_T: d loss / d x_t = a^(T - t)."""
    rnn = nn.RNN(1, 1, bias=False, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_hh_l0.fill_(0.5)
        rnn.weight_ih_l0.fill_(1.0)
    x = torch.rand(2, 6, 1) + 0.1  # positive inputs keep the ReLU linear
    norms = grad_norm_vs_lag(lambda z: rnn(z)[0][:, -1].sum(), x)
    torch.testing.assert_close(norms, 0.5 ** torch.arange(6.0))
