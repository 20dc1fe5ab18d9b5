"""The tasks of the comparison harness as Python data (names are a public contract)."""

from __future__ import annotations

from diffrnn.bench.registry import Task, define_task

define_task(
    Task(
        name="forecast-exchange",
        dataset="exchange_rate_nips",
        description="8 exchange rates, 5 rolling test windows of 30 business days, context 30, "
        "100 sample paths, CRPS and CRPS-sum as GluonTS's MultivariateEvaluator computes them.",
        metrics=("crps", "crps_sum", "mse"),
        primary_metric="crps_sum",
    )
)
