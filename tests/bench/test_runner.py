"""The runner: isolation, schema, resume, parallel == serial, atomic appends."""

from __future__ import annotations

import json
from pathlib import Path

import fake_units as fake
import pytest

from diffrnn.bench import runner
from diffrnn.bench.registry import get_model
from diffrnn.bench.results import RECORD_FIELDS, RESULTS_FILE, append_record, read_records
from diffrnn.bench.runner import UnitEvent, unit_dir
from diffrnn.bench.suites import UnitSpec

QUALITY_MODELS = ("fake-baseline", "fake-rnn", "fake-diffusion")


UNREGISTERED = {
    "fake-crash": fake.fake_crash,
    "fake-hang": fake.fake_hang,
    "fake-spin": fake.fake_spin,
}


def _minimal(model: str) -> dict:
    """The smallest valid record of a unit (every field there, most of them null)."""
    base = dict.fromkeys(RECORD_FIELDS)
    return base | {"task": "t", "model": model, "family": "rnn", "seed": 0, "budget_s": 1.0,
                   "status": "ok"}  # fmt: skip


def _by_reference(spec: UnitSpec) -> object:
    """The fake units live in this process's registry only: hand their functions over."""
    return UNREGISTERED.get(spec.model) or get_model(spec.task, spec.model).run


def run_units(units: list[UnitSpec], run_dir: Path, **kw: object) -> list[dict]:
    kw.setdefault("resolve", _by_reference)
    return runner.run_units(units, run_dir, **kw)  # type: ignore[arg-type]


def _spec(model: str, seed: int = 0, task: str = fake.FAKE_TASK, **kw: float) -> UnitSpec:
    family = "rnn" if model in UNREGISTERED else get_model(task, model).family
    return UnitSpec(task, model, family, seed, budget_s=1.0, suite="quick", **kw)


def _quality_units(seeds: int = 2) -> list[UnitSpec]:
    return [_spec(m, s) for m in QUALITY_MODELS for s in range(seeds)]


def test_records_follow_the_schema_and_carry_the_units_numbers(tmp_path: Path) -> None:
    records = run_units(_quality_units(), tmp_path, threads=1)
    stored = read_records(tmp_path / RESULTS_FILE)
    assert stored == records and len(records) == 6
    for r in records:
        assert set(r) == set(RECORD_FIELDS)
        assert r["status"] == "ok" and r["error"] is None
        assert r["metrics"]["mse"] == pytest.approx(fake.expected_mse(r["model"], r["seed"]))
        assert r["family"] == get_model(fake.FAKE_TASK, r["model"]).family
        assert r["params"] == 1000 * len(r["model"])
        assert r["infer_seconds_per_sample"] == fake.INFER_S[r["model"]]
        assert r["curves"]["train_loss"]["y"] == pytest.approx([1 / (i + 1) for i in range(5)])
        assert r["peak_rss_mb"] >= r["start_rss_mb"] > 0
        assert r["unit_wall_seconds"] > 0 and r["started_at"] <= r["finished_at"]
        assert r["host"]["cpu_count"] >= 1
        directory = tmp_path / r["out_dir"]
        assert directory == unit_dir(tmp_path, _spec(r["model"], r["seed"]))
        assert (directory / r["artefacts"]["sample"]).read_text() == "threads=1\n"
        assert (directory / "checkpoints").is_dir()


def test_a_failing_unit_is_recorded_and_the_suite_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sleeping unit is caught at 15 wall s; the spinning one must reach its 0.5 CPU s first,
    # which a loaded machine (3% of a core for it) still allows
    monkeypatch.setattr(runner, "STALL_FACTOR", 30.0)
    units = [
        _spec("fake-broken"),
        _spec("fake-crash", task=fake.FAKE_LONG),
        _spec("fake-hang", task=fake.FAKE_LONG, timeout_s=0.5),
        _spec("fake-spin", task=fake.FAKE_LONG, timeout_s=0.5),
        _spec("fake-rnn"),
    ]
    events: list[UnitEvent] = []
    records = run_units(units, tmp_path, jobs=2, on_event=events.append)
    by_model = {r["model"]: r for r in records}
    assert by_model["fake-broken"]["status"] == "failed"
    assert by_model["fake-broken"]["error"] == "RuntimeError: the fake hybrid diverged"
    assert "exited with code 3" in by_model["fake-crash"]["error"]
    assert "about to crash" in by_model["fake-crash"]["error"]  # the log's tail
    # the time limit is CPU seconds; a unit that sleeps is caught as stalled in wall seconds
    spin = by_model["fake-spin"]["error"]
    assert spin.startswith("TimeoutError: killed after") and "CPU s (limit 0.5 s" in spin
    assert by_model["fake-hang"]["error"].startswith("TimeoutError: stalled")
    assert by_model["fake-rnn"]["status"] == "ok"
    assert all(set(r) == set(RECORD_FIELDS) for r in records)
    assert [e.kind for e in events].count("finished") == 5
    log = unit_dir(tmp_path, units[0]) / "log.txt"
    assert "Traceback" in log.read_text()


