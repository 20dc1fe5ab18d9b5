"""The generative contract: every generator and sampler of the library draws samples with

    x = model.sample(num_samples, generator=torch.Generator().manual_seed(0), **options)

- `num_samples` (an int >= 1) is the only positional argument; it is the first dimension of the
  result. Everything else is keyword-only.
- `generator` seeds every random draw of the sampling (initial noise, stochastic steps,
  categorical choices). The same generator state gives the same samples, whatever the global RNG
  and whatever the module's train/eval mode. `None` draws from torch's global RNG, exactly as a
  `torch.randn(...)` without a generator would.
- Sampling runs under `torch.no_grad()` in eval mode; the module's mode is restored afterwards.
- A class-conditional model takes `labels`, (num_samples,) int64 in [0, num_classes);
  `None` gives balanced labels 0, 1, ..., K - 1, 0, 1, ... (`class_labels`).
- The options of each model have defaults (its config's), except a char LM's `length`.

Each model's options and what it returns (B = num_samples):

- `diffusion.gaussian.GaussianDiffusion`: sampler, steps, cond, guidance_scale, options ->
  (B, *denoiser.sample_shape) in the data scale, e.g. (B, 1, 8, 8) digits in [-1, 1].
- `diffusion.ts_generator.WindowDiffusion`: sampler, steps -> (B, T, D) windows in [0, 1].
- `diffusion.audio.SpectrogramDiffusion`: labels, sampler, steps, guidance_scale ->
  (B, n_mels, n_frames) log-mels in the [-1, 1] scale.
- `diffusion.masked.MDLM`: steps, seq_len -> (B, L) int64 tokens in [0, V).
- `rnn.ar_generator.ARGenerator`: none -> (B, T, D) windows (unbounded).
- `rnn.pixel_ar.PixelAR`: labels, temperature -> (B, *shape) int64 levels, (B, 8, 8) digits.
- `rnn.char_lm.CharLM`: length, prompt, temperature, top_k -> (B, length) int64 tokens.
- `rnn.spectrogram_gru.SpectrogramGRU`: labels, temperature -> (B, n_mels, n_frames) log-mels
  in the [-1, 1] scale.

Forecasters (DeepAR, TimeGrad, the diffusion forecaster, SegRNN) condition on a history and
follow the forecaster contract instead (`diffrnn.forecast_specs`, `diffrnn.Forecaster`).
`tests/test_generative_contract.py` checks this contract on every model above.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from diffrnn.errors import ConfigError

_Method = TypeVar("_Method", bound=Callable[..., torch.Tensor])


class Generative(Protocol):
    """What every generator offers (see the module docstring)."""

    def sample(
        self, num_samples: int, *, generator: torch.Generator | None = None, **options: Any
    ) -> torch.Tensor: ...


def check_num_samples(num_samples: Any) -> int:
    """`num_samples` as an int, or a ConfigError unless it is an integer >= 1."""
    if (
        isinstance(num_samples, bool)
        or not isinstance(num_samples, numbers.Integral)
        or num_samples < 1
    ):
        raise ConfigError(
            f"num_samples must be an integer >= 1, got {num_samples!r}.",
            "pass how many samples to draw, e.g. model.sample(16).",
        )
    return int(num_samples)


def sample_method(method: _Method) -> _Method:
    """Make `method(self, num_samples, ...)` a contract `sample`: `num_samples` checked, run under
    `torch.no_grad()` in eval mode, the module's train/eval mode restored afterwards."""

    @functools.wraps(method)
    def wrapped(self: nn.Module, num_samples: int, *args: Any, **kwargs: Any) -> torch.Tensor:
        num_samples = check_num_samples(num_samples)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return method(self, num_samples, *args, **kwargs)
        finally:
            self.train(was_training)

    return wrapped  # type: ignore[return-value]


def class_labels(
    num_samples: int, labels: torch.Tensor | None, num_classes: int, device: torch.device
) -> torch.Tensor:
    """The (num_samples,) labels of a class-conditional draw: `labels` checked, or balanced
    labels 0, 1, ..., num_classes - 1, 0, 1, ... when None."""
    if labels is None:
        return torch.arange(num_samples, device=device) % num_classes
    if (
        labels.shape != (num_samples,)
        or labels.dtype.is_floating_point
        or labels.dtype.is_complex
        or labels.dtype == torch.bool
    ):
        raise ConfigError(
            f"labels must be a ({num_samples},) integer tensor, one per sample; "
            f"got {tuple(labels.shape)} {labels.dtype}.",
            "pass one class index per sample, or labels=None for balanced classes.",
        )
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ConfigError(
            f"labels must lie in [0, {num_classes}), got values from {int(labels.min())} "
            f"to {int(labels.max())}.",
            f"pass class indices below {num_classes}.",
        )
    return labels
