"""The Ray executor on a local cluster (a head and two worker nodes on loopback): the same
records as `--jobs 2`, failures and time limits as the local executor has them, a node killed
mid-unit survived with the metrics of an uninterrupted run, and a run directory a node cannot
see refused before anything runs."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fake_units as fake
import pytest
from ray_cluster import LOOPBACK_ENV, LocalCluster, ancestor_named, cluster_env, start_cluster

from diffrnn.bench import runner
from diffrnn.bench.registry import get_model
from diffrnn.bench.results import RESULTS_FILE, read_records
from diffrnn.bench.runner import unit_dir
from diffrnn.bench.suites import UnitSpec
from diffrnn.errors import ConfigError

if importlib.util.find_spec("ray") is None:  # not imported here: ray reads LOOPBACK_ENV on import
    pytest.skip("the Ray executor's extra: pip install 'diffrnn[ray]'", allow_module_level=True)
pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]

UNREGISTERED = {"fake-steps": fake.fake_steps, "fake-spin": fake.fake_spin}
BIG_BUDGET_S = 600.0
"""`fake-steps` stops at its step cap long before this CPU-second budget."""


def _resolve(spec: UnitSpec) -> Any:
    return UNREGISTERED.get(spec.model) or get_model(spec.task, spec.model).run


def _spec(model: str, seed: int = 0, **kw: Any) -> UnitSpec:
    task = fake.FAKE_LONG if model in UNREGISTERED else fake.FAKE_TASK
    family = "rnn" if model in UNREGISTERED else get_model(task, model).family
    budget = BIG_BUDGET_S if model == "fake-steps" else 1.0
    return UnitSpec(task, model, family, seed, budget_s=budget, suite="quick", **kw)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local cluster, with this process connected to it as the driver."""
    saved = {name: os.environ.get(name) for name in LOOPBACK_ENV}
    os.environ.update(LOOPBACK_ENV)  # before ray is imported: this driver on loopback too
    import ray

    if ray._private.services.get_node_ip_address() != "127.0.0.1":
        pytest.fail("ray was imported before the loopback settings: the driver is not on loopback")

    from diffrnn.bench.ray_executor import connect

    root = tmp_path_factory.mktemp("ray")

    def attach(address: str) -> Any:
        connect(address)
        return ray

    local = start_cluster(root, cluster_env(), attach)
    try:
        described = connect()  # the connection made above: the cluster with its workers
        assert (described.nodes, described.cpus) == (3, 2.0)
        yield local, described, root
    finally:
        ray.shutdown()
        local.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _unit(record: dict) -> tuple[str, int]:
    return record["model"], record["seed"]


def _metrics(records: list[dict]) -> dict:
    """What must match between executors: status, the error's kind, the metrics."""
    return {
        (r["model"], r["seed"]): (r["status"], (r["error"] or "").split(":")[0], r["metrics"])
        for r in records
    }


def test_ray_records_the_same_results_as_two_local_jobs(cluster: Any, tmp_path: Path) -> None:
    _, ray_cluster, root = cluster
    units = [
        _spec("fake-rnn"),
        _spec("fake-broken"),
        _spec("fake-spin", timeout_s=1.0),
        _spec("fake-steps", 0),
        _spec("fake-steps", 1),
    ]
    here = runner.run_units(units, tmp_path / "local", jobs=2, resolve=_resolve)
    run_dir = root / "shared" / "run"
    events: list[str] = []
    there = runner.run_units(
        units,
        run_dir,
        jobs=ray_cluster.slots(1),
        resolve=_resolve,
        cluster=ray_cluster,
        on_event=lambda e: events.append(e.kind),
    )
    assert _metrics(there) == _metrics(here)
    by_model = {(r["model"], r["seed"]): r for r in there}
    expected = fake.expected_mse("fake-rnn", 0)
    assert by_model[("fake-rnn", 0)]["metrics"]["mse"] == pytest.approx(expected)
    assert by_model[("fake-broken", 0)]["error"] == "RuntimeError: the fake hybrid diverged"
    spin = by_model[("fake-spin", 0)]["error"]
    assert spin.startswith("TimeoutError:") and "(limit 1 s" in spin
    assert [by_model[("fake-steps", s)]["steps"] for s in (0, 1)] == [fake.STEPS, fake.STEPS]
    assert by_model[("fake-steps", 0)]["metrics"] != by_model[("fake-steps", 1)]["metrics"]
    assert events.count("started") == events.count("finished") == len(units)
    stored = read_records(run_dir / RESULTS_FILE)  # in the order they finished
    assert sorted(stored, key=_unit) == sorted(there, key=_unit)
    # resumed: the completed units are reused, the failed ones run again
    again = runner.run_units(units, run_dir, jobs=2, resolve=_resolve, cluster=ray_cluster)
    assert len(read_records(run_dir / RESULTS_FILE)) == len(units) + 2
    assert _metrics(again) == _metrics(here)