def test_rerunning_skips_completed_units_and_retries_failed_ones(tmp_path: Path) -> None:
    units = [*_quality_units(seeds=1), _spec("fake-broken")]
    run_units(units, tmp_path, jobs=2)
    events: list[UnitEvent] = []
    again = run_units(units, tmp_path, jobs=2, on_event=events.append)
    kinds = {e.spec.model: e.kind for e in events if e.kind != "started"}
    assert kinds == {**dict.fromkeys(QUALITY_MODELS, "skipped"), "fake-broken": "finished"}
    for spec in units:
        calls = (unit_dir(tmp_path, spec) / fake.CALLS_FILE).read_text().split()
        assert len(calls) == (2 if spec.model == "fake-broken" else 1)
    assert len(read_records(tmp_path / RESULTS_FILE)) == 5
    assert [r["model"] for r in again] == [s.model for s in units]


def test_parallel_jobs_record_the_same_results_as_serial(tmp_path: Path) -> None:
    def measured(records: list[dict]) -> list[tuple]:
        keep = ("task", "model", "seed", "status", "metrics", "params", "curves")
        return sorted(tuple(json.dumps(r[k], sort_keys=True) for k in keep) for r in records)

    serial = run_units(_quality_units(), tmp_path / "serial", jobs=1)
    parallel = run_units(_quality_units(), tmp_path / "parallel", jobs=2)
    assert measured(serial) == measured(parallel)


def test_peak_memory_is_the_units_own(tmp_path: Path) -> None:
    spec = _spec("fake-rnn")
    light, heavy = (
        run_units([spec], tmp_path / name, resolve=lambda _s, fn=fn: fn)[0]
        for name, fn in (("light", fake.fake_rnn), ("heavy", fake.fake_memory_hog))
    )
    assert heavy["status"] == "ok"
    assert heavy["peak_rss_mb"] - light["peak_rss_mb"] > 150  # the hog's 200 MB block


def test_a_torn_last_line_is_dropped_and_appending_goes_on(tmp_path: Path) -> None:
    path = tmp_path / RESULTS_FILE
    append_record(path, _minimal("m"))
    with path.open("a") as f:
        f.write('{"task": "t", "model": "m2", "se')  # killed mid-write
    assert [r["model"] for r in read_records(path)] == ["m"]
    append_record(path, _minimal("m3"))
    assert [r["model"] for r in read_records(path)] == ["m", "m3"]
    assert path.read_text().count("\n") == 2


def test_the_rungs_of_a_ladder_are_units_of_their_own(tmp_path: Path) -> None:
    rungs = [
        UnitSpec(fake.FAKE_TASK, "fake-rnn", "rnn", 0, budget_s=b, suite="quick", ladder=True)
        for b in (1.0, 2.5)
    ]
    records = run_units(rungs, tmp_path)
    assert [(r["budget_s"], r["out_dir"]) for r in records] == [
        (1.0, "units/fake-forecast/fake-rnn/b1/seed0"),
        (2.5, "units/fake-forecast/fake-rnn/b2.5/seed0"),
    ]
    for spec in rungs:
        assert (unit_dir(tmp_path, spec) / fake.CALLS_FILE).read_text().split() == ["0"]
    # both rungs resume as done; a third is new
    third = UnitSpec(fake.FAKE_TASK, "fake-rnn", "rnn", 0, budget_s=4.0, suite="quick", ladder=True)
    events: list[UnitEvent] = []
    run_units([*rungs, third], tmp_path, on_event=events.append)
    kinds = [(e.kind, e.spec.budget_s) for e in events if e.kind != "started"]
    assert kinds == [("skipped", 1.0), ("skipped", 2.5), ("finished", 4.0)]
