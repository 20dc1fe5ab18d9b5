"""Recurrent layers behind one contract: `forward(x, state=None) -> (out, state)`.

    rnn = make_rnn("mingru", input_size=8, hidden_size=64, num_layers=2)
    out, state = rnn(x)                   # x (B, T, D) -> out (B, T, H * dirs)
    y_t, state = rnn.step(x_t, state)     # x_t (B, D) -> y_t (B, H * dirs), O(1) state

- "rnn" (tanh Elman), "lstm" and "gru" are PyTorch's fused modules (`batch_first=True`), so their
  state is torch's: `h (L * dirs, B, H)`, and `(h, c)` for the LSTM.
- "mingru" and "minlstm" are Feng et al. 2024, "Were RNNs All We Needed?" (arXiv:2410.01201):
  gates depend on the input only, so a whole sequence is one input projection and one linear
  scan h_t = a_t h_{t-1} + (1 - a_t) v_t (`scan`, chunked; the paper's log-space
  `parallel_scan_log` made minGRU slower than nn.GRU at inference on CPU and loses ~1e-3 in
  float32 at T = 4096), and a step costs O(1). Their state is `h (L * dirs, B, H)`.

Stacked minGRU/minLSTM layers follow torch's stacking (layer l reads layer l-1's output, dropout
between layers, bidirectional layers concatenate the two directions), so every cell can stand in
for every other.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from diffrnn.rnn.cells import CELL_TYPES as CELL_TYPES  # re-exported for older imports
from diffrnn.rnn.cells import CellType as CellType
from diffrnn.rnn.cells import MinCell, RecurrentConfig, TorchCell
from diffrnn.rnn.cells import check_cell as check_cell

State = Tensor | tuple[Tensor, Tensor]


# ---------------------------------------------------------------------------------------------
# minGRU / minLSTM: one input projection, then one linear scan

SCAN_CHUNK = 64
"""Steps per chunk of `scan`: a sequence of T steps costs about 3 * 64 + T / 64 tensor operations
instead of T (on the scan alone, B = 8, H = 256, T = 256-4096, chunks of 32 to 128 timed within
noise of each other)."""

GRAD_BLOCK = 128
"""Time steps per block of the backward pass's elementwise work after the scan (B = 8, H = 256:
1 MiB per tensor, so a block's few tensors stay in cache between its operations)."""


def g(x: Tensor) -> Tensor:
    """The paper's positive activation: x + 0.5 for x >= 0, sigmoid(x) otherwise (continuous).

    Written as max(sigmoid(x), x + 0.5): sigmoid lies above its tangent 0.5 + x / 4 for x < 0 and
    below it for x > 0, so the maximum picks the right branch without a mask.
    """
    return torch.maximum(torch.sigmoid(x), x + 0.5)


def scan(a: Tensor, v: Tensor, h0: Tensor, out: Tensor | None = None) -> Tensor:
    """All h_t of h_t = a_t h_{t-1} + (1 - a_t) v_t = lerp(v_t, h_{t-1}, a_t), with a_t in [0, 1].

    a_t is the share of the state kept: 1 - z_t for minGRU, f'_t for minLSTM. Chunked, so that a
    sequence costs about 3 L + T / L tensor operations (L = SCAN_CHUNK), each over all chunks at
    once, instead of T: (1) every chunk runs the recurrence from a zero state, keeping its last
    state and the product of its a_t; (2) these chain the state entering each chunk, one
    operation per chunk; (3) every chunk runs the recurrence again from its entering state, which
    is the step form itself. Only products and convex combinations of numbers in [0, 1] occur:
    nothing is divided or exponentiated, so nothing can overflow, and float32 keeps ~1e-7 at any
    T. The log-space scan it replaces (Heinsen 2023, exp of a cumulative sum of logs) loses ~1e-3
    in float32 at T = 4096, and its `logcumsumexp` made it ~8x slower than this one at B = 8,
    T = 4096, H = 256 on one CPU thread.

    Args:
        a: kept shares a_t in [0, 1], (B, T, H).
        v: values v_t, (B, T, H).
        h0: initial state, (B, H).
        out: (B, T, H) to write h into, or None for a new tensor.

    Returns:
        h: (B, T, H).
    """
    batch, length, hidden = a.shape
    out = a.new_empty(batch, length, hidden) if out is None else out
    chunk = SCAN_CHUNK
    n = length // chunk if length >= 2 * chunk else 0  # chunks; the last T - n L steps run plainly
    prev = h0
    if n:
        a_c = a[:, : n * chunk].unflatten(1, (n, chunk))  # (B, n, L, H)
        v_c = v[:, : n * chunk].unflatten(1, (n, chunk))
        a_j, v_j = a_c.unbind(2), v_c.unbind(2)  # L views (B, n, H) each
        local = torch.addcmul(v_j[0], a_j[0], v_j[0], value=-1)  # (B, n, H): state from zero
        keep = a_j[0].clone()  # (B, n, H): product of a over the chunk so far
        for j in range(1, chunk):
            torch.lerp(v_j[j], local, a_j[j], out=local)
            keep.mul_(a_j[j])
        entering = a.new_empty(batch, n, hidden)  # (B, n, H)
        entering[:, 0] = h0
        for c in range(1, n):
            torch.addcmul(local[:, c - 1], keep[:, c - 1], entering[:, c - 1], out=entering[:, c])
        state = entering
        out_j = out[:, : n * chunk].unflatten(1, (n, chunk)).unbind(2)  # views of out
        for j in range(chunk):
            state = torch.lerp(v_j[j], state, a_j[j], out=out_j[j])
        prev = state[:, -1]
    a_t, v_t, out_t = (x[:, n * chunk :].unbind(1) for x in (a, v, out))  # the last steps
    for t in range(length - n * chunk):
        prev = torch.lerp(v_t[t], prev, a_t[t], out=out_t[t])
    return out


