"""SegRNN: a recurrent cell over segments of the input, parallel decoding of the horizon.

Lin et al. 2023, "SegRNN: Segment Recurrent Neural Network for Long-Term Time Series
Forecasting" (arXiv:2308.11200). A point-wise RNN over a 720-step look-back runs 720 steps and
then rolls out the horizon step by step; SegRNN cuts both into segments of w steps instead:

1. Channel independence and instance normalisation: every series of a window is its own
   sample through shared weights, and its last value x_L is subtracted first and added back to
   the forecast (the paper's "RevIN-like" normalisation, NLinear's shift).
2. Segment-wise iteration (paper section 3.2): the look-back x_{1:L} of one series is split into
   n = L / w segments X_j in R^w, each embedded as E_j = ReLU(W_e X_j + b_e) in R^d, and a cell
   reads E_1..E_n: h_n summarises the whole look-back after n steps instead of L.
3. Parallel multi-step forecasting, PMF (section 3.3): output segment m of series c starts from
   h_n with the input P_m = [pe_m ; ce_c] (a learned position embedding of m and a channel
   embedding of c, d / 2 each), and takes one cell step: o_m = cell(P_m, h_n). The m = H / w
   steps share h_n but not each other's outputs, so they run as one batch and no error
   accumulates from segment to segment. A shared head Y_m = W_o dropout(o_m) + b_o in R^w
   gives each output segment; their concatenation is the forecast.

The paper's cell is a GRU; any cell of `make_rnn` stands in (its `step` takes one input from a
given state). Where the look-back is not a multiple of w, it is padded on the left with its
first value; where the horizon is not, the last segment is cut.

Batch: past (B, L, N) and future (B, H, N), already standardised (e.g. on the training split).

As a forecaster (`diffrnn.forecast_specs`, the one line `network_spec("segrnn", ...)`): configured
for a problem by `segrnn_forecaster`, trained on `training_data`, forecasting with `sample_paths`
(a point forecast: one path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffrnn.modeling import PretrainedMixin
from diffrnn.rnn.cells import RecurrentConfig
from diffrnn.rnn.layers import State, recurrent_stack
from diffrnn.rnn.point_forecaster import DirectForecast

if TYPE_CHECKING:
    from diffrnn.data.windows import ForecastProblem

LossName = Literal["mse", "mae"]
LOSSES: tuple[LossName, ...] = ("mse", "mae")


@dataclass(frozen=True)
class SegRNNConfig(RecurrentConfig):
    """SegRNN hyperparameters (defaults: the paper's ETTh1 setting, look-back 720; its d = 512
    is `segrnn_etth1`'s), and the recurrent stack's (`RecurrentConfig`): `cell` (the paper's is
    "gru"), `hidden_size` d, the segment embedding and the cell's state (even: the decoder's
    input is two halves of d), and `num_layers` (the paper's 1; the decoder's step starts from
    every layer's h_n).

    Args:
        input_length: L, past steps read.
        horizon: H, steps forecast at once.
        num_series: N, series per sample (each has its own channel embedding).
        segment_length: w, steps per segment of the input and of the output.
        dropout: before the output head.
        loss: "mae" (the paper's training loss) or "mse".
    """

    input_length: int = 720
    horizon: int = 96
    num_series: int = 7
    segment_length: int = 48
    dropout: float = 0.5
    loss: LossName = "mae"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        for name in ("input_length", "horizon", "num_series", "segment_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % 2:
            raise ValueError(f"hidden_size must be even, got {self.hidden_size}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def history_length(self) -> int:
        """Rows of past a forecast reads: L."""
        return self.input_length

    @property
    def input_segments(self) -> int:
        """n = ceil(L / w): segments the cell reads."""
        return math.ceil(self.input_length / self.segment_length)

    @property
    def output_segments(self) -> int:
        """m = ceil(H / w): segments decoded in parallel."""
        return math.ceil(self.horizon / self.segment_length)


def _repeat_state(state: State, times: int) -> State:
    """Each sample's state `times` times in a row: (L, B, d) -> (L, B times, d) [or (h, c)]."""
    if isinstance(state, tuple):
        return tuple(s.repeat_interleave(times, dim=1) for s in state)  # type: ignore[return-value]
    return state.repeat_interleave(times, dim=1)


class SegRNN(DirectForecast, PretrainedMixin, nn.Module):
    """Segment embedding -> cell over segments -> one cell step per output segment -> head;
    `training_data` and `sample_paths` (one path) are the direct forecasters' (`DirectForecast`)."""

    config_class = SegRNNConfig

    def __init__(self, config: SegRNNConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Linear(c.segment_length, c.hidden_size)  # W_e, b_e
        self.rnn = recurrent_stack(c, c.hidden_size)
        half = c.hidden_size // 2
        self.position = nn.Parameter(torch.randn(c.output_segments, half))  # pe_m
        self.channel = nn.Parameter(torch.randn(c.num_series, half))  # ce_c
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.hidden_size, c.segment_length))

    def predict(self, past: Tensor) -> Tensor:
        """Forecast the next H steps: past (B, L, N) -> (B, H, N)."""
        c = self.config
        batch, length, num_series = past.shape
        if length != c.input_length or num_series != c.num_series:
            raise ValueError(
                f"past must be (B, {c.input_length}, {c.num_series}), got {tuple(past.shape)}"
            )
        level = past[:, -1:]  # (B, 1, N): x_L, subtracted and added back
        x = (past - level).permute(0, 2, 1).reshape(batch * num_series, length)  # (B N, L)
        pad = c.input_segments * c.segment_length - length
        if pad:
            x = torch.cat([x[:, :1].expand(-1, pad), x], dim=1)  # (B N, n w)
        segments = x.view(batch * num_series, c.input_segments, c.segment_length)  # (B N, n, w)
        _, state = self.rnn(F.relu(self.embed(segments)))  # E_j (B N, n, d) -> h_n
        m = c.output_segments
        queries = torch.cat(
            [
                self.position[None].expand(num_series, -1, -1),  # (N, m, d/2)
                self.channel[:, None].expand(-1, m, -1),  # (N, m, d/2)
            ],
            dim=-1,
        )  # (N, m, d): P_m of series c
        queries = queries[None].expand(batch, -1, -1, -1).reshape(-1, c.hidden_size)  # (B N m, d)
        out, _ = self.rnn.step(queries, _repeat_state(state, m))  # o_m: (B N m, d)
        y = self.head(out).view(batch, num_series, m * c.segment_length)  # (B, N, m w)
        return y[:, :, : c.horizon].permute(0, 2, 1) + level  # (B, H, N)

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """The config's loss of the forecast: batch past (B, L, N), future (B, H, N)."""
        error = self.predict(batch["past"]) - batch["future"]
        return error.abs().mean() if self.config.loss == "mae" else error.pow(2).mean()


def segrnn_forecaster(
    problem: ForecastProblem, size: Literal["quick", "full"] = "full"
) -> SegRNNConfig:
    """SegRNN for a problem (input = its context, its horizon and series), the paper's GRU
    and MAE loss, segments no longer than the input (its training: `forecast_specs.segrnn_recipe`).

    The paper's ETTh1 run is d = 512, batch 256, 30 epochs on a GPU; "full" is sized for minutes
    of one CPU thread (BENCHMARKS.md, SegRNN on ETTh1).

    Args:
        problem: the series (N), context (L) and horizon (H) to build for.
        size: "quick" (d = 32, w = 24, no dropout) or "full" (d = 128, w = 48, dropout 0.5).
    """
    quick = size == "quick"
    return SegRNNConfig(
        input_length=problem.context,
        horizon=problem.horizon,
        num_series=problem.num_series,
        segment_length=min(24 if quick else 48, problem.context),
        cell="gru",
        hidden_size=32 if quick else 128,
        dropout=0.0 if quick else 0.5,
        loss="mae",
    )


def segrnn_etth1(horizon: int = 96, input_length: int = 720) -> SegRNNConfig:
    """The paper's ETTh1 setting: GRU, w = 48, d = 512, dropout 0.5, MAE loss."""
    return SegRNNConfig(
        input_length=input_length, horizon=horizon, num_series=7, cell="gru", hidden_size=512
    )
