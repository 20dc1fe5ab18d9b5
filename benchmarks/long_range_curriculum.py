"""Size the long-range curriculum: one `long-adding` / `long-copy` unit run directly, one thread.

Runs the unit of `task` and `cell` with the reference suite's recipe (every length T, shortest
first, each warm-started from the previous one, budget shares proportional to T + 100) at
`--budget` CPU seconds, seed 0, and prints one JSON line: per T the score, pass/fail, steps and
training CPU seconds (the unit's notes), and the whole unit's CPU and wall seconds.

    nice -n 10 env PYTHONPATH=src python benchmarks/long_range_curriculum.py long-adding lstm \
        --budget 200 --out runs/curriculum
    nice -n 10 env PYTHONPATH=src python benchmarks/long_range_curriculum.py long-adding rnn \
        --budget 40 --lengths 50 --out runs/curriculum
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["long-adding", "long-copy"])
    parser.add_argument("cell", choices=["rnn", "lstm", "gru", "mingru", "minlstm"])
    parser.add_argument("--budget", type=float, required=True, help="CPU seconds of training")
    parser.add_argument("--lengths", type=int, nargs="*", help="default: the reference suite's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/curriculum"))
    args = parser.parse_args()

    import torch

    from diffrnn.bench.registry import UnitContext, get_model, load_registry

    torch.set_num_threads(1)
    load_registry()
    out = args.out / f"{args.task}-{args.cell}-{args.budget:g}"
    out.mkdir(parents=True, exist_ok=True)
    options = {"lengths": args.lengths} if args.lengths else {}
    ctx = UnitContext(args.seed, args.budget, "reference", out, options=options)
    wall, cpu = time.perf_counter(), time.process_time()
    result = get_model(args.task, args.cell).run(ctx)
    row = {
        "task": args.task,
        "cell": args.cell,
        "seed": args.seed,
        "budget_cpu_s": args.budget,
        "metrics": result.metrics,
        "notes": result.notes,
        "steps": result.steps,
        "train_cpu_s": round(result.train_cpu_seconds, 1),
        "unit_cpu_s": round(time.process_time() - cpu, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    (out / "result.json").write_text(json.dumps({**row, "curves": result.curves}))
    print(json.dumps(row))


if __name__ == "__main__":
    main()
