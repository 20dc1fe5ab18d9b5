"""Wall time of the reference and full suites on 1, 4, 16 and 64 workers, on paper.

Each unit runs on one thread (one CPU), so its wall time on an idle worker is about its CPU
seconds. Reference suite: the CPU seconds each unit recorded (`unit_cpu_seconds`, the latest
record of each unit, failed ones included: their time was spent too). Full suite (no recorded
run): each planned unit's training budget plus what the same (task, model) spent beyond
training in the recorded reference run (`unit_cpu_seconds - train_cpu_seconds`, the mean over
its seeds), else the reference suite's measured `evaluation_s` for the task; an untrained unit
(baseline, reference data) costs what it recorded. Units are placed longest first on the
least-loaded worker (LPT, within 4/3 of the optimum); the critical path is the longest unit, so
no number of workers brings the wall time below it. `--overhead-s` adds a per-unit start cost
(the Ray executor's, measured by benchmarks/ray_overhead.py).

    PYTHONPATH=src python benchmarks/suite_scaling.py --overhead-s 0.6
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from diffrnn.bench.results import latest_by_unit, read_records
from diffrnn.bench.suites import REFERENCE, SUITES, UNTRAINED_FAMILIES, plan

WORKERS = (1, 4, 16, 64)


def lpt_makespan(costs: list[float], workers: int) -> float:
    """Wall time of `costs` placed longest first on the least-loaded of `workers`."""
    loads = [0.0] * workers
    heapq.heapify(loads)
    for cost in sorted(costs, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + cost)
    return max(loads)


def recorded_costs(results: Path) -> tuple[list[float], dict[tuple[str, str], list[dict]]]:
    """CPU seconds of every unit of a run, and its records by (task, model)."""
    latest = latest_by_unit(read_records(results))
    by_model: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in latest.values():
        by_model[(record["task"], record["model"])].append(record)
    costs = [float(r.get("unit_cpu_seconds") or 0.0) for r in latest.values()]
    return costs, by_model


def planned_costs(suite: str, recorded: dict[tuple[str, str], list[dict]]) -> list[float]:
    """Estimated CPU seconds of every unit of `suite`'s plan (see the module's docstring)."""
    costs = []
    for unit in plan(SUITES[suite]):
        seen = recorded.get((unit.task, unit.model), [])
        extra = [
            float(r["unit_cpu_seconds"]) - float(r.get("train_cpu_seconds") or 0.0)
            for r in seen
            if r.get("unit_cpu_seconds") is not None
        ]
        beyond = statistics.mean(extra) if extra else REFERENCE.evaluation_s.get(unit.task, 0.0)
        trained = unit.family not in UNTRAINED_FAMILIES
        costs.append((unit.budget_s if trained else 0.0) + beyond)
    return costs


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def table(name: str, costs: list[float], overhead_s: float) -> str:
    """One suite's row: units, CPU total, longest unit, and per worker count the LPT wall time
    with its efficiency (CPU total / workers / wall time)."""
    costs = [c + overhead_s for c in costs]
    total, longest = sum(costs), max(costs)
    cells = []
    for workers in WORKERS:
        wall = lpt_makespan(costs, workers)
        cells.append(f"{_duration(wall)} ({total / workers / wall:.0%})")
    return (
        f"| {name} | {len(costs)} | {_duration(total)} | {_duration(longest)} | "
        + " | ".join(cells)
        + " |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("evidence/reference/results.jsonl"))
    parser.add_argument("--overhead-s", type=float, default=0.0, help="per-unit start cost")
    args = parser.parse_args()
    print(f"command: PYTHONPATH=src python {' '.join(sys.argv)}")
    reference, recorded = recorded_costs(args.results)
    full = planned_costs("full", recorded)
    header = " | ".join(f"{w} worker{'s' if w > 1 else ''}" for w in WORKERS)
    print(f"\n| suite | units | CPU total | longest unit | {header} |")
    print("|---" * (4 + len(WORKERS)) + "|")
    print(table(f"reference (recorded, {args.results})", reference, args.overhead_s))
    print(table("full (planned: budget + recorded evaluation)", full, args.overhead_s))
    print("\nwall time by LPT (efficiency: CPU total / workers / wall time)")


if __name__ == "__main__":
    main()
