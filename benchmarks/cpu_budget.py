"""A CPU-second budget buys the same training alone and on a busy machine; a wall budget does not.

Runs one budgeted harness unit (quick recipe, one thread, one seed) four times: with the CPU
clock (the default on a CPU) and with the wall clock, each alone and beside two busy-looping
processes (one per core of a 2-core machine). Prints, per run, the optimiser steps, the unit's
headline metric, the training CPU and wall seconds, and the load average when it finished.

    PYTHONPATH=src nice -n 10 python benchmarks/cpu_budget.py --task lm-shakespeare --model lstm \\
        --budget 20

"Alone" means without the busy loops this script starts; whatever else the machine runs is
there in both, so quote the load averages with the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path


def spin() -> None:
    """Burn one core until terminated."""
    while True:
        pass


def run_unit(task: str, model: str, budget: float, seed: int, clock: str) -> dict:
    """One unit trained for `budget` seconds of `clock`; its steps, metric and seconds."""
    import torch

    from diffrnn.bench.registry import UnitContext, get_model, get_task
    from diffrnn.training.overrides import TrainOverrides, train_overrides

    torch.set_num_threads(1)
    entry = get_model(task, model)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = UnitContext(seed=seed, budget_s=budget, suite="quick", out_dir=Path(tmp))
        wall = time.perf_counter()
        with train_overrides(TrainOverrides(budget_clock=clock)):  # type: ignore[arg-type]
            out = entry.run(ctx)
        wall = time.perf_counter() - wall
    metric = get_task(task).primary_metric
    return {
        "steps": out.steps,
        "stopped_by": out.stopped_by,
        "metric": metric,
        "value": out.metrics[metric],
        "train_cpu_s": out.train_cpu_seconds,
        "train_wall_s": out.train_seconds,
        "unit_wall_s": wall,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="lm-shakespeare")
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--busy", type=int, default=2, help="busy-looping processes")
    parser.add_argument("--clocks", default="cpu,wall")
    args = parser.parse_args()
    rows = []
    for clock in args.clocks.split(","):
        for contended in (False, True):
            busy = [mp.Process(target=spin, daemon=True) for _ in range(args.busy * contended)]
            for process in busy:
                process.start()
            try:
                row = run_unit(args.task, args.model, args.budget, args.seed, clock)
            finally:
                for process in busy:
                    process.terminate()
                    process.join()
            rows.append((clock, f"beside {args.busy} busy" if contended else "alone", row))
    print(f"{args.task} / {args.model}, quick recipe, --budget {args.budget:g}, seed {args.seed}")
    print(
        "| clock | run | steps | stopped by | metric | train CPU s | train wall s | load (1 min) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for clock, label, r in rows:
        print(
            f"| {clock} | {label} | {r['steps']} | {r['stopped_by']} | {r['metric']} "
            f"{r['value']:.4f} | {r['train_cpu_s']:.1f} | {r['train_wall_s']:.1f} | "
            f"{r['load']:.1f} |"
        )
    for clock in dict.fromkeys(c for c, _, _ in rows):
        alone, busy = (r["steps"] for c, _, r in rows if c == clock)
        print(f"{clock} clock: contended / alone steps = {busy / alone:.2f}")


if __name__ == "__main__":
    main()
