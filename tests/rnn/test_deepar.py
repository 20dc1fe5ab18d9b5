"""DeepAR: designed lag inputs, overfitting a tiny batch, sampling shapes, save/load round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from diffrnn.data.windows import ForecastProblem, SeriesWindows, time_features
from diffrnn.modeling import load
from diffrnn.rnn.deepar import (
    MIN_SIGMA,
    DeepAR,
    DeepARConfig,
    deepar_exchange,
    deepar_forecaster,
)

LAGS = (1, 2, 5)


def _config(**kw) -> DeepARConfig:
    base = dict(
        context_length=6,
        prediction_length=4,
        lags=LAGS,
        hidden_size=8,
        num_layers=1,
        dropout=0.0,
        num_series=3,
        embedding_dim=2,
        predict="level",
    )
    return DeepARConfig(**(base | kw))


def _batch(config: DeepARConfig, batch: int = 2) -> dict[str, torch.Tensor]:
    length = config.window_length
    target = torch.arange(1.0, length + 1).repeat(batch, 1) * torch.arange(1, batch + 1)[:, None]
    index = pd.date_range("2024-01-01", periods=length, freq="B")
    feats = torch.tensor(time_features(index, "B")).repeat(batch, 1, 1)
    return {"target": target, "time_feat": feats, "series_id": torch.arange(batch)}


def test_lag_inputs_of_increasing_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Target y_p = (p + 1) * b: every lag column must be (p + 1 - lag) * b / nu."""
    config = _config()
    model = DeepAR(config)
    batch = _batch(config)
    seen = []
    model.rnn.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    model.loss(batch)
    inputs = seen[0]  # (B, C + H, D)
    steps = config.context_length + config.prediction_length
    max_lag, c = max(LAGS), config.context_length
    for b in range(2):
        scale = batch["target"][b, max_lag : max_lag + c].abs().mean()
        for t in range(steps):
            p = max_lag + t  # position in the window
            for k, lag in enumerate(LAGS):
                expected = (p + 1 - lag) * (b + 1) / scale
                torch.testing.assert_close(inputs[b, t, k], expected)
        torch.testing.assert_close(inputs[b, :, 3:6], batch["time_feat"][b, -steps:])
        torch.testing.assert_close(inputs[b, :, 6], scale.log().expand(steps))
        torch.testing.assert_close(inputs[b, :, 7:], model.embedding.weight[b].expand(steps, -1))


@pytest.mark.parametrize("distribution", ["gaussian", "student_t"])
@pytest.mark.parametrize("relative_to_last", [False, True])
def test_head_parameters(distribution: str, relative_to_last: bool) -> None:
    """loc = mu (+ z_{t-1}), scale = softplus + floor, df = 2 + softplus (Student-t)."""
    model = DeepAR(_config(distribution=distribution, relative_to_last=relative_to_last))
    hidden, z_prev = torch.randn(5, 7, 8), torch.randn(5, 7)
    dist = model.distribution(hidden, z_prev)
    params = model.head(hidden)
    assert dist.batch_shape == (5, 7)
    assert isinstance(dist, torch.distributions.StudentT) == (distribution == "student_t")
    loc = params[..., 0] + (z_prev if relative_to_last else 0)
    torch.testing.assert_close(dist.loc, loc)
    torch.testing.assert_close(dist.scale, torch.nn.functional.softplus(params[..., 1]) + MIN_SIGMA)
    if distribution == "student_t":
        torch.testing.assert_close(dist.df, 2 + torch.nn.functional.softplus(params[..., 2]))


