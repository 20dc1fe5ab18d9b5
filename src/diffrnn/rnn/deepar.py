"""DeepAR-style probabilistic forecaster (Salinas et al. 2020, "DeepAR: Probabilistic forecasting
with autoregressive recurrent networks").

One global RNN for all series. At step t it reads the lagged, mean-scaled targets
z_{t-l} = y_{t-l} / nu (nu = mean |y| over the context, per window and series), the calendar
features of step t, log nu and a series embedding, and emits the parameters of p(z_t). Training
maximises the likelihood over the context and horizon with teacher forcing; forecasting unrolls
the context, then draws z_t ~ p(z_t) and feeds each draw back (ancestral sampling), giving
sample paths y = nu * z.

Batch (from `diffrnn.data.windows.SeriesWindows`, length = max lag + context + horizon):
    target (B, L), time_feat (B, L, F) aligned with target, series_id (B,).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, distributions, nn

from diffrnn.data.windows import business_day_lags, lag_features, mean_scaling, num_time_features
from diffrnn.modeling import PretrainedMixin
from diffrnn.rnn.layers import CellType, check_cell, make_rnn

DistributionName = Literal["gaussian", "student_t"]
DISTRIBUTIONS: tuple[DistributionName, ...] = get_args(DistributionName)

MIN_SIGMA = 1e-4  # floor on the scale parameter in scaled units, keeps the likelihood bounded


@dataclass(frozen=True)
class DeepARConfig:
    """DeepAR hyperparameters.

    Args:
        context_length: C, steps unrolled before the forecast (also the scaling window).
        prediction_length: H, steps forecast.
        lags: offsets of the lagged targets fed at each step (all >= 1).
        freq: pandas frequency of the data (chooses the calendar features; None: none).
        cell: recurrent cell ("rnn", "lstm", "gru", "mingru", "minlstm").
        hidden_size, num_layers, dropout: of the recurrent stack.
        distribution: output head, "gaussian" or "student_t".
        num_series: series ids the embedding knows (0: no embedding).
        embedding_dim: size of the series embedding.
        minimum_scale: floor on the mean-|y| scale.
        relative_to_last: the head's location is added to the previous value z_{t-1}, so the
            network predicts the increment (a random walk plus learned corrections) instead of
            the level. On exchange rates it fits the one-step likelihood better but its
            ancestral paths diverge after long training (BENCHMARKS.md); no preset uses it.
    """

    context_length: int = 30
    prediction_length: int = 30
    lags: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    freq: str | None = "B"
    cell: CellType = "lstm"
    hidden_size: int = 40
    num_layers: int = 2
    dropout: float = 0.1
    distribution: DistributionName = "student_t"
    num_series: int = 0
    embedding_dim: int = 4
    minimum_scale: float = 1e-10
    relative_to_last: bool = False

    def __post_init__(self) -> None:
        check_cell(self.cell)
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}"
            )
        if min(self.lags) < 1:
            raise ValueError(f"lags must all be >= 1, got {self.lags}")

    @property
    def history_length(self) -> int:
        """Rows of past a forecast reads: the largest lag before the context, plus the context."""
        return max(self.lags) + self.context_length

    @property
    def window_length(self) -> int:
        """Rows per training window: history plus horizon."""
        return self.history_length + self.prediction_length


class DeepAR(PretrainedMixin, nn.Module):
    """Autoregressive RNN with a Gaussian or Student-t head over mean-scaled targets."""

    config_class = DeepARConfig

    def __init__(self, config: DeepARConfig) -> None:
        super().__init__()
        self.config = config
        self.num_time_features = num_time_features(config.freq) if config.freq else 0
        self.embedding = (
            nn.Embedding(config.num_series, config.embedding_dim) if config.num_series else None
        )
        input_size = (
            len(config.lags)
            + self.num_time_features
            + 1  # log scale
            + (config.embedding_dim if config.num_series else 0)
        )
        self.rnn = make_rnn(
            config.cell, input_size, config.hidden_size, config.num_layers, config.dropout
        )
        num_params = 3 if config.distribution == "student_t" else 2
        self.head = nn.Linear(config.hidden_size, num_params)

    # -- pieces ----------------------------------------------------------------------------

    def _scale(self, history: Tensor) -> Tensor:
        """history (B, >= C) -> nu (B, 1): mean |y| over the last C steps."""
        context = history[:, -self.config.context_length :, None]  # (B, C, 1)
        return mean_scaling(context, self.config.minimum_scale).scale[:, :, 0]  # (B, 1)

    def _static(self, scale: Tensor, series_id: Tensor) -> Tensor:
        """Features constant over a window: log nu and the series embedding, (B, S_f)."""
        parts = [scale.log()]
        if self.embedding is not None:
            parts.append(self.embedding(series_id))
        return torch.cat(parts, dim=-1)

    def _inputs(
        self, z: Tensor, time_feat: Tensor, static: Tensor, length: int, end: int
    ) -> Tensor:
        """RNN inputs of positions [end - length, end): z (B, L) -> (B, length, D)."""
        lags = lag_features(z[:, :, None], self.config.lags, length, end)[:, :, 0]  # (B, P, K)
        static = static[:, None].expand(-1, length, -1)  # (B, P, S_f)
        return torch.cat([lags, time_feat, static], dim=-1)

    def distribution(self, hidden: Tensor, z_prev: Tensor) -> distributions.Distribution:
        """p(z_t | h_t) in scaled units: hidden (..., H), z_prev (...) -> a batch of shape (...)."""
        params = self.head(hidden)
        loc = params[..., 0] + z_prev if self.config.relative_to_last else params[..., 0]
        sigma = F.softplus(params[..., 1]) + MIN_SIGMA
        if self.config.distribution == "gaussian":
            return distributions.Normal(loc, sigma)
        df = 2.0 + F.softplus(params[..., 2])
        return distributions.StudentT(df, loc, sigma)

    # -- training --------------------------------------------------------------------------

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Mean negative log-likelihood of z over the context and horizon (teacher forcing).

        Args:
            batch: target (B, L), time_feat (B, L, F), series_id (B,) with
                L = config.window_length.
        """
        c = self.config
        target = batch["target"]
        steps = c.context_length + c.prediction_length
        scale = self._scale(target[:, : c.history_length])  # (B, 1)
        z = target / scale  # (B, L)
        static = self._static(scale, batch["series_id"])
        inputs = self._inputs(z, batch["time_feat"][:, -steps:], static, steps, z.shape[1])
        hidden, _ = self.rnn(inputs)  # (B, C + H, hidden)
        dist = self.distribution(hidden, z[:, -steps - 1 : -1])
        return -dist.log_prob(z[:, -steps:]).mean()

    # -- forecasting -----------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self,
        history: Tensor,
        time_feat: Tensor,
        series_id: Tensor,
        num_samples: int,
    ) -> Tensor:
        """Ancestral sample paths of the next H steps (seed with `torch.manual_seed`).

        Args:
            history: (B, >= history_length) past targets; the last C are the context.
            time_feat: (B, C + H, F) calendar features of the context and horizon steps.
            series_id: (B,) series ids (ignored without an embedding).
            num_samples: S paths per series.

        Returns:
            (B, S, H) sample paths in the data's units.
        """
        c = self.config
        history = history[:, -c.history_length :]
        scale = self._scale(history)  # (B, 1)
        static = self._static(scale, series_id)
        z = (history / scale).repeat_interleave(num_samples, dim=0)  # (B S, L_h)
        time_feat = time_feat.repeat_interleave(num_samples, dim=0)  # (B S, C + H, F)
        static = static.repeat_interleave(num_samples, dim=0)
        inputs = self._inputs(
            z, time_feat[:, : c.context_length], static, c.context_length, z.shape[1]
        )
        _, state = self.rnn(inputs)  # unroll the context
        draws = []
        for t in range(c.prediction_length):
            step_in = self._inputs(
                z,
                time_feat[:, c.context_length + t : c.context_length + t + 1],
                static,
                1,
                z.shape[1] + 1,
            )  # (B S, 1, D): lags read the history and the draws so far
            hidden, state = self.rnn.step(step_in[:, 0], state)
            dist = self.distribution(hidden, z[:, -1])
            draw = dist.sample()  # (B S,)
            z = torch.cat([z, draw[:, None]], dim=1)
            draws.append(draw)
        paths = torch.stack(draws, dim=1) * scale.repeat_interleave(num_samples, dim=0)  # (B S, H)
        return paths.view(-1, num_samples, c.prediction_length)


# ---------------------------------------------------------------------------------------------
# Presets


def deepar_exchange(
    cell: CellType = "lstm", distribution: DistributionName = "student_t"
) -> DeepARConfig:
    """GluonTS DeepAR's defaults on exchange_rate_nips: 2 x 40 LSTM, Student-t, business-day
    lags (GluonTS's lag set up to 793 steps), context = horizon = 30, one id per series."""
    return DeepARConfig(
        context_length=30,
        prediction_length=30,
        lags=business_day_lags(),
        freq="B",
        cell=cell,
        hidden_size=40,
        num_layers=2,
        dropout=0.1,
        distribution=distribution,
        num_series=8,
    )


def deepar_tiny(
    prediction_length: int = 30, freq: str | None = "B", num_series: int = 8
) -> DeepARConfig:
    """A small DeepAR for quick runs and tests: 1 x 16 LSTM, lags 1..7."""
    return DeepARConfig(
        context_length=prediction_length,
        prediction_length=prediction_length,
        freq=freq,
        hidden_size=16,
        num_layers=1,
        dropout=0.0,
        num_series=num_series,
    )
