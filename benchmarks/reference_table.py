"""The headline table of a run: every task's models at their top budget, primary metric mean ± std.

BENCHMARKS.md's "The reference run" table is this script's output on `evidence/reference/`:

    python benchmarks/reference_table.py evidence/reference

One row per (task, model) at the largest budget the model ran (a ladder's top rung), with the
task's primary metric as mean ± std over the seeds that finished, the number of seeds, the
training CPU seconds (mean) and the units that failed.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from diffrnn.bench.registry import get_task, load_registry
from diffrnn.bench.results import RESULTS_FILE, latest_by_unit, read_records


def rows(run: Path) -> list[str]:
    """Markdown table lines for the records of `run` (a run directory or an evidence folder)."""
    load_registry()
    # the latest record of each unit: a rerun (of a task, with --rerun) appends, never rewrites
    records = list(latest_by_unit(read_records(run / RESULTS_FILE)).values())
    top: dict[tuple[str, str], float] = {}
    for r in records:
        key = (r["task"], r["model"])
        top[key] = max(top.get(key, 0.0), float(r["budget_s"]))
    out = [
        "| task | model | family | budget (CPU s) | metric | mean ± std | seeds | train CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (task, model), budget in top.items():
        group = [
            r
            for r in records
            if (r["task"], r["model"]) == (task, model) and r["budget_s"] == budget
        ]
        metric = get_task(task).primary_metric
        values = [
            r["metrics"][metric]
            for r in group
            if r["status"] == "ok" and isinstance((r["metrics"] or {}).get(metric), int | float)
        ]
        failed = sum(r["status"] != "ok" for r in group)
        per_length = [
            r["metrics"]
            for r in group
            if r["status"] == "ok" and isinstance(r["metrics"][metric], dict)
        ]
        if per_length:  # long-range tasks: one value per sequence length T, and pass/fail
            values = per_length
            cell = ", ".join(
                f"T{t} {statistics.mean(m[metric][t] for m in per_length):.3g}"
                f" ({sum(bool(m.get('passed', {}).get(t)) for m in per_length)}/{len(per_length)}"
                " pass)"
                for t in per_length[0][metric]
            )
        elif values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            cell = f"{statistics.mean(values):.4g} ± {std:.2g}"
        else:
            cell = "—"
        cpu = [r["train_cpu_seconds"] for r in group if r.get("train_cpu_seconds") is not None]
        seeds = f"{len(values)}" + (f" ({failed} failed)" if failed else "")
        budget_cell = f"{budget:g}" if group[0]["family"] not in ("baseline", "reference") else "—"
        cpu_cell = f"{statistics.mean(cpu):.1f}" if cpu else "—"
        out.append(
            f"| {task} | {model} | {group[0]['family']} | {budget_cell} | {metric} | {cell} "
            f"| {seeds} | {cpu_cell} |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory or evidence/<name>")
    print("\n".join(rows(parser.parse_args().run)))


if __name__ == "__main__":
    main()
