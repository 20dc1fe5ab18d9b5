"""Recurrent layers: parity with torch.nn, minGRU/minLSTM parallel == sequential, gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from diffrnn.rnn import layers
from diffrnn.rnn.cells import CELL_TYPES, RecurrentConfig
from diffrnn.rnn.layers import g, make_rnn, recurrent_stack, scan


def _reference_mingru(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The paper's minGRU written out as a plain loop: x (B, T, D) -> h (B, T, H)."""
    hidden = weight.shape[0] // 2
    h = x.new_zeros(x.shape[0], hidden)
    outs = []
    for t in range(x.shape[1]):
        k, h_tilde = (x[:, t] @ weight.T + bias).split(hidden, dim=-1)
        z = torch.sigmoid(k)
        h_hat = torch.where(h_tilde >= 0, h_tilde + 0.5, torch.sigmoid(h_tilde))
        h = (1 - z) * h + z * h_hat
        outs.append(h)
    return torch.stack(outs, dim=1)


def _log_space_scan(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """The scan `scan` replaced (Heinsen 2023; the paper's parallel_scan_log), from log a, log b:
    h_t = a_t h_{t-1} + b_t = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_t(log b - a*))."""
    a_star = torch.cumsum(log_a, dim=1)  # (B, T, H)
    h = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
    return h + torch.exp(a_star) * h0.unsqueeze(1)


def _recurrence(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_t = a_t h_{t-1} + (1 - a_t) v_t one step at a time: (B, T, H) -> (B, T, H)."""
    h, outs = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + (1 - a[:, t]) * v[:, t]
        outs.append(h)
    return torch.stack(outs, dim=1)


def test_g_is_the_papers_piecewise_activation() -> None:
    x = torch.linspace(-30, 30, 2001, dtype=torch.float64)
    piecewise = torch.where(x >= 0, x + 0.5, torch.sigmoid(x))
    torch.testing.assert_close(g(x), piecewise, rtol=0, atol=0)
    assert (g(x) > 0).all() and g(torch.tensor(0.0)) == 0.5


@pytest.mark.parametrize(("length", "chunk"), [(1, 4), (7, 4), (8, 4), (9, 4), (30, 4), (200, 64)])
def test_scan_matches_the_recurrence_across_chunk_boundaries(
    length: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers, "SCAN_CHUNK", chunk)
    torch.manual_seed(1)
    a = torch.rand(3, length, 5, dtype=torch.float64)
    v = torch.randn(3, length, 5, dtype=torch.float64)
    h0 = torch.randn(3, 5, dtype=torch.float64)  # negative entries too
    torch.testing.assert_close(scan(a, v, h0), _recurrence(a, v, h0))


def test_scan_equals_the_log_space_scan_it_replaced() -> None:
    torch.manual_seed(2)
    a = 1 - torch.rand(2, 4000, 3, dtype=torch.float64) * 0.2  # sum log a reaches about -400
    v = torch.rand(2, 4000, 3, dtype=torch.float64) + 0.1
    h0 = torch.randn(2, 3, dtype=torch.float64)
    expected = _log_space_scan(a.log(), ((1 - a) * v).log(), h0)
    torch.testing.assert_close(scan(a, v, h0), expected, rtol=1e-10, atol=1e-10)


def test_saturated_gates_stay_exact_where_float32_logs_drift() -> None:
    """a within 1e-8 of 0 or 1: the chunked scan keeps float32 round-off; the log-space scan
    exponentiates a cumulative sum of logs (-3e4 here) and loses digits in the exponent."""
    torch.manual_seed(3)
    k = torch.randn(2, 3000, 4, dtype=torch.float64) * 20
    a, v = torch.sigmoid(-k), torch.rand(2, 3000, 4, dtype=torch.float64) + 0.1
    h0 = torch.zeros(2, 4, dtype=torch.float64)
    exact = _recurrence(a, v, h0)
    ours = scan(a.float(), v.float(), h0.float()).double()
    torch.testing.assert_close(ours, exact, rtol=1e-6, atol=1e-6)
    log_a, log_b = -F.softplus(k), -F.softplus(-k) + v.log()  # as the old layer computed them
    log_space = _log_space_scan(log_a.float(), log_b.float(), h0.float()).double()
    assert (log_space - exact).abs().max() > 1e-4


def test_mingru_matches_the_papers_loop() -> None:
    rnn = make_rnn("mingru", 4, 6)
    x = torch.randn(2, 30, 4)
    out, state = rnn(x)
    layer = rnn.layers[0]
    expected = _reference_mingru(x, layer.linear.weight, layer.linear.bias)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state[0], expected[:, -1])


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("features", [3, 5])  # D = H reuses a buffer for dL/dx
def test_hand_written_backward_equals_autograd_through_the_step_form(
    cell: str, features: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers, "SCAN_CHUNK", 4)  # 30 steps: 7 chunks and a tail
    monkeypatch.setattr(layers, "GRAD_BLOCK", 7)  # blocks of the elementwise backward, and a tail
    torch.manual_seed(4)
    rnn = make_rnn(cell, features, 5).double()
    x = torch.randn(2, 30, features, dtype=torch.float64) * 3  # both branches of g, saturation
    h0 = torch.randn(1, 2, 5, dtype=torch.float64)
    weights = torch.randn(2, 30, 5, dtype=torch.float64)

    def grads(parallel: bool) -> list[torch.Tensor]:
        x_ = x.clone().requires_grad_()
        h0_ = h0.clone().requires_grad_()
        if parallel:
            out, _ = rnn(x_, h0_)
        else:
            state, steps = h0_, []
            for t in range(x.shape[1]):
                y, state = rnn.step(x_[:, t], state)
                steps.append(y)
            out = torch.stack(steps, dim=1)
        params = list(rnn.parameters())
        return list(torch.autograd.grad((out * weights).sum(), [x_, h0_, *params]))

    for ours, reference in zip(grads(parallel=True), grads(parallel=False), strict=True):
        torch.testing.assert_close(ours, reference)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_hand_written_backward_matches_finite_differences(
    cell: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gradcheck's test, one random direction at a time: the backward reuses its saved buffers,
    so a graph takes one backward pass and torch.autograd.gradcheck (several) cannot run."""
    monkeypatch.setattr(layers, "SCAN_CHUNK", 2)  # 9 steps: 4 chunks and a tail
    monkeypatch.setattr(layers, "GRAD_BLOCK", 4)
    torch.manual_seed(6)
    layer = make_rnn(cell, 3, 4).double().layers[0]
    x, h0 = torch.randn(2, 9, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    inputs = [x, layer.linear.weight.detach(), layer.linear.bias.detach(), h0]
    weights = torch.randn(2, 9, 4, dtype=torch.float64)

    def loss(*args: torch.Tensor) -> torch.Tensor:
        return (layers._MinRNNFunction.apply(*args, cell, True) * weights).sum()

    leaves = [t.clone().requires_grad_() for t in inputs]
    grads = torch.autograd.grad(loss(*leaves), leaves)
    for _ in range(3):
        direction = [torch.randn_like(t) for t in inputs]
        step = 1e-6
        with torch.no_grad():
            plus = loss(*(t + step * d for t, d in zip(inputs, direction, strict=True)))
            minus = loss(*(t - step * d for t, d in zip(inputs, direction, strict=True)))
        numerical = (plus - minus) / (2 * step)
        analytical = sum((gr * d).sum() for gr, d in zip(grads, direction, strict=True))
        torch.testing.assert_close(analytical, numerical, rtol=1e-6, atol=1e-8)


def test_a_closed_gate_passes_its_tiny_share_of_the_gradient() -> None:
    """z = sigmoid(30) rounds to 1 in float32, so 1 - z would stop the gradient to h_{t-1}; the
    layer computes a = 1 - z as sigmoid(-30) = 9.4e-14 and passes dh_2/dh_0 = a^2 = 8.8e-27."""
    rnn = make_rnn("mingru", 1, 1)
    with torch.no_grad():
        rnn.layers[0].linear.weight.zero_()
        rnn.layers[0].linear.bias.copy_(torch.tensor([30.0, 0.0]))  # k, h~
    h0 = torch.ones(1, 1, 1, requires_grad=True)
    out, _ = rnn(torch.zeros(1, 2, 1), h0)
    out[0, -1].sum().backward()
    expected = torch.sigmoid(torch.tensor(-30.0, dtype=torch.float64)) ** 2
    torch.testing.assert_close(h0.grad.double().squeeze(), expected, rtol=1e-5, atol=0)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_long_sequence_equals_the_step_form_with_finite_gradients(cell: str) -> None:
    """T = 4000 in float32 with some saturated gates: parallel == step form to 1e-5, and the
    gradient equals autograd through the recurrence on the same gates."""
    torch.manual_seed(5)
    rnn = make_rnn(cell, 2, 4)
    with torch.no_grad():
        rnn.layers[0].linear.weight.mul_(8)
    x = torch.randn(1, 4000, 2, requires_grad=True)
    out, _ = rnn(x)
    with torch.no_grad():
        state, steps = None, []
        for t in range(x.shape[1]):
            y, state = rnn.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(out, torch.stack(steps, dim=1), atol=1e-5, rtol=1e-5)
    out[:, -1].sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad[:, -1].abs().sum() > 0
    if cell == "mingru":  # the same gradient through autograd of the plain loop
        x_ = x.detach().requires_grad_()
        k, h_tilde = rnn.layers[0].linear(x_).chunk(2, dim=-1)
        h = _recurrence(torch.sigmoid(-k), g(h_tilde), x_.new_zeros(1, 4))
        h[:, -1].sum().backward()
        torch.testing.assert_close(x.grad, x_.grad, atol=1e-5, rtol=1e-5)


def test_minlstm_survives_gates_whose_sum_underflows() -> None:
    """f_t and i_t both below float32's smallest number: f + i = 0, yet i / (f + i) is defined."""
    rnn = make_rnn("minlstm", 2, 3)
    with torch.no_grad():
        rnn.layers[0].linear.bias[:6] = -200.0  # k_f, k_i
        rnn.layers[0].linear.bias[3:6] -= 1.0  # i / f = e^-1
    x = torch.randn(2, 5, 2) * 0.01
    out, _ = rnn(x)
    y, _ = rnn.step(x[:, 0])
    assert torch.isfinite(out).all() and torch.isfinite(y).all()
    torch.testing.assert_close(out[:, 0], y)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_parallel_equals_sequential(cell: str, num_layers: int) -> None:
    rnn = make_rnn(cell, 5, 8, num_layers=num_layers).eval()
    x = torch.randn(3, 50, 5)
    h0 = torch.rand(num_layers, 3, 8)
    out, final = rnn(x, h0)
    state, steps = h0, []
    for t in range(x.shape[1]):
        y, state = rnn.step(x[:, t], state)
        steps.append(y)
    torch.testing.assert_close(out, torch.stack(steps, dim=1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(final, state, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # inference skips what only the backward pass needs
        torch.testing.assert_close(rnn(x, h0)[0], out, rtol=0, atol=0)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_chunked_forward_carries_state(cell: str) -> None:
    """Running two halves with the carried state equals one pass (generation relies on it)."""
    rnn = make_rnn(cell, 3, 7, num_layers=2).eval()
    x = torch.randn(2, 40, 3)
    full, full_state = rnn(x)
    first, state = rnn(x[:, :25])
    second, state = rnn(x[:, 25:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state, full_state, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_bidirectional_backward_half_is_the_reversed_sequence(cell: str) -> None:
    rnn = make_rnn(cell, 3, 4, bidirectional=True).eval()
    x = torch.randn(2, 20, 3)
    out, state = rnn(x)
    assert out.shape == (2, 20, 8) and state.shape == (2, 2, 4)
    backward = rnn.layers[1](x.flip(1)).flip(1)  # (B, T, H)
    torch.testing.assert_close(out[..., 4:], backward)
    torch.testing.assert_close(state[1], backward[:, 0])


@pytest.mark.parametrize(
    ("cell", "reference"), [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)]
)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_cells_equal_torch_nn_with_copied_weights(
    cell: str, reference: type[nn.Module], bidirectional: bool
) -> None:
    ours = make_rnn(cell, 4, 6, num_layers=2, bidirectional=bidirectional).eval()
    ref = reference(4, 6, num_layers=2, bidirectional=bidirectional).eval()  # time-major
    ref.load_state_dict({k.removeprefix("rnn."): v for k, v in ours.state_dict().items()})
    x = torch.randn(3, 11, 4)
    out, state = ours(x)
    ref_out, ref_state = ref(x.transpose(0, 1))
    torch.testing.assert_close(out, ref_out.transpose(0, 1))
    if cell == "lstm":
        torch.testing.assert_close(state[0], ref_state[0])
        torch.testing.assert_close(state[1], ref_state[1])
    else:
        torch.testing.assert_close(state, ref_state)
    if not bidirectional:  # step() is one forward of length 1 with the carried state
        y, s = ours.step(x[:, 0])
        y2, _ = ours.step(x[:, 1], s)
        torch.testing.assert_close(torch.stack([y, y2], dim=1), ours(x[:, :2])[0])


@pytest.mark.parametrize("cell", CELL_TYPES)
def test_shapes_and_gradients_reach_every_parameter_and_the_first_input(cell: str) -> None:
    rnn = make_rnn(cell, 3, 5, num_layers=2, dropout=0.1, bidirectional=True)
    x = torch.randn(2, 16, 3, requires_grad=True)
    out, _ = rnn(x)
    assert out.shape == (2, 16, 10)
    out[:, -1, :5].sum().backward()  # the forward direction's last output reaches x_0
    assert x.grad is not None and x.grad[:, 0].abs().sum() > 0
    x.grad = None
    out2, _ = rnn(x)  # the backward direction's recurrence needs later outputs too
    out2.sum().backward()
    for name, p in rnn.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_unknown_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="cell must be one of"):
        make_rnn("transformer", 1, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("cell", CELL_TYPES)
def test_recurrent_stack_is_make_rnn_of_the_configs_cell_and_sizes(cell: str) -> None:
    """The same parameters, names and initial values: models built through the config's stack
    keep the weights and numbers they had when they listed the sizes to `make_rnn`."""
    config = RecurrentConfig(cell=cell, hidden_size=5, num_layers=2)
    torch.manual_seed(0)
    expected = make_rnn(cell, 3, 5, 2, 0.1, True).state_dict()
    torch.manual_seed(0)
    stack = recurrent_stack(config, 3, dropout=0.1, bidirectional=True)
    assert list(stack.state_dict()) == list(expected)
    for name, value in stack.state_dict().items():
        assert torch.equal(value, expected[name]), name
