"""Recurrent layers behind one contract: `forward(x, state=None) -> (out, state)`.

    rnn = make_rnn("mingru", input_size=8, hidden_size=64, num_layers=2)
    out, state = rnn(x)                   # x (B, T, D) -> out (B, T, H * dirs)
    y_t, state = rnn.step(x_t, state)     # x_t (B, D) -> y_t (B, H * dirs), O(1) state

- "rnn" (tanh Elman), "lstm" and "gru" are PyTorch's fused modules (`batch_first=True`), so their
  state is torch's: `h (L * dirs, B, H)`, and `(h, c)` for the LSTM.
- "mingru" and "minlstm" are Feng et al. 2024, "Were RNNs All We Needed?" (arXiv:2410.01201):
  gates depend on the input only, so a whole sequence is computed at once with the log-space
  parallel scan (Heinsen 2023, "Efficient parallelization of a ubiquitous sequential computation",
  the paper's `parallel_scan_log`), and a step costs O(1). Their state is `h (L * dirs, B, H)`.

Stacked minGRU/minLSTM layers follow torch's stacking (layer l reads layer l-1's output, dropout
between layers, bidirectional layers concatenate the two directions), so every cell can stand in
for every other.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CellType = Literal["rnn", "lstm", "gru", "mingru", "minlstm"]
CELL_TYPES: tuple[CellType, ...] = get_args(CellType)

State = Tensor | tuple[Tensor, Tensor]


def check_cell(cell: str) -> CellType:
    """Return `cell` if it names a cell type, else raise a ValueError listing the choices."""
    if cell not in CELL_TYPES:
        raise ValueError(f"cell must be one of {CELL_TYPES}, got {cell!r}")
    return cell  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# minGRU / minLSTM helpers (the paper's Listings, log-space versions)


def g(x: Tensor) -> Tensor:
    """The paper's positive activation: x + 0.5 for x >= 0, sigmoid(x) otherwise (continuous)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """log(g(x)) computed stably: log(relu(x) + 0.5) for x >= 0, -softplus(-x) otherwise."""
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))


def parallel_scan_log(log_coeffs: Tensor, log_values: Tensor, h0: Tensor | None = None) -> Tensor:
    """All h_t of h_t = a_t * h_{t-1} + b_t at once, from log a_t and log b_t (b_t > 0).

    Heinsen's form: with a*_t = sum_{s<=t} log a_s,
    h_t = exp(a*_t) * h_0 + exp(a*_t + logcumsumexp_t(log b - a*)).
    The h_0 term is added outside the log so any real h_0 (not only positive) is allowed.

    Args:
        log_coeffs: log a_t, (B, T, H).
        log_values: log b_t, (B, T, H).
        h0: initial state (B, H), or None for zeros.

    Returns:
        h: (B, T, H).
    """
    a_star = torch.cumsum(log_coeffs, dim=1)  # (B, T, H)
    h = torch.exp(a_star + torch.logcumsumexp(log_values - a_star, dim=1))  # (B, T, H)
    if h0 is not None:
        h = h + torch.exp(a_star) * h0.unsqueeze(1)
    return h