def _scan_transposed(a: Tensor, grad_h: Tensor, out: Tensor) -> Tensor:
    """Gradient of a loss through `scan` w.r.t. every h_t, given its direct gradient grad_h:
    g_t = grad_h_t + a_{t+1} g_{t+1}, g_{T-1} = grad_h_{T-1}; chunked like `scan`, in reverse.
    a, grad_h, out (B, T, H) -> out."""
    batch, length, hidden = a.shape
    out[:, -1] = grad_h[:, -1]
    a_next, grad = a[:, 1:], grad_h[:, :-1]  # step t reads a_{t+1}: (B, T - 1, H)
    chunk = SCAN_CHUNK
    n = (length - 1) // chunk if length - 1 >= 2 * chunk else 0
    head = length - 1 - n * chunk  # steps [0, head) run plainly, after the chunks
    after = out[:, -1]
    if n:
        a_c = a_next[:, head:].unflatten(1, (n, chunk))  # (B, n, L, H)
        grad_c = grad[:, head:].unflatten(1, (n, chunk))
        a_j, grad_j = a_c.unbind(2), grad_c.unbind(2)  # L views (B, n, H) each
        local = grad_j[-1].clone()  # (B, n, H): each chunk's g from zero after it
        keep = a_j[-1].clone()  # (B, n, H)
        for j in range(chunk - 2, -1, -1):
            torch.addcmul(grad_j[j], a_j[j], local, out=local)
            keep.mul_(a_j[j])
        leaving = a.new_empty(batch, n, hidden)  # (B, n, H): g just after each chunk
        leaving[:, -1] = after
        for c in range(n - 2, -1, -1):
            torch.addcmul(local[:, c + 1], keep[:, c + 1], leaving[:, c + 1], out=leaving[:, c])
        state = leaving
        out_j = out[:, head:-1].unflatten(1, (n, chunk)).unbind(2)  # views of out
        for j in range(chunk - 1, -1, -1):
            state = torch.addcmul(grad_j[j], a_j[j], state, out=out_j[j])
        after = state[:, 0]
    a_t, grad_t, out_t = (x[:, :head].unbind(1) for x in (a_next, grad, out))
    for t in range(head - 1, -1, -1):
        after = torch.addcmul(grad_t[t], a_t[t], after, out=out_t[t])
    return out


