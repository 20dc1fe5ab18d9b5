"""The Ray executor: every unit of `diffrnn compare --executor ray` is a task on a Ray cluster.

    cluster = connect("auto")  # or "ray://head:10001", "HOST:6379", "local"
    records = run_units(units, run_dir, jobs=cluster.slots(threads), cluster=cluster)

A task does on its node what the local executor does on this machine (`runner.supervise_unit`),
so the two record the same results:

- Placement: a task asks for one CPU per torch thread of its unit (`threads`) and for
  `gpus_per_unit` GPUs; Ray puts it on a node that has them free. `jobs` tasks are in flight at
  once (default: the cluster's CPUs over `threads`).
- Isolation and time limit: the task forks the unit's process from a fork server of its own
  (started once per Ray worker, torch and the units preloaded) and watches it as the local
  executor does: killed once its CPU seconds (read from /proc on that node) pass the unit's
  time limit, or its wall seconds `STALL_FACTOR` times it; a unit that raises, dies or overruns
  is a `failed` record and the run goes on.
- Lost nodes: a task whose node or worker process dies is run again by Ray (`max_retries`,
  elsewhere if the node is gone). The retry prepares the unit's directory as any start does,
  finds the checkpoints the lost attempt left (made from the same inputs and code) and resumes
  from them, so a step-budgeted unit records the metrics of an uninterrupted run. A unit whose
  every attempt was lost is recorded `failed` ("LostWorker: ...").
- Storage: a unit's checkpoints, artefacts and result are written by its node into the run
  directory, so on a cluster of more than one node the run directory must be on a filesystem
  every node mounts at the same path (NFS, Lustre, CephFS, a Kubernetes ReadWriteMany volume).
  `check_shared_storage` writes a marker there and has a task on every node read it back; a
  node that cannot is a ConfigError before any unit runs. Only the driver (the `compare`
  process) writes `results.jsonl` and `run.json`, and only one driver uses a run directory at a
  time (the CLI's `paths.locked_run`; its `flock` spans machines on NFSv4 and Lustre mounted
  with `flock`).
- Code: every node must run the driver's diffrnn code (the same source sha256); a task on a
  node with other code records the unit `failed` and names both.

Ray is an optional extra (`pip install 'diffrnn[ray]'`), imported only here and only when this
executor is chosen.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffrnn.bench.provenance import code_identity, describe_code, same_code
from diffrnn.bench.registry import UnitFn
from diffrnn.bench.runner import (
    POLL_S,
    Dispatch,
    host_info,
    prepare_unit,
    supervise_unit,
    unit_dir,
)
from diffrnn.bench.suites import UnitSpec
from diffrnn.bench.worker import utc_now
from diffrnn.errors import ConfigError
from diffrnn.fileio import atomic_write_json

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
"""Times Ray runs a unit's task again after its node or worker process died (Ray's default)."""
ATTEMPTS_FILE = "attempts.txt"
"""In a unit's directory: one line per attempt of its task (the node it ran on)."""
STORAGE_MARKER = ".diffrnn-shared-storage-check.json"
STORAGE_CHECK_TIMEOUT_S = 300.0
"""Seconds the nodes get to read the storage marker (each may first start a worker process)."""


