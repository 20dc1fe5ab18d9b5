"""TimeGrad: schedule, training signal, the sampling contract, scale equivariance, save/load, the
forecaster contract's chunked paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import diffrnn
from diffrnn.data.windows import MultivariateWindows, time_features
from diffrnn.hybrid.timegrad import TimeGrad, TimeGradConfig, training_step_scale
from diffrnn.rnn import deepar


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # tiny tensors: a second thread only adds synchronisation on a loaded machine
    torch.set_num_threads(1)


def tiny_config(**kwargs: object) -> TimeGradConfig:
    base = dict(
        target_dim=3,
        context_length=6,
        prediction_length=4,
        lags=(1, 2, 5),
        freq="B",
        hidden_size=12,
        num_layers=2,
        dropout=0.0,
        num_diffusion_steps=20,
        residual_layers=2,
        residual_channels=4,
        predict="level",
        white_noise_skip=False,
    )
    return TimeGradConfig(**{**base, **kwargs})  # type: ignore[arg-type]


def tiny_batch(config: TimeGradConfig, batch: int = 8) -> dict[str, torch.Tensor]:
    length = config.window_length + batch - 1
    t = np.arange(length)[:, None]
    values = 2.0 + np.sin(t / 3.0 + np.arange(config.target_dim)[None, :])  # (T, N) > 0
    calendar = time_features(pd.date_range("2020-01-01", periods=length, freq="B"), "B")
    windows = MultivariateWindows(values, config.window_length, calendar)
    items = [windows[i] for i in range(len(windows))]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def test_schedule_is_the_papers_linear_betas_from_diffusers() -> None:
    model = TimeGrad(TimeGradConfig(target_dim=2))
    expected = torch.linspace(1e-4, 0.1, 100, dtype=torch.float64).float()
    torch.testing.assert_close(model.process.betas, expected)


def test_windows_align_targets_and_calendar() -> None:
    values = np.arange(40.0).reshape(20, 2)
    windows = MultivariateWindows(values, 5, np.arange(20.0)[:, None], stride=3)
    assert len(windows) == 6
    item = windows[2]
    assert torch.equal(item["target"], torch.tensor(values[6:11], dtype=torch.float32))
    assert torch.equal(item["time_feat"][:, 0], torch.arange(6.0, 11.0))


def test_loss_decreases_on_a_tiny_batch() -> None:
    config = tiny_config()
    model = TimeGrad(config)
    batch = tiny_batch(config)
    generator_state = torch.get_rng_state()
    before = float(model.loss(batch).detach())
    torch.set_rng_state(generator_state)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimiser.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        optimiser.step()
    torch.set_rng_state(generator_state)
    after = float(model.loss(batch).detach())
    assert before > 0.9  # untrained: ~E|eps|^2 = 1 (zero-initialised output layer)
    assert after < 0.6 * before


def test_sampling_contract_shape_and_determinism() -> None:
    config = tiny_config()
    model = TimeGrad(config).eval()
    batch = tiny_batch(config, batch=2)
    history = batch["target"][:, : config.history_length]
    feats = batch["time_feat"][:, -(config.context_length + config.prediction_length) :]

    def draw(seed: int, **kwargs: object) -> torch.Tensor:
        return model.sample(
            history, feats, 5, generator=torch.Generator().manual_seed(seed), **kwargs
        )

    paths = draw(0)
    assert paths.shape == (2, 5, config.prediction_length, config.target_dim)
    assert torch.isfinite(paths).all()
    assert torch.equal(paths, draw(0))
    assert not torch.equal(paths, draw(1))
    fast = draw(0, sampler="dpmsolver++", steps=5)
    assert fast.shape == paths.shape and torch.isfinite(fast).all()


def test_forecasts_are_equivariant_to_each_series_scale() -> None:
    # Mean scaling: multiplying a series' history by c multiplies its paths by c, exactly.
    config = tiny_config()
    model = TimeGrad(config).eval()
    batch = tiny_batch(config, batch=1)
    history = batch["target"][:, : config.history_length]
    feats = batch["time_feat"][:, -(config.context_length + config.prediction_length) :]
    c = torch.tensor([1.0, 10.0, 0.5])
    base = model.sample(history, feats, 4, generator=torch.Generator().manual_seed(3))
    scaled = model.sample(history * c, feats, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(scaled, base * c, rtol=1e-4, atol=1e-5)


def test_save_load_round_trip(tmp_path: Path) -> None:
    config = tiny_config(cell="mingru")
    model = TimeGrad(config).eval()
    model.save_pretrained(tmp_path / "timegrad")
    loaded = diffrnn.load(tmp_path / "timegrad")
    assert loaded.config == config
    batch = tiny_batch(config, batch=1)
    history = batch["target"][:, : config.history_length]
    feats = batch["time_feat"][:, -(config.context_length + config.prediction_length) :]
    a = model.sample(history, feats, 3, generator=torch.Generator().manual_seed(0))
    b = loaded.sample(history, feats, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)


def test_increment_forecasts_follow_an_affine_change_of_units() -> None:
    """Increments are scaled by the context's mean move and start at the last value, so
    forecasting a x + b gives a paths + b per series under the same noise (levels are only
    scale-equivariant: the offset b changes their mean |x|)."""
    config = tiny_config(predict="increment")
    assert config.history_length == tiny_config().history_length + 1
    model = TimeGrad(config).eval()
    batch = tiny_batch(config, batch=1)
    history = batch["target"][:, : config.history_length]
    feats = batch["time_feat"][:, -(config.context_length + config.prediction_length) :]
    a, b = torch.tensor([1.0, 10.0, 0.5]), torch.tensor([3.0, -40.0, 0.0])
    base = model.sample(history, feats, 4, generator=torch.Generator().manual_seed(3))
    moved = model.sample(history * a + b, feats, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(moved, base * a + b, rtol=1e-4, atol=1e-4)
    assert torch.isfinite(base).all()
    with pytest.raises(ValueError, match="predict must be one of"):
        tiny_config(predict="returns")


def test_the_white_noise_skip_makes_an_untrained_increment_model_a_random_walk() -> None:
    """With the network's output at zero (as built), eps = sqrt(1 - abar_n) x_n is the exact noise
    prediction of N(0, 1) steps: paths move from the last value x_C with std s sqrt(h), s the
    context's root-mean-square move (here 1, 2 and 0.5 per step). DPM-Solver++ (the reference
    recipe's sampler) keeps N(0, 1) to 6%; 20 DDPM steps widen it by 8%."""
    config = tiny_config(predict="increment", white_noise_skip=True)
    model = TimeGrad(config).eval()  # untrained: the output layer starts at zero
    steps = torch.arange(config.history_length, dtype=torch.float32)[None, :, None]
    history = 100.0 + steps * torch.tensor([1.0, -2.0, 0.5])  # (1, L_h, 3)
    feats = torch.zeros(1, config.context_length + config.prediction_length, 3)
    paths = model.sample(
        history, feats, 3000, sampler="dpmsolver++", generator=torch.Generator().manual_seed(0)
    )  # (1, S, H, 3)
    moves = paths[0] - history[0, -1]  # (S, H, 3)
    expected = torch.tensor([1.0, 2.0, 0.5]) * torch.arange(1.0, 5.0)[:, None].sqrt()
    torch.testing.assert_close(moves.std(0), expected, rtol=0.06, atol=0)
    assert (moves.mean(0).abs() < 0.1 * expected).all()


