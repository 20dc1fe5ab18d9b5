"""Gradient diagnostic for memory: how strongly the loss at the last step depends on each input.

For a sequence x_1..x_T and the loss L_T of the last output, the norm ||dL_T / dx_t|| at lag
T - t shows how far back the trained (or untrained) network can still assign credit: it decays
geometrically for a tanh RNN whose recurrent Jacobians shrink (Bengio et al. 1994; Pascanu et al.
2013, eq. (5)-(7)), and stays flat longer for gated cells.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def grad_norm_vs_lag(loss_fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Mean over the batch of ||d loss / d x_t||_2, indexed by lag T - 1 - t.

    Args:
        loss_fn: maps inputs (B, T, D) to the last-step loss summed over the batch (a scalar), so
            each sequence's gradient is its own.
        x: (B, T, D) inputs (not modified).

    Returns:
        (T,) float: entry k is the mean gradient norm with respect to the input k steps before the
        last one (entry 0: the last input).
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(loss_fn(x), x)  # (B, T, D)
    return grad.norm(dim=-1).mean(0).flip(0)  # (T,), by lag
