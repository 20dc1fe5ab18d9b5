"""DeepAR-style probabilistic forecaster (Salinas et al. 2020, "DeepAR: Probabilistic forecasting
with autoregressive recurrent networks").

One global RNN for all series. At step t it reads the lagged, mean-scaled targets
z_{t-l} = y_{t-l} / nu (nu = mean |y| over the context, per window and series), the calendar
features of step t, log nu and a series embedding, and emits the parameters of p(z_t). Training
maximises the likelihood over the context and horizon with teacher forcing; forecasting unrolls
the context, then draws z_t ~ p(z_t) and feeds each draw back (ancestral sampling), giving
sample paths y = nu * z.

With `predict="increment"` the same network models the scaled steps d_t = (y_t - y_{t-1}) / s
instead (s = the root mean square of the moves over the context, `increment_scaling`): it
reads lags of d and its paths are y_C + s (d_{C+1} + ... + d_t), a random walk when the head
learns d ~ white noise. A level model must reproduce z_{t-1} to ~0.1% to compete with a random
walk on exchange rates; an increment model starts from one (BENCHMARKS.md, issue 16).

Batch (from `diffrnn.data.windows.SeriesWindows`, length = max lag + context + horizon):
    target (B, L), time_feat (B, L, F) aligned with target, series_id (B,).

As a forecaster (`diffrnn.forecast_specs`, the lines `deepar`, `deepar-<cell>`): configured for a
problem by `deepar_forecaster`, trained on `training_data`, forecasting with `sample_paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, distributions, nn

from diffrnn.data.windows import (
    SeriesWindows,
    business_day_lags,
    increment_scaling,
    lag_features,
    lags_for_frequency,
    mean_scaling,
    num_time_features,
)
from diffrnn.modeling import PretrainedMixin
from diffrnn.rnn.cells import CellType, check_cell
from diffrnn.rnn.layers import make_rnn

if TYPE_CHECKING:
    from diffrnn.data.windows import ForecastProblem

DistributionName = Literal["gaussian", "student_t"]
DISTRIBUTIONS: tuple[DistributionName, ...] = get_args(DistributionName)
PredictName = Literal["level", "increment"]
PREDICTS: tuple[PredictName, ...] = get_args(PredictName)

MIN_SIGMA = 1e-4  # floor on the scale parameter in scaled units, keeps the likelihood bounded
SAMPLE_MEMORY_BYTES = 256 * 2**20
"""Default memory budget of `DeepAR.sample`'s working tensors (see `sample_bytes_per_path`)."""
NOISE_BLOCK = 1024
"""Sample paths that draw their noise from one generator: a chunk holds whole blocks, so the paths
do not depend on the chunk size. The draws, loop over blocks included, took 1.7% of the sampling
time (cProfile, 40,000 paths of a 2 x 40 GRU, one thread)."""
SAMPLE_CHUNK_PATHS = 100_000
"""Series paths `sample_paths` asks `sample` for at once (series x windows x samples; TimeGrad's
`sample_paths` holds to the same number). 3M paths of 10,000 series x 3 origins at once peaked at
16.8 GB, in chunks of 100k at 1.5 GB (the GRU unit, quick suite)."""
SHORT_LAG_LIMIT = 23
"""Largest lag `forecast_lags` gives: GluonTS's business-day lags up to a month (22 +- 1). The
yearly lags (259..793) cost 770 extra rows per window and scored worse on exchange within the
budget (BENCHMARKS.md)."""


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
        predict: what the head models: "level", z_t = y_t / nu (Salinas et al., GluonTS), or
            "increment", d_t = (y_t - y_{t-1}) / s with the lags read from d too (see the
            module docstring); an increment model reads one more row of history. Increments
            are the default since issue 16: on forecast-exchange the level model scored CRPS-sum
            0.0093 and the increment model 0.0047, the random walk's 0.0042 (seed 0,
            BENCHMARKS.md).
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
    predict: PredictName = "increment"

    def __post_init__(self) -> None:
        check_cell(self.cell)
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}"
            )
        if min(self.lags) < 1:
            raise ValueError(f"lags must all be >= 1, got {self.lags}")
        if self.predict not in PREDICTS:
            raise ValueError(f"predict must be one of {PREDICTS}, got {self.predict!r}")
        if self.predict == "increment" and self.relative_to_last:
            raise ValueError("relative_to_last applies to predict='level' only")

    @property
    def history_length(self) -> int:
        """Rows of past a forecast reads: the largest lag before the context, plus the context
        (plus the row before them that the first increment needs)."""
        return max(self.lags) + self.context_length + (self.predict == "increment")

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

    def _scaled(self, target: Tensor, history_length: int) -> tuple[Tensor, Tensor, Tensor]:
        """target (B, L) whose first `history_length` rows are the history -> the modelled
        series z (B, L) (levels) or (B, L - 1) (increments), its scale s (B, 1) and the last
        history value y_C (B, 1) that increment paths start from."""
        c = self.config
        history = target[:, :history_length, None]  # (B, L_h, 1)
        if c.predict == "increment":
            scaling = increment_scaling(history, c.context_length)
            scale, last = scaling.scale[:, :, 0], scaling.loc[:, :, 0]  # (B, 1)
            return (target[:, 1:] - target[:, :-1]) / scale, scale, last
        context = history[:, -c.context_length :]  # (B, C, 1)
        scale = mean_scaling(context, c.minimum_scale).scale[:, :, 0]  # (B, 1)
        return target / scale, scale, history[:, -1]

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
        z, scale, _ = self._scaled(target, c.history_length)  # (B, L) or (B, L - 1), (B, 1)
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
        generator: torch.Generator | None = None,
        max_bytes: int = SAMPLE_MEMORY_BYTES,
    ) -> Tensor:
        """Ancestral sample paths of the next H steps, drawn in chunks within `max_bytes`.

        The B S paths are drawn `chunk_paths` at a time, so memory stays near `max_bytes`
        however many series are asked for. Every block of `NOISE_BLOCK` consecutive paths draws
        its noise from a generator of its own, seeded from one draw of `generator`, so the paths
        do not depend on the chunking: the same generator state gives the same paths under any
        budget.

        Args:
            history: (B, >= history_length) past targets; the last C are the context.
            time_feat: (B, C + H, F) calendar features of the context and horizon steps.
            series_id: (B,) series ids (ignored without an embedding).
            num_samples: S paths per series.
            generator: seeds the paths (None: torch's global generator).
            max_bytes: memory budget of the working tensors (see `sample_bytes_per_path`).

        Returns:
            (B, S, H) sample paths in the data's units.
        """
        c = self.config
        history = history[:, -c.history_length :]
        z, scale, last = self._scaled(history, c.history_length)  # (B, L_h (- 1)), (B, 1), (B, 1)
        static = self._static(scale, series_id)  # (B, S_f)
        paths = history.new_empty(history.shape[0] * num_samples, c.prediction_length)  # (B S, H)
        blocks = -(-paths.shape[0] // NOISE_BLOCK)
        seeds = torch.randint(0, 2**62, (blocks,), generator=generator).tolist()
        chunk = self.chunk_paths(time_feat.shape[-1], max_bytes)
        for start in range(0, paths.shape[0], chunk):
            rows = torch.arange(start, min(start + chunk, paths.shape[0]))
            series = rows // num_samples  # (R,) the series of each path
            first = start // NOISE_BLOCK
            generators = [
                torch.Generator().manual_seed(seed)
                for seed in seeds[first : first + -(-len(rows) // NOISE_BLOCK)]
            ]
            draws = self._unroll(z[series], time_feat[series], static[series], generators)
            if c.predict == "increment":
                draws = draws.cumsum(dim=1)  # (R, H): y_t - y_C in units of s
                paths[start : start + len(rows)] = last[series] + draws * scale[series]
            else:
                paths[start : start + len(rows)] = draws * scale[series]  # (R, H)
        return paths.view(-1, num_samples, c.prediction_length)

    def training_data(self, problem: ForecastProblem) -> SeriesWindows:
        """Every window of every series of `problem`'s training rows, with their calendar."""
        return SeriesWindows(
            problem.train, self.config.window_length, problem.calendar(problem.train_end)
        )

    def sample_paths(
        self,
        history: Tensor,
        calendar: Tensor | None,
        num_samples: int,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """The forecaster contract's paths: `sample` of every series of every window,
        `SAMPLE_CHUNK_PATHS` series paths at a time.

        Args:
            history: (B, L, N) past values of N series, L >= history_length.
            calendar: (B, C + H, F) features of the context and horizon (None: no calendar).
            num_samples: S paths per series.
            generator: seeds the paths (the same state gives the same paths).

        Returns:
            (B, S, H, N) sample paths in the data's units.
        """
        c = self.config
        batch, _, n = history.shape
        if calendar is None:
            calendar = history.new_zeros(batch, c.context_length + c.prediction_length, 0)
        rows = history.permute(0, 2, 1).reshape(batch * n, -1)  # (B N, L)
        feats = calendar.repeat_interleave(n, dim=0)  # (B N, C + H, F)
        ids = torch.arange(n).repeat(batch)  # (B N,)
        chunk = max(1, SAMPLE_CHUNK_PATHS // num_samples)
        paths = torch.cat(
            [
                self.sample(
                    rows[i : i + chunk],
                    feats[i : i + chunk],
                    ids[i : i + chunk],
                    num_samples,
                    generator,
                )
                for i in range(0, len(rows), chunk)
            ]
        )  # (B N, S, H)
        return paths.view(batch, n, num_samples, -1).permute(0, 2, 3, 1)  # (B, S, H, N)

    def sample_bytes_per_path(self, num_features: int) -> int:
        """Bytes of working tensors per sample path (float32), an upper bound: the lagged history
        with each draw appended (twice, while copied), the calendar features, and per context
        step the RNN inputs plus four hidden-sized vectors per layer (gate pre-activations and
        outputs). Measured (benchmarks/deepar_sampling_memory.py, 40,000 paths): 17.7 kB per path
        for a 2 x 40 GRU over 14 context steps (this bound: 20.6 kB), 10.4 kB for the LSTM,
        30.6 kB for the exchange preset (bound: 52.7 kB)."""
        c = self.config
        inputs = len(c.lags) + num_features + 1 + (c.embedding_dim if c.num_series else 0)
        floats = (
            2 * (c.history_length + c.prediction_length)
            + (c.context_length + c.prediction_length) * num_features
            + c.context_length * (inputs + 4 * c.hidden_size * c.num_layers)
            + 4 * c.hidden_size * c.num_layers
            + 2 * c.prediction_length
        )
        return 4 * floats

    def chunk_paths(self, num_features: int, max_bytes: int) -> int:
        """Paths drawn at once within `max_bytes`: a multiple of `NOISE_BLOCK`, at least one."""
        fitting = max_bytes // self.sample_bytes_per_path(num_features)
        return max(1, fitting // NOISE_BLOCK) * NOISE_BLOCK

    def _unroll(
        self, z: Tensor, time_feat: Tensor, static: Tensor, generators: list[torch.Generator]
    ) -> Tensor:
        """Draws (R, H) in scaled units for R paths: z (R, L_h), time_feat (R, C + H, F),
        static (R, S_f); rows [k NOISE_BLOCK, (k + 1) NOISE_BLOCK) use generators[k]."""
        c = self.config
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
            )  # (R, 1, D): lags read the history and the draws so far
            hidden, state = self.rnn.step(step_in[:, 0], state)
            draw = _draw(self.distribution(hidden, z[:, -1]), generators)  # (R,)
            z = torch.cat([z, draw[:, None]], dim=1)
            draws.append(draw)
        return torch.stack(draws, dim=1)


def _draw(dist: distributions.Distribution, generators: list[torch.Generator]) -> Tensor:
    """One draw from each element of a (R,) Normal or StudentT, rows of block k from
    generators[k], by torch's own recipe (StudentT: X / sqrt(Chi2(df) / df), Chi2 = 2 Gamma)."""
    parts = []
    for k, generator in enumerate(generators):
        rows = slice(k * NOISE_BLOCK, (k + 1) * NOISE_BLOCK)
        loc, sigma = dist.loc[rows], dist.scale[rows]
        x = torch.randn(loc.shape, generator=generator, dtype=loc.dtype)
        if isinstance(dist, distributions.StudentT):
            df = dist.df[rows]
            # the public Gamma takes no generator; this is the op its rsample calls
            chi2 = 2.0 * torch._standard_gamma(0.5 * df, generator=generator)
            x = x * torch.rsqrt(chi2.clamp_min(torch.finfo(df.dtype).tiny) / df)
        parts.append(loc + sigma * x)
    return torch.cat(parts)


# ---------------------------------------------------------------------------------------------
# Presets


def forecast_lags(problem: ForecastProblem) -> tuple[int, ...]:
    """The lags of `problem`'s frequency that fit twice in the training rows before a window,
    up to `SHORT_LAG_LIMIT`."""
    room = problem.train_end - problem.context - problem.horizon  # rows available for lags
    limit = min(room // 2, SHORT_LAG_LIMIT)
    return tuple(lag for lag in lags_for_frequency(problem.freq) if lag <= limit)


def deepar_forecaster(
    problem: ForecastProblem, size: Literal["quick", "full"] = "full", cell: CellType = "lstm"
) -> DeepARConfig:
    """DeepAR for a problem (context, horizon, series, calendar if dated; `forecast_lags`),
    Student-t head; its training: `forecast_specs.deepar_recipe`.

    Args:
        problem: the series (N), context (C), horizon (H) and frequency to build for.
        size: "quick" (1 x 16) or "full" (GluonTS's 2 x 40, dropout 0.1).
        cell: the recurrent cell.
    """
    quick = size == "quick"
    layers = 1 if quick else 2
    return DeepARConfig(
        context_length=problem.context,
        prediction_length=problem.horizon,
        lags=forecast_lags(problem),
        freq=problem.freq if problem.start is not None else None,
        cell=cell,
        hidden_size=16 if quick else 40,
        num_layers=layers,
        dropout=0.1 if layers > 1 else 0.0,
        distribution="student_t",
        num_series=problem.num_series,
    )


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
        predict="increment",
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
