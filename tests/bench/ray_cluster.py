"""A Ray cluster on this machine for the Ray executor's tests: a head and two worker nodes.

Each node is its own `ray start --block` process (the way a cluster is launched by hand or by
SLURM), on loopback only, one CPU per worker node and none on the head, so units run on the
workers. The second worker runs in a mount namespace of its own where `blind` is an empty
tmpfs (where the OS lets this process make one: Linux, as root): a run directory under `blind`
is one that node cannot see, as a node-local disk would be. Every process the cluster started
is ended by its pid when the cluster stops.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"
HERE = Path(__file__).resolve().parent
START_TIMEOUT_S = 600.0
START_TRIES = 3
LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # a driver's own address: 127.0.0.1
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",  # loopback only: no token to share between the test's processes
    "RAY_health_check_period_ms": "500",  # a killed node is declared dead in about 2 s
    "RAY_health_check_failure_threshold": "4",
    "RAY_health_check_initial_delay_ms": "0",
    # a loaded machine starts the raylet's agents and the workers' processes slowly
    "RAY_raylet_start_wait_time_s": "600",
    "RAY_worker_register_timeout_seconds": "600",
}


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_hide_a_directory() -> bool:
    """Whether `unshare` can give a process a mount namespace with a tmpfs of its own."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@dataclass
class LocalCluster:
    """The running cluster: its GCS address, node processes and the directory one node misses."""

    address: str
    blind: Path | None
    nodes: list[subprocess.Popen] = field(default_factory=list)
    started: dict[int, int] = field(default_factory=dict)
    """pid -> start time of every process seen below the nodes (a pid reused later differs)."""

    def node_processes(self) -> dict[int, int]:
        """Every process the nodes started (raylets, GCS, agents, workers): pid -> start time."""
        return descendants({node.pid for node in self.nodes})

    def stop(self) -> None:
        """End every node and every process they started (by pid), workers first."""
        self.started.update(self.node_processes())
        for node in reversed(self.nodes):
            if node.poll() is None:
                node.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes
        for node in reversed(self.nodes):
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        for pid, start in self.started.items():
            stat = _stat(pid)
            if stat is not None and stat[2] == start:  # the same process, still alive
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(name, parent pid, start time) of a live process, from /proc (None: gone or a zombie)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else (name, int(fields[1]), int(fields[19]))


def descendants(roots: set[int]) -> dict[int, int]:
    """Every live process below `roots` (children, grandchildren, ...): pid -> start time."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    found: dict[int, int] = {}
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, st in stats.items() if st[1] in frontier} - set(found)
        found.update({pid: stats[pid][2] for pid in frontier})
    return found


def ancestor_named(pid: int, name: str) -> int | None:
    """The nearest process above `pid` whose name starts with `name`."""
    stat = _stat(pid)
    while stat is not None and stat[1] > 1:
        pid = stat[1]
        stat = _stat(pid)
        if stat is not None and stat[0].startswith(name):
            return pid
    return None


def start_cluster(root: Path, driver_env: dict[str, str], connect: Any) -> LocalCluster:
    """Start the head, call `connect(address)` (so the driver attaches to the head, never to a
    worker a test kills), then start two worker nodes; return once all three are alive."""
    # nodes bind 127.0.0.1 (--node-ip-address); the multi-node check that the drivers' setting
    # would trip is for macOS and Windows
    env = {**driver_env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
    ray_bin = [sys.executable, str(HERE / "ray_node.py")]  # `ray`, patient on a loaded machine
    port = free_port()
    address = f"127.0.0.1:{port}"
    blind = root / "blind" if can_hide_a_directory() else None
    cluster = LocalCluster(address, blind)

    def node(args: list[str], hidden: Path | None = None) -> None:
        """Start a node and wait for it; a start that times out (Ray gives a raylet 30 s to
        register, which a loaded machine can miss) is tried again."""
        for attempt in range(START_TRIES):
            ports = [
                f"--{name}={free_port()}"
                for name in (
                    "dashboard-agent-listen-port",
                    "dashboard-agent-grpc-port",
                    "runtime-env-agent-port",
                    "metrics-export-port",
                )
            ]
            argv = [*ray_bin, "start", "--block", "--disable-usage-stats", *ports, *args]
            argv += ["--node-ip-address=127.0.0.1"]
            argv += ["--include-log-monitor=false"]
            if hidden is not None:
                hidden.mkdir(parents=True, exist_ok=True)
                script = f'mount -t tmpfs none "{hidden}" && exec "$@"'
                argv = [
                    "unshare",
                    "-m",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    script,
                    "sh",
                    *argv,
                ]
            log_path = root / f"node{len(cluster.nodes)}-{attempt}.log"
            with log_path.open("w") as log:
                process = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
            deadline = time.monotonic() + START_TIMEOUT_S
            while "Ray runtime started" not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            else:
                cluster.nodes.append(process)
                return
            cluster.started.update(descendants({process.pid}))  # ended with the cluster
            if process.poll() is None:
                process.kill()
            process.wait()
        cluster.stop()
        raise RuntimeError(f"a Ray node did not start: {log_path.read_text()[-2000:]}")

    node(
        [
            "--head",
            f"--port={port}",
            "--num-cpus=0",
            "--include-dashboard=false",
            f"--ray-client-server-port={free_port()}",
            "--no-monitor",  # no autoscaler: one process fewer beside the raylet's agents
        ]
    )
    try:
        ray = connect(address)
        node([f"--address={address}", "--num-cpus=1"])
        node([f"--address={address}", "--num-cpus=1"], hidden=blind)
        wait_for_nodes(ray, cluster, 3)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def cluster_env() -> dict[str, str]:
    """The nodes' environment: loopback only, and diffrnn and these tests' units importable."""
    path = os.pathsep.join([str(SRC), str(HERE), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, **LOOPBACK_ENV, "OMP_NUM_THREADS": "1"}
    return {**env, "PYTHONPATH": path.rstrip(os.pathsep)}


def wait_for_nodes(ray: Any, cluster: LocalCluster, count: int) -> None:
    """Block until `count` nodes are alive (or a node process exited: RuntimeError)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if sum(n["Alive"] for n in ray.nodes()) >= count:
            return
        for node in cluster.nodes:
            if node.poll() is not None:
                raise RuntimeError(f"a Ray node exited with code {node.returncode}")
        time.sleep(0.5)
    raise TimeoutError(f"fewer than {count} Ray nodes alive after {START_TIMEOUT_S} s")