def test_compare_with_address_auto_matches_jobs_2(cluster: Any, tmp_path: Path) -> None:
    """The CLI end to end, as a separate driver that finds the cluster with --address auto."""
    root = cluster[2]
    plan = ["--tasks", "forecast-exchange", "--models", "last-value,seasonal-naive", "--seeds", "2"]
    env = {**cluster_env(), "COLUMNS": "200"}
    ray_dir = root / "shared" / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "diffrnn.cli", "compare", *plan, "--executor", "ray",
         "--address", "auto", "--out", str(ray_dir)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on the Ray cluster at auto (3 node(s))" in done.stdout
    from diffrnn.cli import main

    main(["compare", *plan, "--jobs", "2", "--out", str(tmp_path / "local")])
    ray_records = read_records(ray_dir / RESULTS_FILE)
    assert len(ray_records) == 4 and all(r["status"] == "ok" for r in ray_records)
    assert _metrics(ray_records) == _metrics(read_records(tmp_path / "local" / RESULTS_FILE))
    run_info = json.loads((ray_dir / "run.json").read_text())
    assert run_info["executor"] == "ray" and run_info["ray"]["nodes"] == 3


def test_a_run_directory_a_node_cannot_see_is_refused(
    cluster: Any, capsys: pytest.CaptureFixture
) -> None:
    local, ray_cluster, _ = cluster
    if local.blind is None:
        pytest.skip("cannot give a node a private mount here (needs Linux, root and unshare)")
    run_dir = local.blind / "run"
    with pytest.raises(ConfigError, match=r"1 of 2 nodes cannot read it"):
        runner.run_units([_spec("fake-rnn")], run_dir, resolve=_resolve, cluster=ray_cluster)
    assert not (run_dir / RESULTS_FILE).exists() and not (run_dir / "units").exists()
    from diffrnn.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["compare", "--executor", "ray", "--tasks", "forecast-exchange", "--models",
              "last-value", "--seeds", "1", "--out", str(local.blind / "cli")])  # fmt: skip
    stderr = capsys.readouterr().err
    assert exited.value.code == 2 and "not on storage every node" in stderr
    assert len(stderr.strip().splitlines()) == 1


def _kill_the_node_at_its_first_checkpoint(local: LocalCluster, directory: Path) -> dict:
    """Wait for the unit's first checkpoint, then SIGKILL the raylet of the node running it."""
    seen: dict[str, Any] = {}
    checkpoint = directory / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 600
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = int((directory / "attempts.txt").read_text().split()[-1])  # the Ray worker's pid
    raylet = ancestor_named(worker, "raylet")
    assert raylet is not None, "the unit's Ray worker has no raylet above it"
    local.started.update(local.node_processes())  # so the cluster's stop still ends them all
    os.kill(raylet, signal.SIGKILL)
    seen["raylet"] = raylet
    return seen


def test_a_unit_whose_node_dies_resumes_elsewhere_with_the_same_metrics(
    cluster: Any, tmp_path: Path
) -> None:
    local, ray_cluster, root = cluster
    unit = _spec("fake-steps", 2)
    reference = runner.run_units([unit], tmp_path, resolve=_resolve)[0]
    run_dir = root / "shared" / "lost"
    run_dir.mkdir(parents=True)
    (run_dir / fake.STEP_SLEEP_FILE).write_text("0.3")  # about 10 s of training to kill into
    seen: dict[str, Any] = {}
    directory = unit_dir(run_dir, unit)
    killer = threading.Thread(
        target=lambda: seen.update(_kill_the_node_at_its_first_checkpoint(local, directory))
    )
    killer.start()
    record = runner.run_units([unit], run_dir, resolve=_resolve, cluster=ray_cluster)[0]
    killer.join()
    assert seen.get("raylet"), "the node was not killed"
    assert record["status"] == "ok", record["error"]
    assert record["metrics"] == reference["metrics"] and record["steps"] == fake.STEPS
    assert "resume=True" in record["notes"]
    lost = [note for note in record["notes"] if note.startswith("ran 2 times")]
    assert lost and "resumed from its checkpoint" in lost[0]


def test_ray_stays_off_the_command_lines_start_up_path() -> None:
    code = "import sys, diffrnn.cli, diffrnn.bench.compare; print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))"  # noqa: E501
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--executor", "dask"), "--executor must be local or ray, got 'dask'"),
        (("--address", "auto"), "--address and --gpus-per-unit are for the Ray executor"),
        (("--gpus-per-unit", "1"), "--address and --gpus-per-unit are for the Ray executor"),
    ],
)
def test_executor_options_are_checked_before_anything_runs(
    args: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from diffrnn.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["compare", "--tasks", "long-adding", "--out", str(tmp_path / "run"), *args])
    stderr = capsys.readouterr().err
    assert exited.value.code == 2 and message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
