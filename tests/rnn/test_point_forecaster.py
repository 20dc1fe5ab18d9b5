"""Point forecaster: overfitting, series equivariance, level handling, save/load round trip."""

from __future__ import annotations

import pytest
import torch

from diffrnn.modeling import load
from diffrnn.rnn.point_forecaster import PointForecaster, PointForecasterConfig


def _config(**kw) -> PointForecasterConfig:
    return PointForecasterConfig(
        **(dict(input_length=12, horizon=5, num_series=3, hidden_size=16) | kw)
    )


@pytest.mark.parametrize("channel_independent", [True, False])
def test_overfits_one_tiny_batch(channel_independent: bool) -> None:
    torch.set_num_threads(1)  # a tiny model: more threads only add contention
    torch.manual_seed(0)
    model = PointForecaster(_config(channel_independent=channel_independent, cell="mingru"))
    t = torch.arange(17.0)
    series = torch.stack([torch.sin(t * f + p) for f, p in [(0.3, 0), (0.5, 1), (0.7, 2)]], -1)
    batch = {
        "past": series[None, :12].repeat(4, 1, 1) + torch.arange(4.0)[:, None, None],
        "future": series[None, 12:].repeat(4, 1, 1) + torch.arange(4.0)[:, None, None],
    }
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = float(model.loss(batch).detach())
    for _ in range(300):
        opt.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        opt.step()
    assert float(loss) < 1e-3 * first


def test_channel_independent_model_is_equivariant_to_series_order() -> None:
    model = PointForecaster(_config(cell="lstm")).eval()
    past = torch.randn(2, 12, 3)
    perm = torch.tensor([2, 0, 1])
    torch.testing.assert_close(model.predict(past[..., perm]), model.predict(past)[..., perm])


def test_subtract_last_makes_forecasts_shift_with_the_level() -> None:
    model = PointForecaster(_config()).eval()
    past = torch.randn(2, 12, 3)
    torch.testing.assert_close(model.predict(past + 10.0), model.predict(past) + 10.0)


def test_save_load_round_trip(tmp_path) -> None:
    model = PointForecaster(_config(cell="rnn", num_layers=2)).eval()
    model.save_pretrained(tmp_path / "pf")
    loaded = load(tmp_path / "pf")
    past = torch.randn(3, 12, 3)
    assert loaded.config == model.config
    torch.testing.assert_close(loaded.predict(past), model.predict(past))
