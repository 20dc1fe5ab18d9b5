"""The generative contract (`diffrnn.generative`), checked on every generator of the library at
its smallest preset: `sample(num_samples, generator=...)` returns the documented shape, the same
generator gives the same samples whatever the global RNG and the train/eval mode, another seed
gives other samples, `generator=None` is the global RNG, a saved and loaded model samples exactly
as before, and the loss on a batch made of the samples is finite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import diffrnn
from diffrnn.diffusion.audio import SpectrogramDiffusion, spectrogram_diffusion
from diffrnn.diffusion.gaussian import GaussianDiffusion
from diffrnn.diffusion.masked import MDLM, mdlm
from diffrnn.diffusion.ts_generator import WindowDiffusion, window_diffusion
from diffrnn.diffusion.unet import ddpm_digits
from diffrnn.errors import ConfigError
from diffrnn.rnn.ar_generator import ARGenerator, ar_generator
from diffrnn.rnn.char_lm import CharLM, char_lm
from diffrnn.rnn.pixel_ar import PixelAR, pixel_lstm
from diffrnn.rnn.spectrogram_gru import SpectrogramGRU, spectrogram_gru

N = 3  # samples per draw
V = 9  # vocabulary of the small language models


def _labelled(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(samples, the balanced labels a class-conditional model draws them for)."""
    return samples, torch.arange(samples.shape[0]) % 10


@dataclass(frozen=True)
class Case:
    """A generator at its smallest preset: how to build it, the options its draws take, the
    shape and dtype of `N` samples, and the training batch made of samples."""

    build: Callable[[], nn.Module]
    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    options: dict[str, Any] = field(default_factory=dict)
    batch: Callable[[torch.Tensor], Any] = lambda samples: samples


CASES = {
    "ddpm": Case(
        lambda: GaussianDiffusion(ddpm_digits("quick")), (N, 1, 8, 8), options={"steps": 3}
    ),
    "ddpm-conditional": Case(
        lambda: GaussianDiffusion(ddpm_digits("quick", conditional=True)),
        (N, 1, 8, 8),
        options={"steps": 3, "guidance_scale": 2.0},
        batch=_labelled,
    ),
    "diffusion-generator": Case(
        lambda: WindowDiffusion(window_diffusion("quick", num_series=3, length=6)),
        (N, 6, 3),
        options={"steps": 3},
    ),
    "gru-generator": Case(
        lambda: ARGenerator(ar_generator("quick", num_series=3, length=6)), (N, 6, 3)
    ),
    "audio-diffusion": Case(
        lambda: SpectrogramDiffusion(spectrogram_diffusion("quick")),
        (N, 40, 64),
        options={"steps": 3},
        batch=_labelled,
    ),
    "audio-gru": Case(
        lambda: SpectrogramGRU(spectrogram_gru("quick")), (N, 40, 64), batch=_labelled
    ),
    "pixel-lstm": Case(
        lambda: PixelAR(pixel_lstm("tiny")), (N, 8, 8), torch.int64, batch=_labelled
    ),
    "pixel-gru-conditional": Case(
        lambda: PixelAR(pixel_lstm("tiny", "gru", conditional=True)),
        (N, 8, 8),
        torch.int64,
        batch=_labelled,
    ),
    "char-lstm": Case(
        lambda: CharLM(char_lm("quick", vocab_size=V)),
        (N, 10),
        torch.int64,
        options={"length": 10},
        batch=lambda tokens: {"tokens": tokens, "reset": torch.tensor(True)},
    ),
    "mdlm-bigru": Case(
        lambda: MDLM(mdlm("quick", "bigru", vocab_size=V)),
        (N, 64),
        torch.int64,
        options={"steps": 8},
    ),
    "mdlm-transformer": Case(
        lambda: MDLM(mdlm("quick", vocab_size=V)), (N, 64), torch.int64, options={"steps": 4}
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Case, nn.Module]:
    """A tiny generator with every weight moved off its initial value (several output layers
    start at zero, which would make every draw the same function of the noise)."""
    torch.set_num_threads(1)
    spec = CASES[request.param]
    torch.manual_seed(0)
    model = spec.build()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    return spec, model.eval()


def _draw(spec: Case, model: nn.Module, seed: int | None, n: int = N) -> torch.Tensor:
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return model.sample(n, generator=generator, **spec.options)  # type: ignore[operator]


def test_samples_have_the_documented_shape_and_dtype(case: tuple[Case, nn.Module]) -> None:
    spec, model = case
    samples = _draw(spec, model, seed=0)
    assert samples.shape == spec.shape and samples.dtype == spec.dtype
    if spec.dtype.is_floating_point:
        assert torch.isfinite(samples).all()


def test_the_same_generator_gives_the_same_samples_whatever_the_global_rng_and_mode(
    case: tuple[Case, nn.Module],
) -> None:
    spec, model = case
    torch.manual_seed(1)
    first = _draw(spec, model, seed=7)
    torch.manual_seed(2)
    model.train()
    try:
        second = _draw(spec, model, seed=7)
        assert model.training  # sampling ran in eval mode and gave the mode back
    finally:
        model.eval()
    assert torch.equal(first, second)


def test_another_seed_gives_other_samples(case: tuple[Case, nn.Module]) -> None:
    spec, model = case
    assert not torch.equal(_draw(spec, model, seed=0), _draw(spec, model, seed=1))


def test_no_generator_draws_from_the_global_rng(case: tuple[Case, nn.Module]) -> None:
    spec, model = case
    torch.manual_seed(5)
    from_global = _draw(spec, model, seed=None)
    assert torch.equal(from_global, _draw(spec, model, seed=5))  # a generator in the same state
    torch.manual_seed(5)
    assert torch.equal(_draw(spec, model, seed=None), from_global)


def test_a_saved_and_loaded_model_samples_exactly_as_before(
    case: tuple[Case, nn.Module], tmp_path: Path
) -> None:
    spec, model = case
    model.save_pretrained(tmp_path / "model")  # type: ignore[operator]
    loaded = diffrnn.load(tmp_path / "model")
    assert type(loaded) is type(model)
    assert torch.equal(_draw(spec, loaded, seed=3), _draw(spec, model, seed=3))


def test_the_loss_on_a_batch_of_samples_is_finite(case: tuple[Case, nn.Module]) -> None:
    spec, model = case
    batch = spec.batch(_draw(spec, model, seed=0))
    model.train()
    try:
        loss = model.loss(batch)  # type: ignore[operator]
    finally:
        model.eval()
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_num_samples_must_be_a_positive_integer(case: tuple[Case, nn.Module]) -> None:
    spec, model = case
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match="num_samples"):
            model.sample(bad, **spec.options)  # type: ignore[operator]
