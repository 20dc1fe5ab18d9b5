"""Floors for forecasting on graphs: what a graph model has to beat.

All take windows of past node signals `x` (B, T_in, N) and return forecasts (B, T_out, N).
The linear autoregression is one least-squares model shared by every node (no graph): on
chickenpox it scores about 0.70 MSE, below the published DCRNN case study, so a graph model that
does not beat it is not using the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def last_value(x: Tensor, horizon: int) -> Tensor:
    """Repeat the last observation: (B, T_in, N) -> (B, horizon, N)."""
    return x[:, -1:].expand(-1, horizon, -1).clone()


@dataclass(frozen=True)
class SharedLinearAR:
    """y_{t+h} = c_h + sum_l a_{h,l} x_{t-l}, one set of coefficients for every node.

    Attributes:
        coefficients: (lags + 1, horizon): the intercept row first, then lag weights oldest first.
    """

    coefficients: Tensor

    @classmethod
    def fit(cls, x: Tensor, y: Tensor) -> SharedLinearAR:
        """Least squares over all windows and nodes.

        Args:
            x: (B, lags, N) inputs; y: (B, horizon, N) targets (direct multi-step regression).
        """
        design = _design(x)  # (B*N, lags + 1)
        targets = y.permute(0, 2, 1).reshape(-1, y.shape[1]).double()  # (B*N, horizon)
        solution = torch.linalg.lstsq(design, targets).solution  # (lags + 1, horizon)
        return cls(solution.float())

    def predict(self, x: Tensor) -> Tensor:
        """(B, lags, N) -> (B, horizon, N)."""
        batch, _, nodes = x.shape
        out = _design(x).float() @ self.coefficients  # (B*N, horizon)
        return out.reshape(batch, nodes, -1).permute(0, 2, 1)


def _design(x: Tensor) -> Tensor:
    """(B, lags, N) -> (B*N, 1 + lags) rows [1, x_{t-lags+1}, ..., x_t] in float64."""
    rows = x.permute(0, 2, 1).reshape(-1, x.shape[1]).double()  # (B*N, lags)
    return torch.cat([torch.ones(rows.shape[0], 1, dtype=rows.dtype), rows], dim=1)
