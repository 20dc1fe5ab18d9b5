"""The 1-D convolutional denoiser: shapes, conditioning reaches the output, no look-ahead leak."""

from __future__ import annotations

import pytest
import torch

from diffrnn.diffusion.denoisers_1d import ConvDenoiser1d, ConvDenoiser1dConfig


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # tiny models; a second thread only spins on a loaded CPU


def _trained_like(config: ConvDenoiser1dConfig) -> ConvDenoiser1d:
    model = ConvDenoiser1d(config)
    torch.nn.init.normal_(model.head.weight, std=0.1)  # the zero-initialised head hides inputs
    return model


def test_output_has_the_window_shape_with_and_without_a_context() -> None:
    x = torch.randn(4, 12, 3)
    t = torch.tensor([0, 10, 500, 999])
    unconditional = _trained_like(ConvDenoiser1dConfig(num_series=3, horizon=12, hidden=16))
    conditional = _trained_like(
        ConvDenoiser1dConfig(num_series=3, horizon=12, context=20, hidden=16)
    )
    assert unconditional(x, t).shape == (4, 12, 3)
    assert conditional(x, t, torch.randn(4, 20, 3)).shape == (4, 12, 3)


def test_zero_initialised_head_predicts_zero() -> None:
    model = ConvDenoiser1d(ConvDenoiser1dConfig(num_series=2, horizon=5, hidden=8))
    assert torch.equal(
        model(torch.randn(3, 5, 2), torch.zeros(3, dtype=torch.long)), torch.zeros(3, 5, 2)
    )


def test_the_context_and_the_step_change_the_output() -> None:
    model = _trained_like(ConvDenoiser1dConfig(num_series=2, horizon=6, context=8, hidden=16))
    x, t = torch.randn(2, 6, 2), torch.tensor([100, 100])
    past = torch.randn(2, 8, 2)
    base = model(x, t, past)
    assert not torch.allclose(base, model(x, t, past + 1.0))
    assert not torch.allclose(base, model(x, torch.tensor([900, 900]), past))
    # windows of a batch do not mix
    other = model(x, t, torch.cat([past[:1], torch.randn(1, 8, 2)]))
    assert torch.allclose(base[0], other[0], atol=1e-6)


def test_even_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="odd"):
        ConvDenoiser1dConfig(kernel=4)
