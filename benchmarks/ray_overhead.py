"""Per-unit overhead of the Ray executor against the local one: scheduling and start-up.

Runs the same plan of the cheapest registered unit (graph-chickenpox last-value, about 0.01 CPU
s of work) twice per executor into fresh run directories, `--jobs` units at once: the first
batch is cold (the local fork server, or each Ray worker's process and fork server, imports
torch and the units), the second warm. Per-unit overhead = wall time x jobs / units - the
units' own mean wall time (`unit_wall_seconds`, measured inside each unit's process): what the
executor adds around every unit. CPU seconds of this driver process are printed beside.

    PYTHONPATH=src python benchmarks/ray_overhead.py --units 16 --jobs 2     # starts the cluster
    PYTHONPATH=src python benchmarks/ray_overhead.py --address auto          # a running one

Without `--address` it starts the tests' loopback cluster (tests/bench/ray_cluster.py: a head
with no CPUs and two one-CPU worker nodes, each its own `ray start`) and stops it at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from diffrnn.bench.runner import run_units
from diffrnn.bench.suites import QUICK, plan

TASK, MODEL = "graph-chickenpox", "last-value"


def batch(units: list, run_dir: Path, jobs: int, cluster: object) -> tuple[float, float, float]:
    """(wall s, driver CPU s, per-unit overhead s) of one run of `units`."""
    wall, cpu = time.perf_counter(), time.process_time()
    records = run_units(units, run_dir, jobs=jobs, cluster=cluster)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert all(r["status"] == "ok" for r in records), [r["error"] for r in records]
    inside = statistics.mean(r["unit_wall_seconds"] for r in records)
    return wall, cpu, wall * jobs / len(units) - inside


def start(address: str | None, root: Path) -> tuple[object, object]:
    """(the cluster started here or None, the connection) for `address` (None: start one)."""
    if address is not None:
        from diffrnn.bench.ray_executor import connect

        return None, connect(address)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "bench"))
    from ray_cluster import LOOPBACK_ENV, cluster_env, start_cluster

    os.environ.update(LOOPBACK_ENV)  # before ray is imported: this driver on loopback too
    from diffrnn.bench.ray_executor import connect

    opened = []

    def attach(where: str) -> object:
        import ray

        opened.append(connect(where))
        return ray

    local = start_cluster(root, cluster_env(), attach)
    return local, opened[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="a running Ray cluster (default: start one here)")
    parser.add_argument("--units", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(f"command: PYTHONPATH=src python {' '.join(sys.argv)}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    units = plan(QUICK, tasks=[TASK], models=[MODEL], seeds=args.units)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        local, cluster = start(args.address, Path(tmp))
        try:
            from diffrnn.bench.ray_executor import connect

            now = connect()  # the connection made above, described as the cluster is now
            print(f"Ray cluster: {now.nodes} nodes, {now.cpus:g} CPUs")
            for name, executor in (("local", None), ("ray", cluster)):
                for phase in ("cold", "warm"):
                    run_dir = Path(tmp) / f"{name}-{phase}"
                    wall, cpu, overhead = batch(units, run_dir, args.jobs, executor)
                    rows.append((name, phase, wall, cpu, overhead))
        finally:
            cluster.close()
            if local is not None:
                local.stop()
    print(f"\n{args.units} units of {TASK}/{MODEL}, {args.jobs} at once")
    print("| executor | batch | wall s | driver CPU s | overhead per unit, s |")
    print("|---|---|---|---|---|")
    for name, phase, wall, cpu, overhead in rows:
        print(f"| {name} | {phase} | {wall:.1f} | {cpu:.1f} | {overhead:.2f} |")


if __name__ == "__main__":
    main()