@pytest.mark.parametrize("prediction", ["epsilon", "sample", "v_prediction"])
def test_the_white_noise_skip_is_the_exact_denoiser_of_normal_data(prediction: str) -> None:
    """E[x_0 | x_n] = a_n x_n when x_0 ~ N(0, 1): with the network's output at zero (as built),
    the skip (s_n x_n for epsilon, a_n x_n for x_0, 0 for v) gives that x_0 estimate whatever
    the network predicts, at every diffusion step n."""
    config = tiny_config(predict="increment", white_noise_skip=True, prediction=prediction)
    model = TimeGrad(config).eval()
    n = torch.arange(config.num_diffusion_steps)  # (T,) every step once
    x_n = torch.randn(len(n), config.target_dim, generator=torch.Generator().manual_seed(0))
    cond = torch.randn(len(n), config.hidden_size)
    x0, _ = model.process.split(x_n, n, model(x_n, n, cond))
    torch.testing.assert_close(x0, model.process.sqrt_alphas_cumprod[:, None] * x_n)


def test_a_fixed_step_scale_makes_the_untrained_model_the_training_random_walk() -> None:
    """`step_scale` (the training rows' step std, as the random-walk floor's) replaces the
    context's root-mean-square move (1, 2 and 0.5 here): the untrained model's paths move from
    x_C with std step_scale sqrt(h), whatever the context did."""
    scale = (0.3, 4.0, 1.0)
    config = tiny_config(predict="increment", white_noise_skip=True, step_scale=scale)
    model = TimeGrad(config).eval()
    steps = torch.arange(config.history_length, dtype=torch.float32)[None, :, None]
    history = 100.0 + steps * torch.tensor([1.0, -2.0, 0.5])  # (1, L_h, 3)
    history = history.expand(2, -1, -1)  # two windows: the scale is shared, (2, L_h, 3)
    feats = torch.zeros(2, config.context_length + config.prediction_length, 3)
    paths = model.sample(
        history, feats, 2000, sampler="dpmsolver++", generator=torch.Generator().manual_seed(0)
    )  # (2, S, H, 3)
    moves = (paths - history[:, None, -1:]).flatten(0, 1)  # (2 S, H, 3)
    expected = torch.tensor(scale) * torch.arange(1.0, 5.0)[:, None].sqrt()
    torch.testing.assert_close(moves.std(0), expected, rtol=0.06, atol=0)


