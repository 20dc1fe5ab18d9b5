"""SegRNN: the batched forward equals the paper's equations run segment by segment, level shift,
overfitting, config checks, save/load round trip."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from diffrnn.modeling import load
from diffrnn.rnn.segrnn import SegRNN, SegRNNConfig


def _config(**kw) -> SegRNNConfig:
    return SegRNNConfig(
        **(
            dict(
                input_length=12, horizon=8, num_series=3, segment_length=4, hidden_size=8, dropout=0
            )
            | kw
        )
    )


def _reference(model: SegRNN, past: torch.Tensor) -> torch.Tensor:
    """The paper's equations, one series and one output segment at a time.

    past (B, L, N) -> (B, H, N).
    """
    c = model.config
    w, n, m = c.segment_length, c.input_segments, c.output_segments
    out = torch.empty(past.shape[0], c.horizon, c.num_series)
    for b in range(past.shape[0]):
        for ch in range(c.num_series):
            x = past[b, :, ch] - past[b, -1, ch]  # (L,): the last value subtracted
            x = torch.cat([x[:1].repeat(n * w - len(x)), x])  # padded on the left with x_1
            state = None
            for j in range(n):  # E_j = ReLU(W_e X_j + b_e), one cell step per input segment
                _, state = model.rnn.step(F.relu(model.embed(x[j * w : (j + 1) * w]))[None], state)
            y = []
            for k in range(m):  # o_k = cell([pe_k ; ce_c], h_n), Y_k = W_o o_k + b_o
                query = torch.cat([model.position[k], model.channel[ch]])[None]
                o, _ = model.rnn.step(query, state)
                y.append(model.head(o)[0])
            out[b, :, ch] = torch.cat(y)[: c.horizon] + past[b, -1, ch]
    return out


@pytest.mark.parametrize(
    ("cell", "input_length", "horizon", "num_layers"),
    [
        ("gru", 12, 8, 1),
        ("lstm", 10, 7, 1),
        ("mingru", 12, 3, 1),
        ("rnn", 5, 9, 1),
        ("gru", 12, 8, 2),  # stacked: each decoder step starts from every layer's h_n
        ("lstm", 10, 7, 3),
    ],
)
def test_batched_forward_equals_the_equations_segment_by_segment(
    cell: str, input_length: int, horizon: int, num_layers: int
) -> None:
    torch.manual_seed(0)
    config = _config(cell=cell, input_length=input_length, horizon=horizon, num_layers=num_layers)
    model = SegRNN(config).eval()
    past = torch.randn(2, input_length, 3)
    with torch.no_grad():
        torch.testing.assert_close(model.predict(past), _reference(model, past))


def test_output_segments_are_decoded_independently() -> None:
    torch.manual_seed(0)
    model = SegRNN(_config()).eval()
    past = torch.randn(2, 12, 3)
    with torch.no_grad():
        before = model.predict(past)
        model.position[1] += 1.0  # the second segment's position embedding only
        after = model.predict(past)
    torch.testing.assert_close(after[:, :4], before[:, :4])
    assert not torch.allclose(after[:, 4:], before[:, 4:])


def test_forecasts_shift_with_the_level() -> None:
    model = SegRNN(_config()).eval()
    past = torch.randn(2, 12, 3)
    with torch.no_grad():
        torch.testing.assert_close(model.predict(past + 10.0), model.predict(past) + 10.0)


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_overfits_one_tiny_batch(loss: str) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SegRNN(_config(loss=loss))
    t = torch.arange(20.0)
    series = torch.stack([torch.sin(t * f + p) for f, p in [(0.3, 0), (0.5, 1), (0.7, 2)]], -1)
    batch = {"past": series[None, :12].repeat(4, 1, 1), "future": series[None, 12:].repeat(4, 1, 1)}
    batch = {k: v + torch.arange(4.0)[:, None, None] for k, v in batch.items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = float(model.loss(batch).detach())
    for _ in range(300):
        opt.zero_grad()
        value = model.loss(batch)
        value.backward()
        opt.step()
    assert float(value.detach()) < 0.03 * first


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 7}, "hidden_size must be even"),
        ({"loss": "huber"}, "loss must be one of"),
        ({"cell": "transformer"}, "cell must be one of"),
        ({"segment_length": 0}, "segment_length must be >= 1"),
        ({"dropout": 1.0}, "dropout must be in"),
    ],
)
def test_bad_configs_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(**kwargs)


def test_a_window_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"past must be \(B, 12, 3\)"):
        SegRNN(_config()).predict(torch.randn(2, 11, 3))


def test_save_load_round_trip(tmp_path) -> None:
    model = SegRNN(_config(cell="lstm", dropout=0.5)).eval()
    model.save_pretrained(tmp_path / "segrnn")
    loaded = load(tmp_path / "segrnn")
    past = torch.randn(3, 12, 3)
    assert loaded.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded.predict(past), model.predict(past))
