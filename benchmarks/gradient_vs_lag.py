"""Summarise and plot the gradient-vs-lag curves of a `long-adding` / `long-copy` run.

Reads the run's results.jsonl (written by `diffrnn compare --tasks long-adding ...`), prints for
every cell and length T the ratio ||dL_T/dx_1|| / ||dL_T/dx_T|| (how much of the last step's
gradient reaches the first input; 1 = no decay) at initialisation and after training, and writes
one PNG per task and T with the curves of every cell (log scale).

    PYTHONPATH=src python benchmarks/gradient_vs_lag.py runs/adding-250
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path


def _ratio(curve: list[float]) -> float:
    return curve[-1] / curve[0] if curve[0] > 0 else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    records = [
        json.loads(line) for line in (args.run_dir / "results.jsonl").read_text().splitlines()
    ]
    by_length: dict[tuple[str, int], dict[str, dict[str, list[float]]]] = defaultdict(dict)
    for record in records:
        if record["status"] != "ok" or not record["curves"]:
            continue
        for name, curve in record["curves"].items():
            if not name.startswith("grad_norm_vs_lag_"):
                continue
            stage, length = (
                ("init", name[len("grad_norm_vs_lag_init_T") :])
                if "_init_" in name
                else (
                    "trained",
                    name[len("grad_norm_vs_lag_T") :],
                )
            )
            values = curve["y"] if isinstance(curve, dict) else curve  # the harness stores {x, y}
            by_length[(record["task"], int(length))].setdefault(record["model"], {})[stage] = values
    print("task        T     cell      first/last gradient norm: init   trained")
    from diffrnn.plots import pyplot, save_png

    plt = pyplot()

    for (task, length), cells in sorted(by_length.items()):
        fig, ax = plt.subplots(figsize=(6, 4))
        for cell, curves in sorted(cells.items()):
            init, trained = curves.get("init", [math.nan]), curves.get("trained", [math.nan])
            print(f"{task:11s} {length:5d} {cell:8s} {_ratio(init):12.3e} {_ratio(trained):12.3e}")
            if "trained" in curves:
                ax.semilogy(range(len(trained)), [max(v, 1e-30) for v in trained], label=cell)
        ax.set_xlabel("lag T - t")
        ax.set_ylabel("||d loss_T / d x_t|| (trained)")
        ax.set_title(f"{task}, T = {length}")
        ax.legend()
        path = args.run_dir / f"grad_vs_lag_{task}_T{length}.png"
        save_png(fig, path, dpi=90, layout=False, bbox_inches="tight")
        print(f"  -> {path}")


if __name__ == "__main__":
    main()