class _MinRNNFunction(torch.autograd.Function):
    """Input projection, gates and scan of one minGRU / minLSTM direction, differentiated by hand.

    One matrix product per gate, so that each part is a contiguous (B, T, H) tensor (elementwise
    work on a column slice of one (B, T, 2H) product runs 1.5-9x slower per element); these
    buffers hold the gates, then their gradients: on CPU a fresh (B, T, H) buffer costs more in
    page faults than the arithmetic done on it, and autograd through the same formulas would
    allocate one per intermediate.

    Both cells scan h_t = a_t h_{t-1} + (1 - a_t) v_t with v = g(h~) and a kept share
    a = sigmoid(-u) = 1 - sigmoid(u) of a gate pre-activation u:
    minGRU, parts [k, h~]: u = k, a = 1 - z, computed as sigmoid(-k) from the negated rows of
    the projection (exact), so a gate near 1 leaves a tiny a with all its digits; they keep [a, v].
    minLSTM, parts [k_f, k_i, h~]: u = log i - log f, a = f' = f / (f + i), from
    log sigmoid(k) = -softplus(-k) so that f + i may underflow; they keep
    [sigmoid(-k_f), sigmoid(-k_i), v] for the backward pass, and a beside them.

    Backward, with g_t = dL/dh_t through the scan (`_scan_transposed`):
    dL/dv_t = g_t (1 - a_t), dL/du_t = g_t (1 - a_t) a_t (v_t - h_{t-1}), dL/dh_0 = g_0 a_0;
    dv/dh~ = 1 for h~ >= 0 (where v >= 0.5), v (1 - v) otherwise;
    du/dk_f = -sigmoid(-k_f), du/dk_i = sigmoid(-k_i) (minLSTM).
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        bias: Tensor,
        h0: Tensor,
        cell: MinCell,
        differentiable: bool,
    ) -> Tensor:
        hidden = h0.shape[-1]
        weights, biases = weight.split(hidden), bias.split(hidden)  # (H, D), (H) each
        gates = len(weights) - 1
        parts = [  # -u parts (B, T, H) each, negated rows: exact, and no pass over the output
            F.linear(x, -w_part, -b_part)
            for w_part, b_part in zip(weights[:gates], biases[:gates], strict=True)
        ]
        parts.append(F.linear(x, weights[-1], biases[-1]))  # h~, (B, T, H)
        v = parts[-1]  # h~, becomes v = g(h~) in place
        h = torch.empty_like(v)  # (B, T, H), scratch until the scan writes it
        if cell == "mingru":
            a = parts[0].sigmoid_()  # sigmoid(-k)
        else:  # u = log i - log f = softplus(-k_f) - softplus(-k_i), softplus(x) = log(e^x + 1)
            minus_k_f, minus_k_i, zero = parts[0], parts[1], v.new_zeros(())
            a = torch.logaddexp(minus_k_i, zero, out=None if differentiable else minus_k_i)
            a.sub_(torch.logaddexp(minus_k_f, zero, out=h)).sigmoid_()  # f'
            if differentiable:
                minus_k_f.sigmoid_()
                minus_k_i.sigmoid_()
        torch.sigmoid(v, out=h)
        torch.maximum(v.add_(0.5), h, out=v)  # g(h~)
        scan(a, v, h0, out=h)
        if differentiable:
            ctx.cell = cell
            ctx.save_for_backward(x, weight, a, h, h0, *parts)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_h: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, a, h, h0, *parts = ctx.saved_tensors
        hidden, features = h.shape[-1], x.shape[-1]
        g_h = _scan_transposed(a, grad_h, torch.empty_like(h))  # (B, T, H)
        grad_h0 = g_h[:, 0] * a[:, 0]  # (B, H)
        grad_gate = a  # becomes dL/du in a's buffer (minGRU: parts[0])
        _gate_and_value_grads(grad_gate, parts[-1], g_h, h, h0)
        if ctx.cell == "minlstm":
            parts[0].mul_(grad_gate).neg_()  # dL/dk_f
            parts[1].mul_(grad_gate)  # dL/dk_i
        # parts now hold dL/d(W_part x + b_part), (B, T, H) each
        flat_parts = [part.view(-1, hidden) for part in parts]  # (B T, H) each
        weights = weight.split(hidden)  # (H, D) each
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:  # into g_h's buffer, done with, when D = H
            grad_x = g_h if features == hidden else x.new_empty(*x.shape[:-1], features)
            torch.mm(flat_parts[0], weights[0], out=grad_x.view(-1, features))
            for part, w_part in zip(flat_parts[1:], weights[1:], strict=True):
                grad_x.view(-1, features).addmm_(part, w_part)
        if ctx.needs_input_grad[1]:
            flat_x = x.reshape(-1, features)  # (B T, D)
            grad_weight = torch.cat([part.T @ flat_x for part in flat_parts])
        if ctx.needs_input_grad[2]:
            grad_bias = torch.cat([part.sum(0) for part in flat_parts])
        return grad_x, grad_weight, grad_bias, grad_h0, None, None


def _gate_and_value_grads(a: Tensor, v: Tensor, g_h: Tensor, h: Tensor, h0: Tensor) -> None:
    """From g = dL/dh, in place and GRAD_BLOCK time steps at a time (in cache): a <- dL/du =
    g (1 - a) a (v_t - h_{t-1}), v <- dL/dh~ = g (1 - a) g'(h~), g_h <- dL/dv = g (1 - a).
    a, v, g_h, h (B, T, H), h0 (B, H)."""
    batch, length, hidden = a.shape
    block = min(GRAD_BLOCK, length)
    scratch = a.new_empty(batch, block, hidden)  # (B, block, H)
    for start in range(0, length, block):
        stop = min(start + block, length)
        a_b, v_b, g_b = a[:, start:stop], v[:, start:stop], g_h[:, start:stop]
        s = scratch[:, : stop - start]
        torch.addcmul(g_b, g_b, a_b, value=-1, out=g_b)  # dL/dv = g (1 - a)
        a_b.mul_(g_b)
        if start == 0:  # h_{t-1} is h0, then h_0 .. h_{stop - 2}
            torch.sub(v_b[:, 0], h0, out=s[:, 0])
            torch.sub(v_b[:, 1:], h[:, : stop - 1], out=s[:, 1:])
        else:
            torch.sub(v_b, h[:, start - 1 : stop - 1], out=s)
        a_b.mul_(s)
        torch.ge(v_b, 0.5, out=s)  # 1 on the linear branch h~ >= 0, else 0
        v_b.addcmul_(v_b, v_b, value=-1)  # v (1 - v), below 1 on both branches
        torch.maximum(v_b, s, out=v_b).mul_(g_b)  # g'(h~) without a branch per element


def _differentiable(*tensors: Tensor) -> bool:
    """Whether autograd will record an operation on these tensors."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


