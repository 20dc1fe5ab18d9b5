"""Issue 16 item 1: which recipe lever lets a learned forecaster reach the random walk on
forecast-exchange. Runs the registered units in this process with one model-config field
changed (e.g. `predict="increment"`), one seed, and prints crps / crps_sum / steps / CPU s.

    PYTHONPATH=src python benchmarks/exchange_levers.py --model deepar \
        --variant predict=level --variant predict=increment --budget 30 --seed 0

A variant is `field=value[,field=value]` over the model's config (DeepARConfig, TimeGradConfig,
DiffusionForecasterConfig); values are parsed as Python literals, else kept as strings.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from diffrnn.bench.registry import UnitContext


def parse_variant(text: str) -> dict[str, Any]:
    """'a=1,b=gaussian' -> {'a': 1, 'b': 'gaussian'}; '' or 'default' -> {}."""
    if text in ("", "default"):
        return {}
    fields = {}
    for part in text.split(","):
        key, value = part.split("=", 1)
        try:
            fields[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            fields[key] = value
    return fields


@contextmanager
def patched(module: Any, name: str, wrap: Callable[[Any], Any]) -> Iterator[None]:
    """Replace `module.name` by `wrap(original)` for the duration."""
    original = getattr(module, name)
    setattr(module, name, wrap(original))
    try:
        yield
    finally:
        setattr(module, name, original)


def run(model: str, fields: dict[str, Any], budget: float, seed: int, suite: str) -> dict:
    """One unit of forecast-exchange with `fields` replaced in its model config."""
    from diffrnn.bench.units import diffusion_forecasting, forecasting, timegrad

    def with_fields(build: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *a, **k: dataclasses.replace(build(*a, **k), **fields)

    ctx = UnitContext(seed=seed, budget_s=budget, suite=suite, out_dir=Path(tempfile.mkdtemp()))
    start = time.process_time()
    if model == "deepar":
        with patched(forecasting, "deepar_config_for", with_fields):
            out = forecasting.exchange_deepar(ctx, "lstm")
    elif model == "timegrad":
        with patched(timegrad, "timegrad_config_for", with_fields):
            out = timegrad.timegrad_exchange_unit(ctx)
    elif model == "diffusion-forecaster":
        from diffrnn.diffusion import ts_forecaster

        # the unit imports the config class from its module when it runs
        with patched(ts_forecaster, "DiffusionForecasterConfig", with_fields):
            out = diffusion_forecasting.diffusion_forecaster_exchange(ctx)
    else:
        raise ValueError(f"model must be deepar, timegrad or diffusion-forecaster, got {model!r}")
    return {
        "crps": out.metrics["crps"],
        "crps_sum": out.metrics["crps_sum"],
        "train_cpu_s": out.train_seconds,
        "unit_cpu_s": time.process_time() - start,
        "notes": out.notes[:1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deepar")
    parser.add_argument("--variant", action="append", default=None)
    parser.add_argument("--budget", type=float, default=30.0, help="training CPU seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--suite", default="reference")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for variant in args.variant or ["default"]:
        result = run(args.model, parse_variant(variant), args.budget, args.seed, args.suite)
        print(
            f"{args.model} [{variant}] seed {args.seed}: crps {result['crps']:.5f} "
            f"crps_sum {result['crps_sum']:.5f} train {result['train_cpu_s']:.1f} s, "
            f"unit {result['unit_cpu_s']:.1f} CPU s; {result['notes']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
