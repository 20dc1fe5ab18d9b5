"""TimeGrad: an RNN conditions a denoising diffusion model of the next multivariate step
(Rasul et al., ICML 2021, "Autoregressive denoising diffusion models for multivariate
probabilistic time series forecasting").

At step t an RNN reads the lagged, mean-scaled targets z_{t-l} = x_{t-l} / nu of all N series
(nu = mean |x| over the context, per window and series) and the calendar features of step t; its
output h_t conditions an epsilon network eps_theta(x^n_t, n, h_t) that denoises z_t (paper
eq. 9-10): the loss is || eps - eps_theta(sqrt(abar_n) z_t + sqrt(1 - abar_n) eps, n, h_t) ||^2
over the context and horizon steps (teacher forcing). Forecasting unrolls the context, then draws
z_t by running the reverse diffusion conditioned on h_t (any diffusers sampler, via
`diffrnn.diffusion.sampling.sample`) and feeds each draw back as the next step's lag: S paths at
once, batched over windows and paths.

The epsilon network is pytorch-ts's DiffWave variant: the N series are the length of a 1-D
signal with `residual_channels` channels, dilated circular convolutions mix neighbouring series,
h_t is projected to N values by a small MLP (the conditioner), the diffusion step n by a
sinusoidal embedding and two SiLU layers. The noise process (linear beta 1e-4 -> 0.1 over 100
steps in the paper's exchange-rate setting) is the shared `GaussianProcess` (diffusers' betas).

With `predict="increment"` the same model works on the scaled steps
d_t = (x_t - x_{t-1}) / s (s = the root mean square of the moves over the context per series,
`increment_scaling`) and its paths are x_C + s (d_{C+1} + ... + d_t): the denoiser then sees
unit-scale data, where levels z ~ 1 put the forecast's spread (~0.5% a day on exchange rates)
far below the noise it denoises (BENCHMARKS.md, issue 16).

Batch (from `diffrnn.data.windows.MultivariateWindows`, length = max lag + context + horizon):
    target (B, L, N), time_feat (B, L, F) aligned with target.

As a forecaster (`diffrnn.forecast_specs`, the line `timegrad`): configured for a problem by
`timegrad_forecaster`, trained on `training_data`, forecasting with `sample_paths`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffrnn.data.windows import (
    MultivariateWindows,
    Scaling,
    increment_scaling,
    lag_features,
    mean_scaling,
    num_time_features,
)
from diffrnn.diffusion.gaussian import (
    GaussianProcess,
    GaussianProcessConfig,
    Prediction,
    Schedule,
    extract,
)
from diffrnn.modeling import PretrainedMixin
from diffrnn.rnn import deepar
from diffrnn.rnn.cells import CellType, check_cell
from diffrnn.rnn.layers import make_rnn

if TYPE_CHECKING:
    from diffrnn.data.windows import ForecastProblem

LEAKY_SLOPE = 0.4  # negative slope of pytorch-ts's epsilon network activations
PredictName = Literal["level", "increment"]
PREDICTS: tuple[PredictName, ...] = get_args(PredictName)

# ---------------------------------------------------------------------------------------------
# The epsilon network (pytorch-ts `EpsilonTheta`, after DiffWave, Kong et al. 2021)


class DiffusionEmbedding(nn.Module):
    """Diffusion step n -> (B, hidden): sinusoidal features of n, then two SiLU layers."""

    def __init__(self, num_steps: int, dim: int, hidden: int) -> None:
        super().__init__()
        steps = torch.arange(num_steps, dtype=torch.float64)[:, None]  # (T, 1)
        frequencies = 10.0 ** (torch.arange(dim, dtype=torch.float64) * 4.0 / (dim - 1))
        table = steps * frequencies[None, :]  # (T, dim)
        table = torch.cat([torch.sin(table), torch.cos(table)], dim=1)  # (T, 2 dim)
        self.register_buffer("table", table.float(), persistent=False)
        self.projection1 = nn.Linear(2 * dim, hidden)
        self.projection2 = nn.Linear(hidden, hidden)

    def forward(self, t: Tensor) -> Tensor:
        """t (B,) int64 -> (B, hidden)."""
        x = F.silu(self.projection1(self.table[t]))
        return F.silu(self.projection2(x))


class ResidualBlock(nn.Module):
    """Gated dilated convolution over the series axis with step and condition inputs."""

    def __init__(self, hidden: int, channels: int, dilation: int) -> None:
        super().__init__()
        self.dilated_conv = nn.Conv1d(
            channels,
            2 * channels,
            3,
            padding=dilation,
            dilation=dilation,
            padding_mode="circular",
        )
        self.diffusion_projection = nn.Linear(hidden, channels)
        self.conditioner_projection = nn.Conv1d(1, 2 * channels, 1)
        self.output_projection = nn.Conv1d(channels, 2 * channels, 1)
        nn.init.kaiming_normal_(self.conditioner_projection.weight)
        nn.init.kaiming_normal_(self.output_projection.weight)

    def forward(self, x: Tensor, cond: Tensor, step: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, C, N), cond (B, 1, N), step (B, hidden) -> residual out, skip (B, C, N)."""
        y = x + self.diffusion_projection(step)[:, :, None]  # (B, C, N)
        y = self.dilated_conv(y) + self.conditioner_projection(cond)  # (B, 2C, N)
        gate, filt = y.chunk(2, dim=1)
        y = torch.sigmoid(gate) * torch.tanh(filt)  # (B, C, N)
        y = F.leaky_relu(self.output_projection(y), LEAKY_SLOPE)  # (B, 2C, N)
        residual, skip = y.chunk(2, dim=1)
        return (x + residual) / math.sqrt(2.0), skip