class _MinLayer(nn.Module):
    """One minGRU or minLSTM direction: x_t's linear map to the `parts` pre-activations (H each)
    and the parallel form; the subclass names its `cell` and writes the sequential `step`."""

    cell: ClassVar[MinCell]
    parts: ClassVar[int]

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size, self.parts * hidden_size)

    def forward(self, x: Tensor, h0: Tensor | None = None) -> Tensor:
        """Parallel form. x (B, T, D), h0 (B, H) or None -> h (B, T, H)."""
        if h0 is None:
            h0 = x.new_zeros(x.shape[0], self.hidden_size)
        weight, bias = self.linear.weight, self.linear.bias
        differentiable = _differentiable(x, weight, bias, h0)
        return _MinRNNFunction.apply(x, weight, bias, h0, self.cell, differentiable)


class MinGRULayer(_MinLayer):
    """One minGRU direction: z_t = sigmoid(W_z x_t), h_t = (1 - z_t) h_{t-1} + z_t g(W_h x_t)."""

    cell = "mingru"
    parts = 2  # linear: [k (gate) | h_tilde]

    def step(self, x_t: Tensor, h_prev: Tensor) -> Tensor:
        """Sequential form. x_t (B, D), h_prev (B, H) -> h_t (B, H)."""
        k, h_tilde = self.linear(x_t).chunk(2, dim=-1)
        return torch.lerp(h_prev, g(h_tilde), torch.sigmoid(k))


class MinLSTMLayer(_MinLayer):
    """One minLSTM direction (length-independent scaling of the gates, paper section 3.2.3).

    f_t, i_t = sigmoid(W_f x_t), sigmoid(W_i x_t); f'_t, i'_t = f_t, i_t / (f_t + i_t);
    h_t = f'_t h_{t-1} + i'_t g(W_h x_t), with i'_t = sigmoid(log i_t - log f_t) = 1 - f'_t.
    """

    cell = "minlstm"
    parts = 3  # linear: [f | i | h_tilde]

    def step(self, x_t: Tensor, h_prev: Tensor) -> Tensor:
        """Sequential form. x_t (B, D), h_prev (B, H) -> h_t (B, H)."""
        k_f, k_i, h_tilde = self.linear(x_t).chunk(3, dim=-1)
        i_prime = torch.sigmoid(F.softplus(-k_f) - F.softplus(-k_i))  # log i - log f
        return torch.lerp(h_prev, g(h_tilde), i_prime)


# ---------------------------------------------------------------------------------------------
# The two families behind the one contract


class MinRNN(nn.Module):
    """Stacked (optionally bidirectional) minGRU or minLSTM with torch's state layout."""

    def __init__(
        self,
        cell: MinCell,
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
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)  # (B, T, H * dirs)
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
        cell: TorchCell,
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
    if cell == "mingru" or cell == "minlstm":  # `==` narrows the Literal in both branches
        return MinRNN(cell, input_size, hidden_size, num_layers, dropout, bidirectional)
    return TorchRNN(cell, input_size, hidden_size, num_layers, dropout, bidirectional)


def recurrent_stack(
    config: RecurrentConfig, input_size: int, dropout: float = 0.0, bidirectional: bool = False
) -> TorchRNN | MinRNN:
    """`make_rnn` of a model config's recurrent stack: its `cell`, `hidden_size` and `num_layers`.

    Args:
        config: any config that inherits `RecurrentConfig`.
        input_size: features D of the input (B, T, D).
        dropout, bidirectional: as for `make_rnn` (a model's own fields, where it has them).

    Returns:
        `make_rnn(config.cell, input_size, config.hidden_size, config.num_layers, ...)`.
    """
    return make_rnn(
        config.cell, input_size, config.hidden_size, config.num_layers, dropout, bidirectional
    )
