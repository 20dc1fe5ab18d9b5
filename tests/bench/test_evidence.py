"""Committed evidence: what it names is still registered; its report.md renders byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fake_units as fake
import pytest

from diffrnn.bench import runner
from diffrnn.bench.evidence import evidence_dirs, pack, rerendered_matches, stale_names
from diffrnn.bench.registry import TASKS, get_model
from diffrnn.bench.results import RESULTS_FILE, read_records
from diffrnn.bench.runner import task_snapshot, write_run_info
from diffrnn.bench.suites import UnitSpec
from diffrnn.errors import ConfigError

REPO_EVIDENCE = Path(__file__).parents[2] / "evidence"
COMMITTED = evidence_dirs(REPO_EVIDENCE)


@pytest.mark.skipif(not COMMITTED, reason="no evidence committed under evidence/ yet")
@pytest.mark.parametrize("directory", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_evidence_still_holds(directory: Path) -> None:
    assert stale_names(directory) == []
    assert rerendered_matches(directory), f"`diffrnn report {directory}` changes its report.md"
    assert not (directory / "units").exists()


TINY_TASKS = (fake.FAKE_TASK, fake.FAKE_LONG)


def _by_reference(spec: UnitSpec) -> object:
    return get_model(spec.task, spec.model).run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of the fake tasks: a two-rung ladder on fake-rnn, the others once."""
    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    units = [
        UnitSpec(fake.FAKE_TASK, "fake-rnn", "rnn", seed, budget, "quick", ladder=True)
        for budget in (1.0, 2.0)
        for seed in range(2)
    ]
    units += [
        UnitSpec(fake.FAKE_TASK, model, get_model(fake.FAKE_TASK, model).family, seed, 2.0, "quick")
        for model in ("fake-baseline", "fake-diffusion")
        for seed in range(2)
    ]
    units.append(UnitSpec(fake.FAKE_LONG, "fake-gated", "rnn", 0, 2.0, "quick"))
    write_run_info(
        run_dir,
        {
            "command": "diffrnn compare --budgets 1,2 (fake tasks)",
            "suite": "quick",
            "jobs": 1,
            "threads": 1,
            "tasks": {name: task_snapshot(TASKS[name]) for name in TINY_TASKS},
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:01:00+00:00",
            "wall_seconds": 60.0,
        },
    )
    records = runner.run_units(units, run_dir, resolve=_by_reference)  # type: ignore[arg-type]
    assert all(r["status"] == "ok" for r in records)
    return run_dir


@pytest.fixture
def packed(tiny_run: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "evidence" / "tiny"
    pack(tiny_run, dest)
    return dest


def test_pack_keeps_results_setup_report_and_plots_only(tiny_run: Path, packed: Path) -> None:
    assert (tiny_run / "units").is_dir()
    assert sorted(p.name for p in packed.iterdir()) == [
        "plots",
        "report.md",
        "results.jsonl",
        "run.json",
    ]
    assert (packed / RESULTS_FILE).read_bytes() == (tiny_run / RESULTS_FILE).read_bytes()
    assert any((packed / "plots").iterdir())
    assert evidence_dirs(packed.parent) == [packed]


def test_packed_evidence_holds_and_rerenders_byte_for_byte(packed: Path) -> None:
    assert stale_names(packed) == []
    assert rerendered_matches(packed)
    # in another process with another hash seed (set order), through the command line
    copy = packed.parent / "copy"
    shutil.copytree(packed, copy)
    (copy / "report.md").unlink()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-m", "diffrnn.cli", "report", str(copy)],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert (copy / "report.md").read_bytes() == (packed / "report.md").read_bytes()


def test_an_edited_report_does_not_match(packed: Path) -> None:
    report = packed / "report.md"
    report.write_text(report.read_text().replace("fake-rnn", "fake-lstm", 1))
    assert not rerendered_matches(packed)
    report.unlink()
    assert not rerendered_matches(packed)


def _rewrite(directory: Path, change: dict, where: str = "fake-diffusion") -> None:
    path = directory / RESULTS_FILE
    records = [{**r, **change} if r["model"] == where else r for r in read_records(path)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"model": "fake-transformer"}, "fake-forecast/fake-transformer is no longer registered"),
        ({"task": "fake-vanished"}, "task 'fake-vanished' is no longer registered"),
        ({"family": "hybrid"}, "fake-forecast/fake-diffusion was 'hybrid', is now 'diffusion'"),
        ({"metrics": {"mae": 0.1}}, "fake-forecast/fake-diffusion seed 0 lacks 'mse'"),
    ],
)
def test_stale_names_are_found(packed: Path, change: dict, problem: str) -> None:
    _rewrite(packed, change)
    assert problem in stale_names(packed)


def test_a_renamed_metric_is_found(packed: Path) -> None:
    info = json.loads((packed / "run.json").read_text())
    info["tasks"][fake.FAKE_TASK].update(metrics=["mse", "smape"], primary_metric="smape")
    (packed / "run.json").write_text(json.dumps(info))
    assert stale_names(packed) == [
        "fake-forecast: metrics ['smape'] are no longer the task's",
        "fake-forecast: primary metric was 'smape', is now 'mse'",
    ]


def test_pack_refuses_to_overwrite_or_to_pack_nothing(tiny_run: Path, packed: Path) -> None:
    with pytest.raises(ConfigError, match="already holds files"):
        pack(tiny_run, packed)
    (packed / "report.md").write_text("stale")
    pack(tiny_run, packed, replace=True)
    assert rerendered_matches(packed)
    with pytest.raises(ConfigError, match=r"has no results\.jsonl"):
        pack(packed.parent / "nothing", packed.parent / "other")
    with pytest.raises(ConfigError, match="is the run itself"):
        pack(tiny_run, tiny_run)


def test_evidence_check_command(packed: Path) -> None:
    from typer.testing import CliRunner

    from diffrnn.cli import app

    result = CliRunner().invoke(app, ["evidence", "check", str(packed)])
    assert result.exit_code == 0 and "ok" in result.output
    _rewrite(packed, {"model": "fake-transformer"})
    result = CliRunner().invoke(app, ["evidence", "check", str(packed)])
    assert result.exit_code == 1 and "fake-transformer is no longer registered" in result.output
    assert "report.md differs" in result.output
