"""Probabilistic forecasting by conditional diffusion (CSDI, Tashiro et al. 2021; TSDiff, Kollovieh
et al. 2023): denoise the future window (H x N series) given the observed context (C x N).

Each window is standardised with its context's mean and standard deviation (the shared
`standard_scaling`), the Gaussian diffusion of `diffrnn.diffusion.gaussian` is trained on the
scaled future with the scaled context as the condition of a 1-D convolutional denoiser, and
forecasts are sample paths drawn by the shared `sample` (a diffusers scheduler) and unscaled.

With `predict="increment"` the denoised window is the future's scaled steps
d_h = (x_{C+h} - x_{C+h-1}) / s, conditioned on the context relative to its last value,
(x_t - x_C) / s, with s = the root mean square of x_t - x_{t-1} over the context
(`increment_scaling`); paths are x_C + s (d_1 + ... + d_h). White-noise steps are then a
random walk, where standardising the levels leaves the denoiser to learn the continuation of the
context's last value to a small fraction of its noise scale (BENCHMARKS.md, issue 16).

    model = DiffusionForecaster(DiffusionForecasterConfig(ConvDenoiser1dConfig(8, 30, 30)))
    fit(model, DataLoader(TensorDataset(past, future)))      # past (W, C, N), future (W, H, N)
    paths = model.forecast(past_test, num_samples=100)        # (B, S, H, N)

As a forecaster (`diffrnn.forecast_specs`, the line `diffusion-forecaster`): configured for a
problem by `diffusion_forecaster`, trained on `training_data`, forecasting with `sample_paths`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

import torch
from torch import nn
from torch.utils.data import TensorDataset

from diffrnn.data.windows import Scaling, forecast_windows, increment_scaling, standard_scaling
from diffrnn.diffusion.denoisers_1d import ConvDenoiser1d, ConvDenoiser1dConfig
from diffrnn.diffusion.gaussian import GaussianDiffusion, GaussianProcessConfig
from diffrnn.diffusion.sampling import sample
from diffrnn.modeling import PretrainedMixin

if TYPE_CHECKING:
    from diffrnn.data.windows import ForecastProblem

PredictName = Literal["level", "increment"]
PREDICTS: tuple[PredictName, ...] = get_args(PredictName)


def forecaster_process() -> GaussianProcessConfig:
    """Cosine schedule, v-prediction (its x_0 estimate needs no division by a tiny alpha at the
    noisiest step, so few-step DPM-Solver++ stays stable on unbounded data), no clipping."""
    return GaussianProcessConfig(schedule="cosine", prediction="v_prediction", data_range=None)


@dataclass(frozen=True)
class DiffusionForecasterConfig:
    """Args:
    denoiser: the 1-D denoiser; its `context` and `horizon` fix C and H, `num_series` N.
    process: noise schedule and training target.
    sampler: diffusers sampler used by `forecast` ("dpmsolver++", "ddim", "ddpm", class name).
    sampler_steps: denoising steps of `forecast`.
    minimum_scale: lower bound of a window's standard deviation (flat contexts).
    predict: what is denoised: "level", the standardised future, or "increment", its scaled
        steps (see the module docstring; needs a context of at least 2 steps).

    Mean scaling (DeepAR's x / mean|x|) was tried on exchange rates and lost badly (CRPS-sum 0.05
    against 0.007 after the same 90 s): the future's spread is ~4% of the level, too fine for the
    denoiser to resolve at unit noise scale.
    """

    denoiser: ConvDenoiser1dConfig = field(default_factory=ConvDenoiser1dConfig)
    process: GaussianProcessConfig = field(default_factory=forecaster_process)
    sampler: str = "dpmsolver++"
    sampler_steps: int = 20
    minimum_scale: float = 1e-5
    predict: PredictName = "level"

    def __post_init__(self) -> None:
        if self.denoiser.context < 1:
            raise ValueError(f"the denoiser needs a context >= 1, got {self.denoiser.context}")
        if self.predict not in PREDICTS:
            raise ValueError(f"predict must be one of {PREDICTS}, got {self.predict!r}")
        if self.predict == "increment" and self.denoiser.context < 2:
            raise ValueError("predict='increment' needs a context >= 2 (one step to scale by)")


class DiffusionForecaster(PretrainedMixin, nn.Module):
    """Conditional diffusion over future windows. Batches are (past (B, C, N), future (B, H, N))."""

    config_class = DiffusionForecasterConfig

    def __init__(self, config: DiffusionForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.diffusion = GaussianDiffusion.around(ConvDenoiser1d, config.denoiser, config.process)

    def scaling(self, past: torch.Tensor) -> Scaling:
        """Per-window, per-series scaling from the context: loc, scale (B, 1, N); levels:
        standardisation, increments: the last value and the steps' root mean square."""
        if self.config.predict == "increment":
            return increment_scaling(past, past.shape[1] - 1)
        return standard_scaling(past, self.config.minimum_scale)

    def loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        """Diffusion loss of the scaled future given the scaled context (a scalar)."""
        past, future = batch[0], batch[1]
        scaling = self.scaling(past)
        target = scaling.transform(future)  # (B, H, N)
        if self.config.predict == "increment":  # steps from x_C, x_{C+1}, ...
            target = torch.diff(target, dim=1, prepend=target.new_zeros(target[:, :1].shape))
        return self.diffusion.loss((target, scaling.transform(past)))

    @torch.no_grad()
    def forecast(
        self,
        past: torch.Tensor,
        num_samples: int = 100,
        sampler: str | None = None,
        steps: int | None = None,
        generator: torch.Generator | None = None,
        max_batch: int = 1024,
    ) -> torch.Tensor:
        """Sample paths of the next H steps of every window.

        Args:
            past: (B, C, N) observed context, in the data's units.
            num_samples: S paths per window.
            sampler, steps: override the config's sampler and number of steps.
            generator: seeds the sampler's noise.
            max_batch: rows (windows x paths) denoised at once.
        Returns:
            (B, S, H, N) sample paths in the data's units.
        """
        self.eval()
        cfg = self.config
        batch, _, num_series = past.shape
        scaling = self.scaling(past)
        context = scaling.transform(past)  # (B, C, N)
        chunks = []
        for start in range(0, batch * num_samples, max_batch):  # rows: (window, path) pairs
            rows = torch.arange(start, min(start + max_batch, batch * num_samples))
            part = context[rows // num_samples]  # (R, C, N): only this chunk's copies
            shape = (part.shape[0], cfg.denoiser.horizon, num_series)
            chunks.append(
                sample(
                    self.diffusion,
                    shape,
                    sampler=sampler or cfg.sampler,
                    steps=steps or cfg.sampler_steps,
                    generator=generator,
                    cond=part,
                )
            )
        paths = torch.cat(chunks).view(batch, num_samples, cfg.denoiser.horizon, num_series)
        if cfg.predict == "increment":
            paths = paths.cumsum(dim=2)  # (B, S, H, N): x_{C+h} - x_C in units of s
        per_path = Scaling(scaling.loc[:, None], scaling.scale[:, None])  # (B, 1, 1, N)
        return per_path.inverse(paths)  # (B, S, H, N)

    def training_data(self, problem: ForecastProblem) -> TensorDataset:
        """Every (context, horizon) window of `problem`'s training rows, as (past (C, N),
        future (H, N)) pairs."""
        past, future = forecast_windows(problem.train, problem.context, problem.horizon)
        return TensorDataset(
            torch.tensor(past, dtype=torch.float32), torch.tensor(future, dtype=torch.float32)
        )

    def sample_paths(
        self,
        history: torch.Tensor,
        calendar: torch.Tensor | None,
        num_samples: int,
        generator: torch.Generator | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """The forecaster contract's paths: `forecast` with the config's sampler at `steps`
        (None: the config's): history (B, C, N) -> (B, S, H, N). No calendar is read."""
        return self.forecast(history, num_samples, steps=steps, generator=generator)


def diffusion_forecaster(
    problem: ForecastProblem,
    size: Literal["quick", "full"] = "full",
    predict: PredictName = "level",
) -> DiffusionForecasterConfig:
    """The diffusion forecaster for a problem (its series, context and horizon); its training:
    `forecast_specs.diffusion_recipe`.

    Args:
        problem: the series (N), context (C) and horizon (H) to build for.
        size: "quick" (a 16 x 4 conv denoiser, 5 sampler steps) or "full" (64 x 8, 10 steps).
        predict: what is denoised, "level" or "increment" (see the config).
    """
    quick = size == "quick"
    denoiser = ConvDenoiser1dConfig(
        num_series=problem.num_series,
        horizon=problem.horizon,
        context=problem.context,
        hidden=16 if quick else 64,
        layers=4 if quick else 8,
    )
    return DiffusionForecasterConfig(denoiser, sampler_steps=5 if quick else 10, predict=predict)
