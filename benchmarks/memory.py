"""Memory over a long suite: the tenth unit of a kind uses no more peak RSS than the first.

The harness runs every unit in its own process forked from a fork server (`bench.runner`), and
`bench.worker` records each unit's peak resident memory (VmHWM). This runs `--units` units of one
kind (same task and model, seeds 0..N-1) through `run_units`, one at a time, and compares the
peak RSS of the last with the first (target: last <= first x (1 + TOLERANCE)).

For contrast, `--in-process` also runs the same units one after another inside this process, as a
naive loop would, and reports how its resident memory grows from unit to unit.

    PYTHONPATH=src python benchmarks/memory.py --task forecast-exchange --model gru --units 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from diffrnn.bench.registry import UnitContext, get_model
from diffrnn.bench.runner import run_units
from diffrnn.bench.suites import UnitSpec
from diffrnn.bench.worker import rss_mb, run_unit

TOLERANCE = 0.02
"""Allowed excess of the last unit's peak RSS over the first's: the peak of units of one kind
varies by about +-1.5% from unit to unit with no trend (allocator and page-level noise)."""


def through_runner(task: str, model: str, units: int, budget_s: float) -> list[dict[str, float]]:
    """Peak and start RSS (MB) of each unit run by the harness runner, in order."""
    family = get_model(task, model).family
    specs = [UnitSpec(task, model, family, seed, budget_s, "quick") for seed in range(units)]
    with tempfile.TemporaryDirectory() as run_dir:
        records = run_units(specs, Path(run_dir), jobs=1, threads=1)
    failed = [r["error"] for r in records if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} unit(s) failed: {failed[0]}")
    return [{"peak": r["peak_rss_mb"], "start": r["start_rss_mb"]} for r in records]


def in_process(task: str, model: str, units: int, budget_s: float) -> list[dict[str, float]]:
    """Resident memory (MB) after each unit when all run in this one process."""
    entry = get_model(task, model)
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for seed in range(units):
            ctx = UnitContext(seed, budget_s, "quick", Path(out) / str(seed), threads=1)
            result = run_unit(entry.run, ctx)
            if result["status"] != "ok":
                raise SystemExit(f"unit {seed} failed: {result['error']}")
            rows.append({"after": rss_mb("VmRSS") or 0.0, "peak": rss_mb("VmHWM") or 0.0})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="forecast-exchange")
    parser.add_argument("--model", default="gru")
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--budget", type=float, default=2.0, help="training seconds per unit")
    parser.add_argument("--in-process", action="store_true", help="also run the naive loop")
    args = parser.parse_args()
    print(f"command: PYTHONPATH=src python {' '.join(sys.argv)}")

    rows = through_runner(args.task, args.model, args.units, args.budget)
    print(f"\n{args.task} / {args.model}, {args.units} units through the runner (own processes)")
    print("unit  start RSS MB  peak RSS MB")
    for i, row in enumerate(rows, 1):
        print(f"{i:>4}  {row['start']:>12.1f}  {row['peak']:>11.1f}")
    first, last = rows[0]["peak"], rows[-1]["peak"]
    verdict = "met" if last <= first * (1 + TOLERANCE) else "MISSED"
    print(
        f"unit {args.units} peak / unit 1 peak = {last / first:.3f} (target <= "
        f"{1 + TOLERANCE:.2f}): {verdict}"
    )

    if args.in_process:
        rows = in_process(args.task, args.model, args.units, args.budget)
        print(f"\nthe same {args.units} units in one process (a naive loop)")
        print("unit  RSS after MB  peak so far MB")
        for i, row in enumerate(rows, 1):
            print(f"{i:>4}  {row['after']:>12.1f}  {row['peak']:>14.1f}")
        growth = rows[-1]["after"] - rows[0]["after"]
        print(f"growth from unit 1 to unit {args.units}: {growth:+.1f} MB")


if __name__ == "__main__":
    main()
