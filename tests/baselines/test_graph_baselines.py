"""Graph floors: last value and the shared least-squares autoregression."""

from __future__ import annotations

import torch

from diffrnn.baselines.graph import SharedLinearAR, last_value


def test_last_value_repeats_the_last_step() -> None:
    x = torch.arange(24.0).reshape(2, 4, 3)  # (B, T_in, N)
    out = last_value(x, horizon=5)
    assert out.shape == (2, 5, 3)
    assert torch.equal(out, x[:, -1:].expand(-1, 5, -1))


def test_shared_linear_ar_recovers_a_noiseless_ar2_on_every_node() -> None:
    # x_t = 0.5 + 0.6 x_{t-1} - 0.3 x_{t-2} on 4 nodes with different starts.
    series = torch.zeros(60, 4, dtype=torch.float64)
    series[:2] = torch.randn(2, 4, dtype=torch.float64)
    for t in range(2, 60):
        series[t] = 0.5 + 0.6 * series[t - 1] - 0.3 * series[t - 2]
    x = torch.stack([series[i : i + 2] for i in range(57)]).float()  # (57, 2, 4)
    y = torch.stack([series[i + 2 : i + 3] for i in range(57)]).float()  # (57, 1, 4)
    model = SharedLinearAR.fit(x, y)
    torch.testing.assert_close(
        model.coefficients[:, 0], torch.tensor([0.5, -0.3, 0.6]), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(model.predict(x), y, atol=1e-4, rtol=0)
