"""Direct multi-horizon point forecaster: an RNN reads the input window, a linear map emits all H
future steps at once, trained with MSE (the long-horizon protocol of Informer/Autoformer on ETT).

Channel-independent by default (each series is its own sample through shared weights, as PatchTST
and the LTSF-Linear study found best on ETT), and each window is shifted by its last value before
the network and back after (NLinear's normalisation against level shifts between splits).

Batch: past (B, C, N) and future (B, H, N), already standardised (e.g. on the training split).

As a forecaster (`diffrnn.forecast_specs`, the lines `point-<cell>`): configured for a problem by
`point_forecaster_for`, trained on `training_data`, forecasting with `sample_paths` (one path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from diffrnn.modeling import PretrainedMixin
from diffrnn.rnn.cells import CellType, RecurrentConfig
from diffrnn.rnn.layers import recurrent_stack

if TYPE_CHECKING:
    from diffrnn.data.windows import ForecastProblem, PastFutureWindows


class DirectForecast:
    """The forecaster contract (`diffrnn.forecast_specs.NetworkForecaster`) of a direct point
    forecaster: a model whose `predict(past (B, L, N)) -> (B, H, N)` reads
    `config.input_length` rows and whose `loss` reads {"past", "future"} batches."""

    config: Any
    predict: Callable[[Tensor], Tensor]

    def training_data(self, problem: ForecastProblem) -> PastFutureWindows:
        """Every (L, H) window of `problem`'s training rows, as `loss` reads them."""
        from diffrnn.data.windows import PastFutureWindows

        return PastFutureWindows(problem.train, self.config.input_length, self.config.horizon)

    @torch.no_grad()
    def sample_paths(
        self,
        history: Tensor,
        calendar: Tensor | None,
        num_samples: int,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """The forecast as one path (a point forecast draws nothing): history (B, L, N) ->
        (B, 1, H, N). `calendar`, `num_samples` and `generator` are the contract's, unused."""
        return self.predict(history)[:, None]  # (B, 1, H, N)


@dataclass(frozen=True)
class PointForecasterConfig(RecurrentConfig):
    """Point forecaster hyperparameters, and the recurrent stack's `cell`, `hidden_size` and
    `num_layers` (`RecurrentConfig`).

    Args:
        input_length: C, past steps read.
        horizon: H, steps forecast at once.
        num_series: N, series per sample.
        dropout: between the recurrent layers.
        channel_independent: run every series through the RNN separately (input size 1)
            instead of all N together.
        subtract_last: forecast relative to the window's last value.
    """

    input_length: int = 96
    horizon: int = 96
    num_series: int = 7
    dropout: float = 0.0
    channel_independent: bool = True
    subtract_last: bool = True


class PointForecaster(DirectForecast, PretrainedMixin, nn.Module):
    """RNN encoder + linear multi-horizon head, MSE loss."""

    config_class = PointForecasterConfig

    def __init__(self, config: PointForecasterConfig) -> None:
        super().__init__()
        self.config = config
        width = 1 if config.channel_independent else config.num_series
        self.rnn = recurrent_stack(config, width, config.dropout)
        self.head = nn.Linear(config.hidden_size, config.horizon * width)

    def predict(self, past: Tensor) -> Tensor:
        """Forecast the next H steps: past (B, C, N) -> (B, H, N)."""
        c = self.config
        batch, _, num_series = past.shape
        level = past[:, -1:] if c.subtract_last else past[:, -1:] * 0  # (B, 1, N)
        x = past - level
        if c.channel_independent:
            x = x.permute(0, 2, 1).reshape(batch * num_series, -1, 1)  # (B N, C, 1)
        hidden, _ = self.rnn(x)  # (B', C, hidden)
        out = self.head(hidden[:, -1])  # (B', H * width)
        if c.channel_independent:
            out = out.view(batch, num_series, c.horizon).permute(0, 2, 1)  # (B, H, N)
        else:
            out = out.view(batch, c.horizon, num_series)
        return out + level

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """MSE of the forecast: batch past (B, C, N), future (B, H, N)."""
        return (self.predict(batch["past"]) - batch["future"]).pow(2).mean()


def point_forecaster_for(
    problem: ForecastProblem, size: Literal["quick", "full"] = "full", cell: CellType = "gru"
) -> PointForecasterConfig:
    """The point forecaster for a problem (input = its context, its horizon and series):
    1 x 32 ("quick") or 1 x 64 ("full") channel-independent `cell`, last-value normalisation."""
    return PointForecasterConfig(
        input_length=problem.context,
        horizon=problem.horizon,
        num_series=problem.num_series,
        cell=cell,
        hidden_size=32 if size == "quick" else 64,
        num_layers=1,
    )


def point_forecaster_etth1(cell: CellType = "gru", horizon: int = 96) -> PointForecasterConfig:
    """ETTh1, input 96: 1 x 64 channel-independent RNN, last-value normalisation."""
    return PointForecasterConfig(
        input_length=96, horizon=horizon, num_series=7, cell=cell, hidden_size=64, num_layers=1
    )