@dataclass(frozen=True)
class RayCluster:
    """A connection to a Ray cluster, as `connect` made it.

    Attributes:
        address: the address connected to ("local": a Ray instance started for this run).
        nodes: alive nodes when connected.
        cpus, gpus: the cluster's total CPUs and GPUs when connected.
        gpus_per_unit: GPUs each unit's task asks for (0: CPU only).
        max_retries: times a task lost with its node or worker is run again.
        owned: whether `connect` opened the connection (then `close` ends it).
    """

    address: str
    nodes: int
    cpus: float
    gpus: float
    gpus_per_unit: float = 0.0
    max_retries: int = MAX_RETRIES
    owned: bool = True

    def slots(self, threads: int) -> int:
        """Units that fit on the cluster at once with `threads` CPUs each (at least 1)."""
        return max(1, int(self.cpus // threads))

    def close(self) -> None:
        """End the connection if `connect` opened it (a Ray instance it started stops too)."""
        if self.owned:
            import ray

            ray.shutdown()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs Ray, which is not installed here.",
            "pip install 'diffrnn[ray]' (on every node of the cluster too).",
        ) from None
    return ray


def connect(address: str | None = None, gpus_per_unit: float = 0.0) -> RayCluster:
    """Connect this process to a Ray cluster (or use the connection it already has).

    Args:
        address: "auto" (the cluster `ray start` runs on this machine), "HOST:PORT" (its GCS),
            "ray://HOST:10001" (Ray Client), or "local" (start a Ray instance for this run
            only); None: `$RAY_ADDRESS`, else "local".
        gpus_per_unit: GPUs each unit asks for.

    Raises:
        ConfigError: Ray is not installed, no cluster answers at `address`, or the cluster has
            fewer GPUs than a unit asks for.
    """
    ray = _import_ray()
    if gpus_per_unit < 0:
        raise ConfigError(f"--gpus-per-unit must be 0 or more, got {gpus_per_unit}.", "")
    owned = not ray.is_initialized()
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    if owned:
        options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if target == "local":
            options["include_dashboard"] = False
        try:
            ray.init(address=target, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ConfigError(
                f"cannot connect to a Ray cluster at {target!r} ({reason}).",
                "start one (`ray start --head`), pass its address (--address HOST:6379 or "
                "ray://HOST:10001), or pass --address local.",
            ) from None
    resources = ray.cluster_resources()
    cluster = RayCluster(
        address=target,
        nodes=sum(1 for node in ray.nodes() if node.get("Alive")),
        cpus=float(resources.get("CPU", 0)),
        gpus=float(resources.get("GPU", 0)),
        gpus_per_unit=gpus_per_unit,
        owned=owned,
    )
    if gpus_per_unit > cluster.gpus:
        cluster.close()
        raise ConfigError(
            f"each unit asks for {gpus_per_unit:g} GPU(s); the Ray cluster at {target!r} has "
            f"{cluster.gpus:g}.",
            "add GPU nodes, or pass a smaller --gpus-per-unit.",
        )
    return cluster


def _read_marker(path: str) -> str | None:
    """On a node: the token in the storage marker, or None if this node cannot read it."""
    try:
        token = json.loads(Path(path).read_text()).get("token")
    except (OSError, ValueError, AttributeError):
        return None
    return token if isinstance(token, str) else None


def check_shared_storage(run_dir: Path) -> None:
    """Refuse a run directory that some node of the connected cluster does not see.

    With one node there is nothing to check. Otherwise a marker with a random token is written
    into `run_dir` and a task pinned to every node with CPUs reads it back.

    Raises:
        ConfigError: a node cannot read the marker (names up to three of them).
    """
    ray = _import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU")]
    if len(nodes) < 2:
        return
    marker = run_dir.resolve() / STORAGE_MARKER
    token = secrets.token_hex(16)
    atomic_write_json(marker, {"token": token})
    read = ray.remote(_read_marker)
    try:
        seen = ray.get(
            [
                read.options(
                    num_cpus=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
                ).remote(str(marker))
                for node in nodes
            ],
            timeout=STORAGE_CHECK_TIMEOUT_S,
        )
    finally:
        marker.unlink(missing_ok=True)
    blind = [
        f"{node.get('NodeManagerHostname') or '?'} ({node.get('NodeManagerAddress')})"
        for node, text in zip(nodes, seen, strict=True)
        if text != token
    ]
    if blind:
        raise ConfigError(
            f"the run directory {run_dir} is not on storage every node of the Ray cluster "
            f"sees: {len(blind)} of {len(nodes)} nodes cannot read it, e.g. "
            f"{', '.join(blind[:3])}.",
            "put --out on a filesystem every node mounts at the same path (NFS, Lustre, "
            "CephFS, a ReadWriteMany volume).",
        )


def run_unit_task(
    target: UnitFn | tuple[str, str],
    spec: UnitSpec,
    run_dir: str,
    threads: int,
    options: dict[str, Any] | None,
    driver_code: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A unit's Ray task, on its node: prepare its directory (resuming a lost attempt's
    checkpoints), run it in a process of its own under the time limit, and return its result
    and the node's `host_info`."""
    directory = unit_dir(Path(run_dir), spec)
    directory.mkdir(parents=True, exist_ok=True)
    host = host_info()
    with (directory / ATTEMPTS_FILE).open("a") as attempts:
        attempts.write(f"{utc_now()} {host['hostname']} pid {os.getpid()}\n")
    if not same_code(code_identity(), driver_code):
        return {
            "status": "failed",
            "error": f"ConfigError: node {host['hostname']} runs {describe_code(code_identity())}"
            f"; the driver runs {describe_code(driver_code)}: install the same diffrnn on "
            "every node",
            "finished_at": utc_now(),
        }, host
    ctx = prepare_unit(spec, Path(run_dir), threads, options)
    result = supervise_unit(target, ctx, spec)
    lost = len((directory / ATTEMPTS_FILE).read_text().splitlines()) - 1
    if lost:
        how = "resumed from its checkpoint" if ctx.resume else "started afresh (no checkpoint)"
        note = f"ran {lost + 1} times: {lost} attempt(s) lost with their node or worker; {how}"
        result["notes"] = [*(result.get("notes") or []), note]
    return result, host


def _lost_result(exc: Exception, directory: Path) -> dict[str, Any]:
    try:
        attempts = len((directory / ATTEMPTS_FILE).read_text().splitlines())
    except OSError:
        attempts = 0
    reason = (str(exc).strip().splitlines() or [""])[0][:300]
    return {
        "status": "failed",
        "error": f"LostWorker: the unit's Ray task failed after {attempts} attempt(s): "
        f"{type(exc).__name__}: {reason}",
        "finished_at": utc_now(),
    }


def run_on_ray(cluster: RayCluster, dispatch: Dispatch) -> None:
    """Run `dispatch.pending` as Ray tasks, `jobs` in flight, reporting each through `started`
    and `finished` (spec, result, host of the node); tasks still in flight when this ends (an
    error, Ctrl-C) are cancelled, their unit processes killed with their worker.

    Raises:
        ConfigError: the run directory is not on storage every node sees.
    """
    ray = _import_ray()
    pending, threads, finished = dispatch.pending, dispatch.threads, dispatch.finished
    run_dir = dispatch.run_dir.resolve()
    check_shared_storage(run_dir)
    task = ray.remote(run_unit_task).options(
        num_cpus=threads,
        num_gpus=cluster.gpus_per_unit,
        max_retries=cluster.max_retries,
        retry_exceptions=False,
    )
    code = code_identity()
    in_flight: dict[Any, UnitSpec] = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < dispatch.jobs:
                spec = pending.popleft()
                target = dispatch.target(spec)
                (unit_dir(run_dir, spec) / ATTEMPTS_FILE).unlink(missing_ok=True)
                ref = task.remote(target, spec, str(run_dir), threads, dispatch.options, code)
                in_flight[ref] = spec
                dispatch.started(spec)
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_S)
            for ref in done:
                spec = in_flight.pop(ref)
                try:
                    result, host = ray.get(ref)
                except Exception as exc:  # every attempt lost: node died, worker killed, OOM
                    result, host = _lost_result(exc, unit_dir(run_dir, spec)), None
                finished(spec, result, host)
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=True)