class MinGRULayer(nn.Module):
    """One minGRU direction: z_t = sigmoid(W_z x_t), h_t = (1 - z_t) h_{t-1} + z_t g(W_h x_t)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size, 2 * hidden_size)  # [k (gate) | h_tilde]

    def forward(self, x: Tensor, h0: Tensor | None = None) -> Tensor:
        """Parallel form. x (B, T, D), h0 (B, H) or None -> h (B, T, H)."""
        k, h_tilde = self.linear(x).chunk(2, dim=-1)  # (B, T, H) each
        log_z = -F.softplus(-k)  # log sigmoid(k)
        log_one_minus_z = -F.softplus(k)  # log (1 - sigmoid(k))
        return parallel_scan_log(log_one_minus_z, log_z + log_g(h_tilde), h0)

    def step(self, x_t: Tensor, h_prev: Tensor) -> Tensor:
        """Sequential form. x_t (B, D), h_prev (B, H) -> h_t (B, H)."""
        k, h_tilde = self.linear(x_t).chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return (1 - z) * h_prev + z * g(h_tilde)


class MinLSTMLayer(nn.Module):
    """One minLSTM direction (length-independent scaling of the gates, paper section 3.2.3).

    f_t, i_t = sigmoid(W_f x_t), sigmoid(W_i x_t); f'_t, i'_t = f_t, i_t / (f_t + i_t);
    h_t = f'_t h_{t-1} + i'_t g(W_h x_t).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size, 3 * hidden_size)  # [f | i | h_tilde]

    def forward(self, x: Tensor, h0: Tensor | None = None) -> Tensor:
        """Parallel form. x (B, T, D), h0 (B, H) or None -> h (B, T, H)."""
        k_f, k_i, h_tilde = self.linear(x).chunk(3, dim=-1)  # (B, T, H) each
        diff = F.softplus(-k_f) - F.softplus(-k_i)  # log i - log f
        log_f = -F.softplus(diff)  # log f / (f + i)
        log_i = -F.softplus(-diff)  # log i / (f + i)
        return parallel_scan_log(log_f, log_i + log_g(h_tilde), h0)

    def step(self, x_t: Tensor, h_prev: Tensor) -> Tensor:
        """Sequential form. x_t (B, D), h_prev (B, H) -> h_t (B, H)."""
        k_f, k_i, h_tilde = self.linear(x_t).chunk(3, dim=-1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        return (f * h_prev + i * g(h_tilde)) / (f + i)


# ---------------------------------------------------------------------------------------------
# The two families behind the one contract


class MinRNN(nn.Module):
    """Stacked (optionally bidirectional) minGRU or minLSTM with torch's state layout."""

    def __init__(
        self,
        cell: Literal["mingru", "minlstm"],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        layer_class = MinGRULayer if cell == "mingru" else MinLSTMLayer
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            layer_class(
                input_size if i < self.num_directions else hidden_size * self.num_directions,
                hidden_size,
            )
            for i in range(num_layers * self.num_directions)
        )  # index = layer * dirs + direction, like torch's h_n

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x (B, T, D), state (L * dirs, B, H) or None -> out (B, T, H * dirs), state."""
        finals = []
        for layer in range(self.num_layers):
            if layer > 0:
                x = self.dropout(x)
            outs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                h0 = None if state is None else state[index]
                inp = x if direction == 0 else x.flip(1)
                h = self.layers[index](inp, h0)  # (B, T, H)
                finals.append(h[:, -1])
                outs.append(h if direction == 0 else h.flip(1))
            x = torch.cat(outs, dim=-1)  # (B, T, H * dirs)
        return x, torch.stack(finals)  # (L * dirs, B, H)

    def step(self, x_t: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One step with the sequential recurrence (unidirectional only).

        x_t (B, D), state (L, B, H) or None -> y_t (B, H), state (L, B, H).
        """
        if self.num_directions != 1:
            raise ValueError("step() needs a unidirectional RNN; a backward pass sees the future")
        if state is None:
            state = x_t.new_zeros(self.num_layers, x_t.shape[0], self.hidden_size)
        finals = []
        for layer, module in enumerate(self.layers):
            if layer > 0:
                x_t = self.dropout(x_t)
            x_t = module.step(x_t, state[layer])  # (B, H)
            finals.append(x_t)
        return x_t, torch.stack(finals)


class TorchRNN(nn.Module):
    """PyTorch's fused nn.RNN (tanh) / nn.LSTM / nn.GRU, batch first, behind the same contract."""

    def __init__(
        self,
        cell: Literal["rnn", "lstm", "gru"],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        module_class = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = module_class(
            input_size,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x (B, T, D), state (L * dirs, B, H) [or (h, c)] -> out (B, T, H * dirs), state."""
        return self.rnn(x, state)

    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x_t (B, D) -> y_t (B, H * dirs), state."""
        out, state = self.rnn(x_t.unsqueeze(1), state)  # (B, 1, H * dirs)
        return out.squeeze(1), state


def make_rnn(
    cell: CellType,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
) -> TorchRNN | MinRNN:
    """Build a recurrent stack of any cell type with one forward contract.

    Args:
        cell: "rnn" (tanh Elman), "lstm", "gru", "mingru" or "minlstm".
        input_size: features D of the input (B, T, D).
        hidden_size: units H per direction.
        num_layers: stacked layers L.
        dropout: dropout on the outputs of every layer but the last.
        bidirectional: also run a backward direction and concatenate (H * 2 features out).

    Returns:
        a module with `forward(x (B, T, D), state=None) -> (out (B, T, H * dirs), state)` and
        `step(x_t (B, D), state=None) -> (y_t (B, H * dirs), state)`.
    """
    check_cell(cell)
    if cell in ("mingru", "minlstm"):
        return MinRNN(cell, input_size, hidden_size, num_layers, dropout, bidirectional)  # type: ignore[arg-type]
    return TorchRNN(cell, input_size, hidden_size, num_layers, dropout, bidirectional)  # type: ignore[arg-type]