def test_training_step_scale_is_the_random_walk_floors_sigma() -> None:
    from diffrnn.baselines.forecast import RandomWalk

    train = np.random.default_rng(0).standard_normal((50, 3)).cumsum(0) * [1.0, 0.1, 3.0]
    expected = RandomWalk.fit(train).sigma
    np.testing.assert_allclose(training_step_scale(train), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="step_scale scales increments"):
        tiny_config(step_scale=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="3 positive values"):
        tiny_config(predict="increment", step_scale=(1.0, 1.0))
    with pytest.raises(ValueError, match="3 positive values"):
        tiny_config(predict="increment", step_scale=(1.0, 0.0, 1.0))


@pytest.mark.parametrize(("budget", "per_call"), [(2 * 5 * 4, 2), (5 * 4 - 1, 1), (10**6, 5)])
def test_sample_paths_draw_whole_windows_within_the_path_budget(
    monkeypatch: pytest.MonkeyPatch, budget: int, per_call: int
) -> None:
    """10,000 series x 100 paths x 3 origins at once asked for far more than one window's worth;
    each `sample` call holds at most budget // (samples x series) windows (one if a window is
    over), in order, with the sampler asked for."""
    model = TimeGrad(tiny_config(target_dim=4, freq=None))
    calls: list[list[float]] = []
    samplers: list[tuple[str, int | None]] = []

    def sample(history: torch.Tensor, feats: torch.Tensor, n: int, **kw: Any) -> torch.Tensor:
        calls.append(history[:, 0, 0].tolist())  # (W,) the first value names the window
        samplers.append((kw["sampler"], kw["steps"]))
        w, _, series = history.shape
        return history[:, None, :1, :1].expand(w, n, 3, series).clone()  # (W, S, H, N)

    monkeypatch.setattr(model, "sample", sample)
    monkeypatch.setattr(deepar, "SAMPLE_CHUNK_PATHS", budget)
    history = torch.arange(5.0)[:, None, None] * torch.ones(5, 6, 4)  # (W=5, L, N=4)
    paths = model.sample_paths(history, None, 5, None, "ddim", 10)
    sizes = [len(c) for c in calls]
    assert max(sizes) == per_call and sum(sizes) == 5
    assert set(samplers) == {("ddim", 10)}
    assert paths.shape == (5, 5, 3, 4)
    np.testing.assert_array_equal(paths[:, 0, 0, 0], np.arange(5.0))  # windows in order