class EpsilonTheta(nn.Module):
    """eps_theta(x_n, n, h): x_n (B, N), n (B,), h (B, cond_size) -> (B, N)."""

    def __init__(
        self,
        target_dim: int,
        cond_size: int,
        num_steps: int,
        residual_layers: int,
        residual_channels: int,
        dilation_cycle_length: int,
        time_embedding_dim: int,
        residual_hidden: int,
    ) -> None:
        super().__init__()
        self.input_projection = nn.Conv1d(1, residual_channels, 1)
        self.diffusion_embedding = DiffusionEmbedding(
            num_steps, time_embedding_dim, residual_hidden
        )
        upsampled = max(1, target_dim // 2)
        self.cond_upsampler = nn.Sequential(
            nn.Linear(cond_size, upsampled),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(upsampled, target_dim),
            nn.LeakyReLU(LEAKY_SLOPE),
        )
        self.blocks = nn.ModuleList(
            ResidualBlock(residual_hidden, residual_channels, 2 ** (i % dilation_cycle_length))
            for i in range(residual_layers)
        )
        self.skip_projection = nn.Conv1d(
            residual_channels, residual_channels, 3, padding=1, padding_mode="circular"
        )
        self.output_projection = nn.Conv1d(
            residual_channels, 1, 3, padding=1, padding_mode="circular"
        )
        nn.init.kaiming_normal_(self.input_projection.weight)
        nn.init.kaiming_normal_(self.skip_projection.weight)
        nn.init.zeros_(self.output_projection.weight)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """x (B, N), t (B,), cond (B, cond_size) -> predicted noise (B, N)."""
        h = F.leaky_relu(self.input_projection(x[:, None]), LEAKY_SLOPE)  # (B, C, N)
        step = self.diffusion_embedding(t)  # (B, hidden)
        cond = self.cond_upsampler(cond)[:, None]  # (B, 1, N)
        skips = []
        for block in self.blocks:
            h, skip = block(h, cond, step)
            skips.append(skip)
        h = torch.stack(skips).sum(dim=0) / math.sqrt(len(self.blocks))  # (B, C, N)
        h = F.leaky_relu(self.skip_projection(h), LEAKY_SLOPE)
        return self.output_projection(h)[:, 0]  # (B, N)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class TimeGradConfig:
    """TimeGrad hyperparameters (defaults: the paper's exchange-rate model).

    Args:
        target_dim: N, series modelled jointly.
        context_length: C, steps unrolled before the forecast (also the scaling window).
        prediction_length: H, steps forecast.
        lags: offsets of the lagged targets fed at each step (all >= 1).
        freq: pandas frequency of the data (chooses the calendar features); None: no calendar.
        cell: recurrent cell ("rnn", "lstm", "gru", "mingru", "minlstm").
        hidden_size, num_layers, dropout: of the recurrent stack (paper: GRU 2 x 40).
        num_diffusion_steps: T of the noise process (paper: 100).
        beta_start, beta_end: the linear beta schedule (paper: 1e-4 -> 0.1).
        residual_layers, residual_channels, dilation_cycle_length: of the epsilon network.
        time_embedding_dim, residual_hidden: diffusion-step embedding sizes.
        minimum_scale: floor on the mean-|x| scale.
        predict: what is diffused: "level", z_t = x_t / nu (the paper), or "increment",
            d_t = (x_t - x_{t-1}) / s (see the module docstring); an increment model reads one
            more row of history. Not the default: on forecast-exchange (3 seeds, with the
            white-noise skip) increments scored CRPS-sum 0.0058 after 30 CPU s but 0.0193 after
            90 (levels: 0.0079, 0.0087); the paths drift as training goes on at 1e-3
            (BENCHMARKS.md). forecast-exchange's recipe (`timegrad_increment_recipe`) uses
            increments with `step_scale` at 1e-4.
        white_noise_skip: the network's output is added to E[target | x_n] for N(0, 1) data:
            s_n x_n for epsilon (s_n = sqrt(1 - abar_n)), a_n x_n for x_0 ("sample",
            a_n = sqrt(abar_n)), 0 for v. So the untrained model (whose output layer starts at
            zero) samples white noise, a random walk of the steps' scale with
            `predict="increment"`, and the network learns the departures from it (without it
            the untrained epsilon model's x_0 estimate is x_n / sqrt(abar_n), 12x too wide at
            the paper's noisiest step). The output layer's bias then starts at zero too: a
            constant eps b shifts x_0 by -sqrt(1 - abar_n) b / sqrt(abar_n), a drift of every
            path.
        prediction: the network's target (`GaussianProcessConfig.prediction`): "epsilon" (the
            paper), "sample" (x_0) or "v_prediction".
        schedule: the betas: "linear" (the paper's beta_start -> beta_end) or "cosine".
        step_scale: with `predict="increment"`, a fixed scale s per series (N values, e.g. the
            standard deviation of the training rows' differences, `training_step_scale`)
            instead of the context's root mean square move; None: the context's.
    """

    target_dim: int
    context_length: int = 30
    prediction_length: int = 30
    lags: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    freq: str | None = "B"
    cell: CellType = "gru"
    hidden_size: int = 40
    num_layers: int = 2
    dropout: float = 0.1
    num_diffusion_steps: int = 100
    beta_start: float = 1e-4
    beta_end: float = 0.1
    residual_layers: int = 8
    residual_channels: int = 8
    dilation_cycle_length: int = 2
    time_embedding_dim: int = 16
    residual_hidden: int = 64
    minimum_scale: float = 1e-10
    predict: PredictName = "level"
    white_noise_skip: bool = False
    prediction: Prediction = "epsilon"
    schedule: Schedule = "linear"
    step_scale: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_cell(self.cell)
        if min(self.lags) < 1:
            raise ValueError(f"lags must all be >= 1, got {self.lags}")
        if self.predict not in PREDICTS:
            raise ValueError(f"predict must be one of {PREDICTS}, got {self.predict!r}")
        if self.step_scale is not None:
            if self.predict != "increment":
                raise ValueError("step_scale scales increments: set predict='increment'")
            if len(self.step_scale) != self.target_dim or min(self.step_scale) <= 0:
                raise ValueError(
                    f"step_scale must be {self.target_dim} positive values (one per series), "
                    f"got {self.step_scale}"
                )

    @property
    def process(self) -> GaussianProcessConfig:
        """The noise process: the betas through diffusers, the target, unbounded data."""
        return GaussianProcessConfig(
            num_timesteps=self.num_diffusion_steps,
            schedule=self.schedule,
            beta_start=self.beta_start,
            beta_end=self.beta_end,
            prediction=self.prediction,
            data_range=None,
        )

    @property
    def history_length(self) -> int:
        """Rows of past a forecast reads: the largest lag before the context, plus the context
        (plus the row before them that the first increment needs)."""
        return max(self.lags) + self.context_length + (self.predict == "increment")

    @property
    def window_length(self) -> int:
        """Rows per training window: history plus horizon."""
        return self.history_length + self.prediction_length


class TimeGrad(PretrainedMixin, nn.Module):
    """RNN-conditioned denoising diffusion over the next step of N series.

    `forward(x_n, n, h)` is the denoiser (the contract of `diffrnn.diffusion.sampling.sample`);
    `loss(batch)` trains; `sample(...)` forecasts sample paths.
    """

    config_class = TimeGradConfig

    def __init__(self, config: TimeGradConfig) -> None:
        super().__init__()
        self.config = config
        self.num_time_features = num_time_features(config.freq) if config.freq else 0
        input_size = config.target_dim * len(config.lags) + self.num_time_features
        self.rnn = make_rnn(
            config.cell, input_size, config.hidden_size, config.num_layers, config.dropout
        )
        self.process = GaussianProcess(config.process)
        self.eps_theta = EpsilonTheta(
            config.target_dim,
            config.hidden_size,
            config.num_diffusion_steps,
            config.residual_layers,
            config.residual_channels,
            config.dilation_cycle_length,
            config.time_embedding_dim,
            config.residual_hidden,
        )
        if config.white_noise_skip:  # the output starts at exactly zero: no drift at step 0
            nn.init.zeros_(self.eps_theta.output_projection.bias)

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """The prediction (noise, x_0 or v, `config.prediction`): x_t (B, N), t (B,),
        cond = RNN output h (B, hidden) -> (B, N)."""
        output = self.eps_theta(x_t, t, cond)
        skip = self.config.white_noise_skip and self.config.prediction != "v_prediction"
        if skip:  # E[target | x_t] for N(0, 1) data; v's is 0
            coef = (
                self.process.sqrt_one_minus_alphas_cumprod
                if self.config.prediction == "epsilon"
                else self.process.sqrt_alphas_cumprod
            )
            output = output + extract(coef, t, x_t.ndim) * x_t
        return output

    # -- pieces ----------------------------------------------------------------------------

    def _scaled(self, target: Tensor, history_length: int) -> tuple[Tensor, Scaling]:
        """target (B, L, N) whose first `history_length` rows are the history -> the modelled
        series z, (B, L, N) (levels) or (B, L - 1, N) (increments), and its scaling: scale
        (B, 1, N) and, for increments, loc = the last history value x_C (B, 1, N)."""
        c = self.config
        history = target[:, :history_length]  # (B, L_h, N)
        if c.predict == "increment":
            scaling = increment_scaling(history, c.context_length)
            if c.step_scale is not None:  # (B, 1, N): the same s for every window
                scale = torch.tensor(c.step_scale, dtype=target.dtype, device=target.device)
                scaling = Scaling(loc=scaling.loc, scale=scale.expand_as(scaling.loc))
            return (target[:, 1:] - target[:, :-1]) / scaling.scale, scaling
        scaling = mean_scaling(history[:, -c.context_length :], c.minimum_scale)
        return target / scaling.scale, scaling

    def _inputs(self, z: Tensor, time_feat: Tensor, length: int, end: int) -> Tensor:
        """RNN inputs of positions [end - length, end): z (B, L, N) -> (B, length, N K + F)."""
        lags = lag_features(z, self.config.lags, length, end)  # (B, P, N, K)
        return torch.cat([lags.flatten(2), time_feat], dim=-1)

    # -- training --------------------------------------------------------------------------

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Denoising loss of z over the context and horizon steps (teacher forcing).

        Args:
            batch: target (B, L, N), time_feat (B, L, F) with L = config.window_length.
        """
        c = self.config
        target = batch["target"]
        steps = c.context_length + c.prediction_length
        z, _ = self._scaled(target, c.history_length)  # (B, L, N) or (B, L - 1, N)
        inputs = self._inputs(z, batch["time_feat"][:, -steps:], steps, z.shape[1])
        hidden, _ = self.rnn(inputs)  # (B, C + H, hidden)
        x0 = z[:, -steps:].reshape(-1, c.target_dim)  # (B (C + H), N)
        cond = hidden.reshape(x0.shape[0], -1)  # (B (C + H), hidden)
        t = self.process.sample_timesteps(x0.shape[0])
        noise = torch.randn_like(x0)
        output = self(self.process.q_sample(x0, t, noise), t, cond)
        return self.process.loss(output, x0, noise, t)

    # -- forecasting -----------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self,
        history: Tensor,
        time_feat: Tensor,
        num_samples: int,
        sampler: str = "ddpm",
        steps: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Autoregressive sample paths of the next H steps.

        Args:
            history: (B, >= history_length, N) past values; the last C are the context.
            time_feat: (B, C + H, F) calendar features of the context and horizon steps.
            num_samples: S paths per window.
            sampler: "ddpm" (the paper's ancestral sampler), "ddim", "dpmsolver++" or any
                diffusers scheduler class name.
            steps: denoising steps per forecast step (None: all `num_diffusion_steps`).
            generator: seeds every draw (same generator state -> same paths).

        Returns:
            (B, S, H, N) sample paths in the data's units.
        """
        from diffrnn.diffusion.sampling import sample

        c = self.config
        history = history[:, -c.history_length :]
        z, scaling = self._scaled(history, c.history_length)  # (B, L_h (- 1), N)
        z = z.repeat_interleave(num_samples, dim=0)  # (B S, L_h (- 1), N)
        scale = scaling.scale.repeat_interleave(num_samples, dim=0)  # (B S, 1, N)
        time_feat = time_feat.repeat_interleave(num_samples, dim=0)  # (B S, C + H, F)
        inputs = self._inputs(z, time_feat[:, : c.context_length], c.context_length, z.shape[1])
        _, state = self.rnn(inputs)  # unroll the context
        draws = []
        for t in range(c.prediction_length):
            position = c.context_length + t
            step_in = self._inputs(
                z, time_feat[:, position : position + 1], 1, z.shape[1] + 1
            )  # (B S, 1, D): lags read the history and the draws so far
            hidden, state = self.rnn.step(step_in[:, 0], state)  # (B S, hidden)
            draw = sample(self, (z.shape[0], c.target_dim), sampler, steps, generator, hidden)
            z = torch.cat([z, draw[:, None]], dim=1)
            draws.append(draw)
        paths = torch.stack(draws, dim=1)  # (B S, H, N) in scaled units
        if c.predict == "increment":
            last = scaling.loc.repeat_interleave(num_samples, dim=0)  # (B S, 1, N)
            paths = last + paths.cumsum(dim=1) * scale
        else:
            paths = paths * scale
        return paths.view(-1, num_samples, c.prediction_length, c.target_dim)

    def training_data(self, problem: ForecastProblem) -> MultivariateWindows:
        """Every window of all series of `problem`'s training rows together, with their
        calendar."""
        return MultivariateWindows(
            problem.train, self.config.window_length, problem.calendar(problem.train_end)
        )

    def sample_paths(
        self,
        history: Tensor,
        calendar: Tensor | None,
        num_samples: int,
        generator: torch.Generator | None = None,
        sampler: str = "ddpm",
        steps: int | None = None,
    ) -> Tensor:
        """The forecaster contract's paths: `sample` of whole windows at once, at most
        `deepar.SAMPLE_CHUNK_PATHS` series paths a call (one window if it alone is over).

        Args:
            history: (B, L, N) past values, L >= history_length.
            calendar: (B, C + H, F) features of the context and horizon (None: no calendar).
            num_samples: S paths per window.
            generator: seeds every draw (the same state gives the same paths).
            sampler, steps: as `sample`'s (the spec's sampling of a suite).

        Returns:
            (B, S, H, N) sample paths in the data's units.
        """
        c = self.config
        batch, _, n = history.shape
        if calendar is None:
            calendar = history.new_zeros(batch, c.context_length + c.prediction_length, 0)
        chunk = max(1, deepar.SAMPLE_CHUNK_PATHS // (num_samples * n))  # windows at once
        return torch.cat(
            [
                self.sample(
                    history[i : i + chunk],
                    calendar[i : i + chunk],
                    num_samples,
                    sampler=sampler,
                    steps=steps,
                    generator=generator,
                )
                for i in range(0, batch, chunk)
            ]
        )  # (B, S, H, N)


# ---------------------------------------------------------------------------------------------
# Presets


def training_step_scale(train: np.ndarray) -> tuple[float, ...]:
    """`TimeGradConfig.step_scale` from training rows (T, N): the standard deviation of each
    series' differences x_t - x_{t-1} (ddof 1, the `random-walk` floor's sigma), N floats."""
    return tuple(float(s) for s in np.diff(train, axis=0).std(axis=0, ddof=1))


def timegrad_forecaster(
    problem: ForecastProblem, size: Literal["quick", "full"] = "full", cell: CellType = "gru"
) -> TimeGradConfig:
    """TimeGrad for a problem (its series, context, horizon, calendar if dated; DeepAR's
    `deepar.forecast_lags`); its training: `forecast_specs.timegrad_recipe`.

    Args:
        problem: the series (N), context (C), horizon (H) and frequency to build for.
        size: "quick" (1 x 16, 4 residual layers) or "full" (the paper's GRU 2 x 40, dropout
            0.1, 8 residual layers).
        cell: the recurrent cell.
    """
    quick = size == "quick"
    layers = 1 if quick else 2
    return TimeGradConfig(
        target_dim=problem.num_series,
        context_length=problem.context,
        prediction_length=problem.horizon,
        lags=deepar.forecast_lags(problem),
        freq=problem.freq if problem.start is not None else None,
        cell=cell,
        hidden_size=16 if quick else 40,
        num_layers=layers,
        dropout=0.1 if layers > 1 else 0.0,
        residual_layers=4 if quick else 8,
    )


def timegrad_exchange(cell: CellType = "gru") -> TimeGradConfig:
    """The paper's exchange-rate model: GRU 2 x 40, 100 steps of linear beta 1e-4 -> 0.1,
    epsilon network 8 x 8, context = horizon = 30 business days, lags up to a month."""
    from diffrnn.data.windows import business_day_lags

    return TimeGradConfig(
        target_dim=8,
        context_length=30,
        prediction_length=30,
        lags=tuple(lag for lag in business_day_lags() if lag <= 23),
        freq="B",
        cell=cell,
    )
