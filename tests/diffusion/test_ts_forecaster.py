"""Diffusion forecaster: sample-path contract, affine equivariance of the scaling, save/load, and a
tiny model learning a periodic series."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.data.windows import forecast_windows
from diffrnn.diffusion.denoisers_1d import ConvDenoiser1dConfig
from diffrnn.diffusion.ts_forecaster import DiffusionForecaster, DiffusionForecasterConfig
from diffrnn.training import OptimConfig, TrainConfig, fit


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # tiny models gain nothing from a second thread, and on a shared, loaded CPU two threads
    # spin against each other (measured 15x slower); CI's result is the same either way
    torch.set_num_threads(1)


def _model(hidden: int = 16, layers: int = 3) -> DiffusionForecaster:
    torch.manual_seed(0)
    denoiser = ConvDenoiser1dConfig(
        num_series=2, horizon=6, context=12, hidden=hidden, layers=layers
    )
    model = DiffusionForecaster(DiffusionForecasterConfig(denoiser, sampler_steps=5))
    torch.nn.init.normal_(model.diffusion.denoiser.head.weight, std=0.1)
    return model


def _paths(model: DiffusionForecaster, past: torch.Tensor, seed: int = 0) -> torch.Tensor:
    return model.forecast(past, num_samples=7, generator=torch.Generator().manual_seed(seed))


def test_forecast_contract_shapes_determinism_finite() -> None:
    model = _model()
    past = torch.randn(3, 12, 2)
    a, b, c = _paths(model, past), _paths(model, past), _paths(model, past, seed=1)
    assert a.shape == (3, 7, 6, 2) and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("sampler", ["ddim", "dpmsolver++", "ddpm"])
def test_forecasts_follow_an_affine_change_of_units(sampler: str) -> None:
    # Standardising each window by its context makes the model blind to units and offsets:
    # forecasting a * past + b gives a * paths + b for a > 0, under the same noise.
    model = _model()
    past = torch.randn(2, 12, 2)
    g = torch.Generator
    base = model.forecast(past, 5, sampler=sampler, steps=4, generator=g().manual_seed(3))
    moved = model.forecast(
        100.0 * past - 7.0, 5, sampler=sampler, steps=4, generator=g().manual_seed(3)
    )
    assert torch.allclose(moved, 100.0 * base - 7.0, rtol=1e-4, atol=1e-3)


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = _model()
    past = torch.randn(2, 12, 2)
    model.save_pretrained(tmp_path / "fc")
    loaded = DiffusionForecaster.from_pretrained(tmp_path / "fc")
    assert loaded.config == model.config
    assert torch.equal(_paths(loaded, past), _paths(model, past))


def test_context_must_be_given() -> None:
    with pytest.raises(ValueError, match="context"):
        DiffusionForecasterConfig(ConvDenoiser1dConfig(num_series=1, horizon=4, context=0))


def test_tiny_model_learns_a_periodic_series() -> None:
    steps = torch.arange(600.0)
    series = torch.stack(
        [torch.sin(2 * math.pi * steps / 12), 2 * torch.cos(2 * math.pi * steps / 7) + 3], -1
    )
    past, future = (torch.tensor(a) for a in forecast_windows(series.numpy(), 12, 6))
    model = _model(hidden=16, layers=3)
    torch.nn.init.zeros_(model.diffusion.denoiser.head.weight)
    loader = DataLoader(TensorDataset(past, future), batch_size=32, shuffle=True)
    fit(model, loader, config=TrainConfig(max_steps=80, optim=OptimConfig(lr=5e-3)))
    paths = _paths(model, past[:8])
    error = (paths.mean(1) - future[:8]).pow(2).mean()
    last_value = (past[:8, -1:] - future[:8]).pow(2).mean()
    assert error < 0.15 * last_value


def test_only_a_chunk_of_the_context_is_copied_per_path() -> None:
    """The context is copied per path chunk by chunk, never for all B S paths at once (for
    10,000 series that copy alone was windows x 100 x C x N floats)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Shapes(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.shapes: set[tuple[int, ...]] = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor):
                self.shapes.add(tuple(out.shape))
            return out

    model, past = _model(), torch.randn(3, 12, 2)
    with Shapes() as seen:
        paths = model.forecast(past, num_samples=7, generator=torch.Generator(), max_batch=5)
    assert paths.shape == (3, 7, 6, 2)
    assert (5, 12, 2) in seen.shapes and (21, 12, 2) not in seen.shapes
    full = model.forecast(past, num_samples=7, generator=torch.Generator(), max_batch=21)
    assert full.shape == paths.shape


def test_an_untrained_increment_forecaster_is_a_random_walk_of_the_contexts_scale() -> None:
    """The denoiser's head starts at zero: v = 0 is the exact v-prediction of N(0, 1) data, so
    the scaled steps are white noise and the paths a random walk from the last value x_C with
    h-step moves of std s sqrt(h), s = the context's root-mean-square move (levels: x ~
    N(mean, std))."""
    denoiser = ConvDenoiser1dConfig(num_series=2, horizon=6, context=12, hidden=8, layers=2)
    model = DiffusionForecaster(
        DiffusionForecasterConfig(denoiser, sampler_steps=10, predict="increment")
    )
    past = (torch.arange(12.0)[None, :, None] * torch.tensor([1.0, -3.0]) + 50.0).expand(2, -1, -1)
    paths = model.forecast(past, 3000, generator=torch.Generator().manual_seed(0))  # DPM-Solver++
    moves = paths - past[:, None, -1:]  # (2, S, 6, 2) from x_C
    expected = torch.tensor([1.0, 3.0]) * torch.arange(1.0, 7.0)[:, None].sqrt()  # (6, 2)
    torch.testing.assert_close(moves.std(1), expected.expand(2, -1, -1), rtol=0.06, atol=0)
    assert moves.mean(1).abs().max() < 0.25


def test_increment_forecasts_follow_an_affine_change_of_units() -> None:
    denoiser = ConvDenoiser1dConfig(num_series=2, horizon=6, context=12, hidden=8, layers=2)
    model = DiffusionForecaster(DiffusionForecasterConfig(denoiser, predict="increment"))
    torch.nn.init.normal_(model.diffusion.denoiser.head.weight, std=0.1)
    past = torch.randn(2, 12, 2).cumsum(1)
    base = model.forecast(past, 5, steps=4, generator=torch.Generator().manual_seed(3))
    moved = model.forecast(
        100.0 * past - 7.0, 5, steps=4, generator=torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(moved, 100.0 * base - 7.0, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="predict must be one of"):
        DiffusionForecasterConfig(denoiser, predict="returns")  # type: ignore[arg-type]
