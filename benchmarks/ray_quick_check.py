"""CI check (issue 19): the whole quick suite on a local Ray cluster matches `--jobs 2`.

Starts the tests' loopback cluster (tests/bench/ray_cluster.py: a head with no CPUs and two
one-CPU worker nodes, each its own `ray start`), runs `diffrnn compare --suite quick
--executor ray --address auto` as a separate driver, stops the cluster (every process it
started, by pid), runs `diffrnn compare --suite quick --jobs 2`, and compares the two runs'
records:

- the same set of units (task, model, seed), every one `ok` in both;
- identical metrics (and steps) for units whose result does not depend on the CPU-second
  budget: baselines and reference models (no training, `stopped_by` null) and units whose
  training was ended by a step cap or its epochs (`stopped_by` "step_cap" / "epochs") in both
  runs;
- units stopped by the budget (or "mixed", or stopped differently in the two runs) are
  compared on status only, and are listed as such: how far they trained depends on how fast
  the CPU ran, which differs between any two runs.

Exit 0 when everything matches, 1 (with one line per mismatch) when not. Not in `make test`
(it takes minutes): `make ray-check`, run by .ci/run after the tests.

    PYTHONPATH=src python benchmarks/ray_quick_check.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXED = {"step_cap", "epochs"}
"""`stopped_by` values of a training that ends the same however fast the CPU runs."""


def _key(record: dict) -> tuple[str, str, int]:
    return record["task"], record["model"], record["seed"]


def budget_free(record: dict) -> bool:
    """Whether the record's result does not depend on the CPU-second budget."""
    stopped = record.get("stopped_by")
    if stopped is None:
        return record["family"] in ("baseline", "reference")
    return stopped in FIXED


def compare(ray_records: list[dict], local_records: list[dict]) -> tuple[list[str], dict]:
    """(mismatches, counts) between the two runs' records; no mismatches: they agree."""
    problems = []
    ray_by, local_by = {_key(r): r for r in ray_records}, {_key(r): r for r in local_records}
    if len(ray_by) != len(ray_records) or len(local_by) != len(local_records):
        problems.append("a unit is recorded twice in one run")
    for key in sorted(set(ray_by) ^ set(local_by)):
        where = "ray" if key in ray_by else "--jobs 2"
        problems.append(f"{'/'.join(map(str, key))}: only in the {where} run")
    counts = {"exact": 0, "status only": 0}
    budget_units = []
    for key in sorted(set(ray_by) & set(local_by)):
        name = "/".join(map(str, key))
        there, here = ray_by[key], local_by[key]
        for side, record in (("ray", there), ("--jobs 2", here)):
            if record["status"] != "ok":
                problems.append(f"{name}: {record['status']} in the {side} run: {record['error']}")
        if budget_free(there) and budget_free(here) and there["stopped_by"] == here["stopped_by"]:
            counts["exact"] += 1
            # as JSON text: a NaN metric equals itself
            same = json.dumps(there["metrics"], sort_keys=True) == json.dumps(
                here["metrics"], sort_keys=True
            )
            if not same or there["steps"] != here["steps"]:
                problems.append(
                    f"{name} (stopped by {there['stopped_by']}): ray {there['metrics']} "
                    f"steps {there['steps']} != --jobs 2 {here['metrics']} steps {here['steps']}"
                )
        else:
            counts["status only"] += 1
            budget_units.append(f"{name} ({there['stopped_by']} / {here['stopped_by']})")
    counts["budget_units"] = budget_units
    return problems, counts


def _compare_cli(args: list[str], env: dict[str, str], log: Path) -> float:
    """Run `diffrnn compare` with `args` in a process of its own; its wall seconds."""
    argv = [sys.executable, "-m", "diffrnn.cli", "compare", "--suite", "quick", *args]
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"`{' '.join(argv[2:])}` exited {done.returncode}:\n{log.read_text()[-3000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="a directory to keep the two runs and logs in")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    from ray_cluster import LOOPBACK_ENV, cluster_env, start_cluster

    os.environ.update(LOOPBACK_ENV)  # before ray is imported: this driver on loopback too
    from diffrnn.bench.ray_executor import connect
    from diffrnn.bench.results import RESULTS_FILE, read_records

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        env = {**cluster_env(), "COLUMNS": "200"}
        opened = []

        def attach(where: str) -> object:
            import ray

            opened.append(connect(where))
            return ray

        start = time.perf_counter()
        local = start_cluster(root, cluster_env(), attach)
        try:
            up, now = time.perf_counter() - start, connect()  # described as it is now
            print(f"Ray cluster up in {up:.0f} s: {now.nodes} nodes, {now.cpus:g} CPUs")
            # `auto` reads RAY_ADDRESS first (as on a node `ray start` set up): this cluster,
            # not the newest one on the machine
            ray_wall = _compare_cli(
                ["--executor", "ray", "--address", "auto", "--out", str(root / "ray")],
                {**env, "RAY_ADDRESS": local.address},
                root / "ray.log",
            )
        finally:
            if opened:
                opened[0].close()
            local.stop()
        print(f"ray run: {ray_wall:.0f} s wall")
        local_wall = _compare_cli(
            ["--jobs", "2", "--out", str(root / "local")], env, root / "local.log"
        )
        print(f"--jobs 2 run: {local_wall:.0f} s wall")
        problems, counts = compare(
            read_records(root / "ray" / RESULTS_FILE), read_records(root / "local" / RESULTS_FILE)
        )
    print(
        f"{counts['exact']} units compared on metrics (baseline/reference, or stopped by a step "
        f"cap or epochs); {counts['status only']} stopped by the CPU-second budget compared on "
        "status only:"
    )
    for name in counts["budget_units"]:
        print(f"  {name}")
    for problem in problems:
        print(f"MISMATCH {problem}")
    if problems:
        sys.exit(1)
    print("the Ray run matches --jobs 2")


if __name__ == "__main__":
    main()