@pytest.mark.parametrize("cell", ["lstm", "mingru"])
def test_overfits_one_tiny_batch_and_samples_follow_it(cell: str) -> None:
    """A deterministic ramp per series: after training the paths continue the ramp."""
    torch.set_num_threads(1)  # a tiny model: more threads only add contention
    torch.manual_seed(0)
    config = _config(cell=cell, distribution="gaussian", hidden_size=16)
    model = DeepAR(config)
    batch = _batch(config, batch=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert min(losses) < min(losses[0], 0.0) - 1.5  # NLL (scaled units) fell well below
    model.eval()
    h = config.prediction_length
    history = batch["target"][:, :-h]
    torch.manual_seed(1)
    paths = model.sample(
        history,
        batch["time_feat"][:, -(config.context_length + h) :],
        batch["series_id"],
        num_samples=50,
    )
    assert paths.shape == (3, 50, h)
    truth = batch["target"][:, -h:]
    median = paths.median(dim=1).values
    assert ((median - truth).abs() / truth).max() < 0.1


def test_save_load_round_trip_gives_the_same_loss_and_paths(tmp_path) -> None:
    config = _config(cell="minlstm")
    model = DeepAR(config).eval()
    batch = _batch(config)
    model.save_pretrained(tmp_path / "deepar")
    loaded = load(tmp_path / "deepar")
    assert isinstance(loaded, DeepAR) and loaded.config == config
    torch.testing.assert_close(loaded.loss(batch), model.loss(batch))
    args = (batch["target"][:, :-4], batch["time_feat"][:, -10:], batch["series_id"], 5)
    torch.manual_seed(3)
    a = model.sample(*args)
    torch.manual_seed(3)
    torch.testing.assert_close(loaded.sample(*args), a)


def test_exchange_preset_reads_gluonts_lags_and_windows_fit() -> None:
    config = deepar_exchange("gru")
    assert config.lags[:7] == (1, 2, 3, 4, 5, 6, 7) and max(config.lags) == 793
    values = np.abs(np.random.default_rng(0).normal(size=(config.window_length + 5, 8))) + 1
    windows = SeriesWindows(values, config.window_length)
    assert len(windows) == 6 * 8
    item = windows[9]  # start 1, series 1
    np.testing.assert_allclose(
        item["target"].numpy(), values[1 : 1 + config.window_length, 1], rtol=1e-6
    )
    with pytest.raises(ValueError, match="distribution must be one of"):
        DeepARConfig(distribution="laplace")  # type: ignore[arg-type]


@pytest.mark.parametrize("distribution", ["student_t", "gaussian"])
def test_draws_follow_torchs_sampler_under_the_same_seed(distribution: str) -> None:
    """`_draw` (a generator per block) reproduces `Distribution.sample()` bit for bit."""
    from torch import distributions

    from diffrnn.rnn.deepar import _draw

    g = torch.Generator().manual_seed(5)
    loc, scale, df = torch.randn(700, generator=g), torch.rand(700, generator=g) + 0.1, None
    if distribution == "student_t":
        df = 2.0 + 4.0 * torch.rand(700, generator=g)
        dist = distributions.StudentT(df, loc, scale)
    else:
        dist = distributions.Normal(loc, scale)
    torch.manual_seed(11)
    assert torch.equal(_draw(dist, [torch.Generator().manual_seed(11)]), dist.sample())


def test_chunked_sampling_equals_unchunked_under_the_same_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A budget of one noise block per chunk (3 chunks here) gives the paths of one chunk."""
    from diffrnn.rnn import deepar

    monkeypatch.setattr(deepar, "NOISE_BLOCK", 64)
    config = _config()
    model = DeepAR(config).eval()
    batch = _batch(config, batch=3)
    series = 40  # 40 series x 4 paths = 160 paths = 2.5 blocks of 64
    history = batch["target"][:, :-4].repeat(14, 1)[:series] * torch.rand(series, 1)
    args = (
        history,
        batch["time_feat"][:, -10:].repeat(14, 1, 1)[:series],
        torch.arange(series) % 3,
        4,
    )
    chunks: list[int] = []
    real_unroll = DeepAR._unroll

    def counting(self, z, *rest):  # type: ignore[no-untyped-def]
        chunks.append(z.shape[0])
        return real_unroll(self, z, *rest)

    monkeypatch.setattr(DeepAR, "_unroll", counting)
    small = model.sample_bytes_per_path(batch["time_feat"].shape[-1]) * 64  # one block a chunk
    whole = model.sample(*args, generator=torch.Generator().manual_seed(9))
    assert chunks == [160]
    chunked = model.sample(*args, generator=torch.Generator().manual_seed(9), max_bytes=small)
    assert chunks[1:] == [64, 64, 32]
    assert whole.shape == (series, 4, 4) and torch.isfinite(whole).all()
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-6)
    again = model.sample(*args, generator=torch.Generator().manual_seed(10))
    assert not torch.allclose(again, whole)  # the generator does decide the paths


def test_the_chunk_size_stays_within_the_budget() -> None:
    model = DeepAR(deepar_exchange("lstm"))  # lags up to 793: long histories per path
    per_path = model.sample_bytes_per_path(4)
    assert per_path > 50_000  # 53 kB: a million paths at once would need 53 GB
    for budget in (2**28, 2**30, 2**32):
        chunk = model.chunk_paths(4, budget)
        assert chunk % 1024 == 0 and chunk * per_path <= budget < (chunk + 1024) * per_path
    assert model.chunk_paths(4, 2**20) == 1024  # never less than one noise block


def test_increment_lags_read_the_scaled_steps() -> None:
    """Target y_p = (p + 1) * b moves by b every step, so s = b and every lag of
    d_t = (y_t - y_{t-1}) / s is exactly 1; the static input is log s."""
    config = _config(predict="increment")
    assert config.window_length == _config().window_length + 1  # the row before the first lag
    model = DeepAR(config)
    batch = _batch(config)
    seen = []
    model.rnn.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    model.loss(batch)
    inputs = seen[0]  # (B, C + H, D)
    torch.testing.assert_close(inputs[:, :, :3], torch.ones(2, 10, 3))
    torch.testing.assert_close(inputs[:, :, 6], torch.tensor([[1.0], [2.0]]).log().expand(2, 10))


def _white_noise_head(model: DeepAR) -> None:
    """Make the head say d_t ~ N(0, 1) whatever the state."""
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([0.0, float(np.log(np.expm1(1.0 - MIN_SIGMA)))]))


def test_an_increment_model_with_a_white_noise_head_is_a_random_walk_of_the_contexts_scale() -> (
    None
):
    """Paths start at the last value y_C and their h-step moves have std s sqrt(h), s the
    context's root-mean-square move; a level model with the same head draws y ~ nu N(0, 1)
    instead."""
    config = _config(predict="increment", distribution="gaussian")
    model = DeepAR(config).eval()
    _white_noise_head(model)
    batch = _batch(config, batch=2)
    history = batch["target"][:, : config.history_length]  # moves of 1 and 2 per step
    torch.manual_seed(0)
    paths = model.sample(
        history, batch["time_feat"][:, -10:], batch["series_id"], num_samples=4000
    )  # (2, 4000, 4)
    moves = paths - history[:, -1:, None]  # (2, S, H) from y_C
    np.testing.assert_allclose(moves.mean(1).abs().numpy(), 0.0, atol=0.15)
    expected = torch.tensor([1.0, 2.0])[:, None] * torch.arange(1, 5).sqrt()  # s sqrt(h)
    torch.testing.assert_close(moves.std(1), expected, rtol=0.05, atol=0)


def test_an_increment_model_learns_a_random_walks_scale() -> None:
    """Trained on Gaussian random walks (steps of std 0.01 around 1), the paths' 4-step moves
    have the walk's std 0.02."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sigma = 0.01
    values = 1.0 + np.cumsum(rng.normal(0, sigma, size=(600, 3)), axis=0)
    config = _config(predict="increment", distribution="gaussian", freq=None)
    model = DeepAR(config)
    windows = SeriesWindows(values, config.window_length)
    loader = torch.utils.data.DataLoader(windows, batch_size=64, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _, batch in zip(range(150), _cycle(loader), strict=False):
        opt.zero_grad()
        model.loss(batch).backward()
        opt.step()
    model.eval()
    fresh = 1.0 + np.cumsum(rng.normal(0, sigma, size=(200 * config.history_length, 1)), axis=0)
    history = torch.as_tensor(fresh.reshape(200, -1), dtype=torch.float32)  # 200 new contexts
    paths = model.sample(history, torch.zeros(200, 10, 0), torch.arange(200) % 3, 200)
    moves = paths[:, :, -1] - history[:, -1:]  # (200, S): 4-step moves
    ratio = float(moves.std() / (sigma * 2.0))  # std of a 4-step move: sigma sqrt(4)
    assert 0.85 < ratio < 1.15, ratio


def _cycle(loader):  # type: ignore[no-untyped-def]
    while True:
        yield from loader


def test_increment_rejects_relative_to_last_and_unknown_targets() -> None:
    with pytest.raises(ValueError, match="relative_to_last"):
        _config(predict="increment", relative_to_last=True)
    with pytest.raises(ValueError, match="predict must be one of"):
        _config(predict="return")


def _problem(rows: int, freq: str = "B") -> ForecastProblem:
    values = np.abs(np.random.default_rng(0).normal(size=(rows, 3))) + 1  # (T, N)
    return ForecastProblem(values, rows - 5, (rows,), 5, 10, freq, np.datetime64("2024-01-01"))


def test_the_preset_reads_the_lags_that_fit_twice_before_a_window() -> None:
    """Room for lags: train_end - context - horizon rows; a lag fits when twice it fits, and
    GluonTS's business-day lags (1-7, 9-11, 14-16, 19-23, 259, ...) stop at a month (23)."""
    short = deepar_forecaster(_problem(5 + 10 + 5 + 2 * 9 + 1), "quick")  # room 19: lags <= 9
    assert short.lags == (1, 2, 3, 4, 5, 6, 7, 9)
    long = deepar_forecaster(_problem(1000), "full", cell="gru")
    assert long.lags == (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 14, 15, 16, 19, 20, 21, 22, 23)
    assert (long.cell, long.hidden_size, long.num_layers, long.num_series) == ("gru", 40, 2, 3)
    hourly = deepar_forecaster(_problem(1000, "h"), "quick")
    assert hourly.lags == (1, 2, 3, 4, 5, 6, 7, 23) and hourly.freq == "h"


def test_sample_paths_are_each_series_sample_in_the_contracts_layout() -> None:
    """sample_paths: (B, L, N) windows -> (B, S, H, N), series b n drawn as row b N + n of one
    `sample` call (ids n), so the same generator gives the same numbers both ways."""
    torch.manual_seed(0)
    model = DeepAR(_config(freq=None)).eval()
    history = torch.rand(2, model.config.history_length, 3) + 1  # (B, L, N)
    paths = model.sample_paths(history, None, 4, torch.Generator().manual_seed(1))
    rows = history.permute(0, 2, 1).reshape(6, -1)  # (B N, L)
    feats = history.new_zeros(6, 10, 0)  # (B N, C + H, 0)
    direct = model.sample(
        rows, feats, torch.arange(3).repeat(2), 4, torch.Generator().manual_seed(1)
    )
    assert paths.shape == (2, 4, 4, 3)
    torch.testing.assert_close(paths[1, :, :, 2], direct[5])
