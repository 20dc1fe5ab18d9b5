"""SegRNN against the direct linear model on ETTh1 (Informer protocol), inputs 96 and 720.

The `forecast-etth1` task reads 96 steps; SegRNN's paper reads 720. This script runs the task's
units (`direct_unit` of the `segrnn` spec, `point_floor_unit` for `linear-ar`) on the task's
problems at each input length, horizons 96 / 192 / 336 / 720, every test window, and prints one
row per (input, model, seed, horizon): MSE, MAE on the standardised data, training and whole-unit
CPU and wall seconds.

    PYTHONPATH=src nice -n 10 python benchmarks/segrnn_etth1.py --inputs 96,720 --budget 100 \\
        --seeds 1

One SegRNN is trained per (input, seed) for the longest of `--horizons` (default 720) within
`--budget` process-CPU seconds on one thread; the shorter horizons are the first h steps of its
forecast (as the task's units do). `--horizons 96` trains a model for horizon 96 alone.
`--hidden`, `--segment`, `--dropout`, `--loss`, `--lr`, `--batch` replace the "full" preset's
sizes (`diffrnn.forecast_specs.segrnn_recipe`).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

HORIZONS = (96, 192, 336, 720)


def run(args: argparse.Namespace) -> list[dict]:
    """Every (input, model, seed) unit; one row per horizon."""
    import torch

    from diffrnn.bench.registry import UnitContext
    from diffrnn.bench.units.forecasting import direct_unit, etth1_problem, point_floor_unit
    from diffrnn.forecast_specs import segrnn_recipe

    torch.set_num_threads(1)
    model_sizes = {
        field: value
        for field, value in (
            ("hidden_size", args.hidden),
            ("segment_length", args.segment),
            ("dropout", args.dropout),
            ("loss", args.loss),
        )
        if value is not None
    }
    rows = []
    for length in args.inputs:
        problems = [etth1_problem(h, length) for h in args.horizons]
        recipe = segrnn_recipe(max(problems, key=lambda p: p.horizon), "full")
        train = recipe.train
        if args.lr is not None:
            train = dataclasses.replace(train, optim=dataclasses.replace(train.optim, lr=args.lr))
        recipe = dataclasses.replace(
            recipe,
            model=dataclasses.replace(recipe.model, **model_sizes),
            train=train,
            batch_size=recipe.batch_size if args.batch is None else args.batch,
        )
        for model in args.models:
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            for seed in seeds if model == "segrnn" else (0,):
                with tempfile.TemporaryDirectory() as tmp:
                    ctx = UnitContext(seed, args.budget, "full", Path(tmp))
                    wall, cpu = time.perf_counter(), time.process_time()
                    if model == "segrnn":
                        out = direct_unit(problems, ctx, "segrnn", recipe)
                    else:
                        out = point_floor_unit(problems, ctx, "linear-ar")
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                for horizon, scores in out.metrics["by_horizon"].items():
                    rows.append(
                        {
                            "input": length,
                            "model": model,
                            "seed": seed,
                            "horizon": int(horizon),
                            **scores,
                            "steps": out.steps,
                            "train_cpu_s": out.train_cpu_seconds,
                            "train_wall_s": out.train_seconds,
                            "unit_cpu_s": cpu,
                            "unit_wall_s": wall,
                        }
                    )
                    print(_line(rows[-1]), flush=True)
    return rows


def _line(row: dict) -> str:
    return (
        f"input {row['input']:4d}  {row['model']:9s} seed {row['seed']}  H {row['horizon']:3d}  "
        f"mse {row['mse']:.4f}  mae {row['mae']:.4f}  steps {row['steps']}  "
        f"train {row['train_cpu_s']:.0f} CPU s / {row['train_wall_s']:.0f} s wall  "
        f"unit {row['unit_cpu_s']:.0f} CPU s / {row['unit_wall_s']:.0f} s wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", default="96,720", help="input lengths, comma-separated")
    parser.add_argument("--models", default="segrnn,linear-ar")
    parser.add_argument(
        "--horizons",
        default=",".join(map(str, HORIZONS)),
        help="horizons scored; one model is trained for the longest",
    )
    parser.add_argument("--budget", type=float, default=100.0, help="training CPU seconds")
    parser.add_argument("--seeds", type=int, default=1, help="SegRNN seeds, from --first-seed")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--segment", type=int)
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--loss", choices=("mse", "mae"))
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch", type=int)
    args = parser.parse_args()
    args.inputs = [int(x) for x in args.inputs.split(",")]
    args.horizons = [int(x) for x in args.horizons.split(",")]
    args.models = args.models.split(",")
    run(args)


if __name__ == "__main__":
    main()
