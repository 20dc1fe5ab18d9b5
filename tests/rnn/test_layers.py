"""Recurrent layers: parity with torch.nn, minGRU/minLSTM parallel == sequential, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffrnn.rnn.layers import CELL_TYPES, g, log_g, make_rnn, parallel_scan_log


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


def test_g_is_continuous_positive_and_log_g_matches() -> None:
    x = torch.linspace(-30, 30, 2001, dtype=torch.float64)
    assert (g(x) > 0).all()
    torch.testing.assert_close(log_g(x), g(x).log())
    assert g(torch.tensor(0.0)) == 0.5 and torch.sigmoid(torch.tensor(0.0)) == 0.5


def test_parallel_scan_matches_the_recurrence_with_any_initial_state() -> None:
    torch.manual_seed(1)
    a = torch.rand(3, 40, 5, dtype=torch.float64) * 0.9 + 0.05
    b = torch.rand(3, 40, 5, dtype=torch.float64) + 0.1
    h0 = torch.randn(3, 5, dtype=torch.float64)  # negative entries too
    h = parallel_scan_log(a.log(), b.log(), h0)
    expected, prev = [], h0
    for t in range(40):
        prev = a[:, t] * prev + b[:, t]
        expected.append(prev)
    torch.testing.assert_close(h, torch.stack(expected, dim=1))


def test_mingru_matches_the_papers_loop() -> None:
    rnn = make_rnn("mingru", 4, 6)
    x = torch.randn(2, 30, 4)
    out, state = rnn(x)
    layer = rnn.layers[0]
    expected = _reference_mingru(x, layer.linear.weight, layer.linear.bias)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state[0], expected[:, -1])


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


def test_mingru_gradient_is_finite_on_a_long_sequence() -> None:
    rnn = make_rnn("mingru", 2, 4)
    x = torch.randn(1, 2000, 2, requires_grad=True)
    rnn(x)[0][:, -1].sum().backward()
    assert torch.isfinite(x.grad).all()


def test_unknown_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="cell must be one of"):
        make_rnn("transformer", 1, 1)  # type: ignore[arg-type]
