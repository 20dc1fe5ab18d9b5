"""Runs that know what they measured: code identity and unit inputs in every record, and a rerun
into the same run directory that never reuses a result of other inputs or other code."""

from __future__ import annotations

import json
from pathlib import Path

import fake_units as fake
import numpy as np
import pandas as pd
import pytest

from diffrnn.bench import provenance, runner
from diffrnn.bench.registry import get_model
from diffrnn.bench.report import _header
from diffrnn.bench.results import RESULTS_FILE, append_record, read_records
from diffrnn.bench.runner import UNIT_INPUTS_FILE, UnitEvent, resumption, unit_dir
from diffrnn.bench.suites import UnitSpec
from diffrnn.errors import ConfigError

OTHER_CODE = {
    "diffrnn": "0.0.9",
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "git_dirty": False,
    "source_sha256": "f" * 64,
}


def _spec(model: str, seed: int = 0, suite: str = "quick", budget_s: float = 1.0) -> UnitSpec:
    family = get_model(fake.FAKE_TASK, model).family
    return UnitSpec(fake.FAKE_TASK, model, family, seed, budget_s, suite)  # type: ignore[arg-type]


def _run(units: list[UnitSpec], run_dir: Path, **kw: object) -> tuple[list[dict], list[UnitEvent]]:
    events: list[UnitEvent] = []
    records = runner.run_units(
        units,
        run_dir,
        on_event=events.append,
        resolve=lambda spec: get_model(spec.task, spec.model).run,
        **kw,  # type: ignore[arg-type]
    )
    return records, events


def _calls(run_dir: Path, spec: UnitSpec) -> int:
    return len((unit_dir(run_dir, spec) / fake.CALLS_FILE).read_text().split())


def _rewrite_code(run_dir: Path, code: dict) -> None:
    """Make every stored record look as if other code had made it."""
    path = run_dir / RESULTS_FILE
    records = read_records(path)
    path.unlink()
    for record in records:
        append_record(path, {**record, "code": code})


def test_the_code_identity_names_this_checkout_and_its_source() -> None:
    code = provenance.code_identity()
    assert code["source_sha256"] == provenance.source_sha256()
    assert code["diffrnn"] and code["torch"] and code["lightning"] and "diffusers" in code
    package = Path(provenance.__file__).parents[1]
    if (package.parents[1] / ".git").exists():  # a checkout (a worktree has a .git file)
        assert len(code["git_commit"]) == 40 and isinstance(code["git_dirty"], bool)


def test_the_source_hash_changes_with_any_source_file(tmp_path: Path) -> None:
    package = tmp_path / "diffrnn"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    before = provenance.source_sha256(package)
    (package / "sub" / "b.py").write_text("y = 3\n")
    assert provenance.source_sha256(package) != before
    (package / "sub" / "b.py").write_text("y = 2\n")
    assert provenance.source_sha256(package) == before
    (package / "notes.txt").write_text("not code")
    assert provenance.source_sha256(package) == before


def test_git_state_is_none_outside_a_checkout(tmp_path: Path) -> None:
    assert provenance.git_state(tmp_path) == (None, None)


def test_records_carry_their_inputs_and_code(tmp_path: Path) -> None:
    (record,), _ = _run([_spec("fake-rnn", seed=1)], tmp_path, threads=1)
    assert record["code"] == provenance.code_identity()
    assert record["inputs"] == {
        "task": fake.FAKE_TASK,
        "model": "fake-rnn",
        "seed": 1,
        "suite": "quick",
        "budget_s": 1.0,
        "threads": 1,
        "options": {},
    }
    assert record["input_fingerprint"] == provenance.fingerprint(record["inputs"])


def test_another_suite_reruns_instead_of_reusing(tmp_path: Path) -> None:
    quick = [_spec("fake-rnn"), _spec("fake-baseline")]
    _run(quick, tmp_path)
    full = [_spec(s.model, suite="full") for s in quick]  # --suite full --budget <the same>
    records, events = _run(full, tmp_path)
    assert {e.kind for e in events} == {"started", "finished"}  # nothing skipped
    assert {e.reason for e in events} == {"rerun: inputs changed"}
    assert [r["suite"] for r in records] == ["full", "full"]
    assert all(_calls(tmp_path, s) == 2 for s in quick)
    _, again = _run(full, tmp_path)  # same inputs, same code: reused
    assert {e.kind for e in again} == {"skipped"}
    # the full suite's own budgets are other units (rungs), never the quick results reused
    longer = [_spec(s.model, suite="full", budget_s=300.0) for s in quick]
    _, events = _run(longer, tmp_path)
    assert [e.kind for e in events].count("finished") == 2


def test_threads_are_an_input(tmp_path: Path) -> None:
    _run([_spec("fake-rnn")], tmp_path, threads=1)
    _, events = _run([_spec("fake-rnn")], tmp_path, threads=2)
    assert [e.reason for e in events if e.kind == "finished"] == ["rerun: inputs changed"]


def test_records_of_other_code_are_refused_naming_both(tmp_path: Path) -> None:
    units = [_spec("fake-rnn")]
    _run(units, tmp_path)
    _rewrite_code(tmp_path, OTHER_CODE)
    with pytest.raises(ConfigError) as refused:
        _run(units, tmp_path)
    message = str(refused.value)
    assert "commit 0123456, source ffffffff" in message
    assert provenance.describe_code(provenance.code_identity()) in message
    assert "--rerun" in message and "--out" in message
    assert _calls(tmp_path, units[0]) == 1  # nothing ran
    records, events = _run(units, tmp_path, rerun=True)
    assert [e.reason for e in events if e.kind == "finished"] == ["rerun: code changed"]
    assert records[0]["code"] == provenance.code_identity()


def test_other_codes_results_outside_the_plan_mix_only_with_rerun(tmp_path: Path) -> None:
    _run([_spec("fake-rnn")], tmp_path)
    _rewrite_code(tmp_path, OTHER_CODE)
    with pytest.raises(ConfigError, match="--rerun"):
        resumption([_spec("fake-baseline")], tmp_path)
    _run([_spec("fake-baseline")], tmp_path, rerun=True)
    codes = {r["model"]: r["code"]["source_sha256"] for r in read_records(tmp_path / RESULTS_FILE)}
    assert codes == {"fake-rnn": "f" * 64, "fake-baseline": provenance.source_sha256()}
    header = "\n".join(str(b) for b in _header({}, read_records(tmp_path / RESULTS_FILE)))
    assert "commit 0123456, source ffffffff (1 units)" in header


def test_records_without_provenance_are_rerun(tmp_path: Path) -> None:
    units = [_spec("fake-rnn")]
    _run(units, tmp_path)
    path = tmp_path / RESULTS_FILE
    (record,) = read_records(path)
    path.unlink()
    append_record(path, {k: v for k, v in record.items() if k != "input_fingerprint"})
    _, events = _run(units, tmp_path)
    assert [e.reason for e in events if e.kind == "finished"] == ["rerun: inputs not recorded"]


def test_checkpoints_of_other_inputs_are_not_resumed(tmp_path: Path) -> None:
    spec = _spec("fake-rnn")
    inputs = provenance.unit_inputs(spec, 1, {})
    directory = tmp_path / "unit"
    checkpoints = directory / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "last.ckpt").write_bytes(b"state")
    code = provenance.code_identity()
    made = {"input_fingerprint": provenance.fingerprint(inputs), "code": code}
    (directory / UNIT_INPUTS_FILE).write_text(json.dumps(made))
    assert runner._may_resume(directory, checkpoints, inputs)
    other = {**inputs, "budget_s": 2.0}
    assert not runner._may_resume(directory, checkpoints, other)
    assert not checkpoints.exists()  # deleted: the unit starts afresh
    checkpoints.mkdir()
    (checkpoints / "last.ckpt").write_bytes(b"state")
    (directory / UNIT_INPUTS_FILE).write_text(json.dumps({**made, "code": OTHER_CODE}))
    assert not runner._may_resume(directory, checkpoints, inputs)


def test_the_header_states_the_budgets_used() -> None:
    records = [
        {"task": "long-adding", "budget_s": 3.0, "status": "ok", "host": None},
        {"task": "lm-shakespeare", "budget_s": 3.0, "status": "ok", "host": None},
    ]
    info = {"suite": "quick", "suite_description": "tiny 4-second budgets", "budget_override_s": 3}
    text = "\n".join(str(b) for b in _header(info, records))
    assert "4-second" not in text
    assert "training budget per unit: 3 s" in text
    mixed = [{**records[0], "budget_s": 600.0}, records[1]]
    text = "\n".join(str(b) for b in _header({"suite": "full"}, mixed))
    assert "3 s (lm-shakespeare); 600 s (long-adding)" in text


# through the command line, on the user's own file


def _weekly_csv(path: Path, scale: float = 1.0, days: int = 70) -> None:
    dates = pd.date_range("2025-03-03", periods=days, freq="D")
    week = np.array([5.0, 7.0, 6.0, 8.0, 12.0, 20.0, 3.0])
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d")})
    frame["shop"] = scale * week[np.arange(days) % 7] + np.arange(days) * 0.1
    frame.to_csv(path, index=False)


def _compare(capsys: pytest.CaptureFixture, *args: str) -> tuple[list[dict], str]:
    from diffrnn.cli import main

    capsys.readouterr()
    main(["compare", "--models", "last-value", "--seeds", "1", "--json", *args])
    captured = capsys.readouterr()
    return [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_a_rerun_on_another_file_and_horizon_is_not_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    a, b, run = tmp_path / "a.csv", tmp_path / "b.csv", str(tmp_path / "run")
    _weekly_csv(a)
    _weekly_csv(b, scale=3.0)
    (first,), _ = _compare(capsys, "--data", str(a), "--horizon", "7", "--out", run)
    (second,), log = _compare(capsys, "--data", str(b), "--horizon", "14", "--out", run)
    assert "rerun: inputs changed" in log and "already done" not in log, log
    assert second["inputs"]["options"]["horizon"] == 14
    assert second["inputs"]["options"]["data_sha256"] == provenance.file_sha256(b)
    assert second["metrics"]["crps"] != first["metrics"]["crps"]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "horizon 14" in report and "horizon 7," not in report
    # the same file changed under the same name (values x 100): run again, never "already done"
    _weekly_csv(b, scale=300.0)
    (third,), log = _compare(capsys, "--data", str(b), "--horizon", "14", "--out", run)
    assert "rerun: inputs changed" in log
    assert third["inputs"]["options"]["data_sha256"] == provenance.file_sha256(b)
    assert third["metrics"]["crps"] != second["metrics"]["crps"]
    (fourth,), log = _compare(capsys, "--data", str(b), "--horizon", "14", "--out", run)
    assert "already done" in log and fourth == third


def test_a_folders_content_identity_is_the_sha256_its_task_computed(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()  # a folder cannot be hashed as one file: its task hashes its files
    identity = provenance.options_identity(
        {"path": str(folder), "data_sha256": "ab12", "size": 8, "summary": {"kind": "images"}}
    )
    assert identity == {"data_sha256": "ab12", "size": 8}


def test_a_narrower_rerun_keeps_every_command_and_task_in_run_json(tmp_path: Path) -> None:
    """A partial rerun (`--rerun --tasks X` into a finished run) must not pass off its command
    as the whole run's, nor drop the other tasks' snapshots."""
    from diffrnn.bench.compare import CompareRequest, prepare

    first = "diffrnn compare --tasks long-adding,graph-chickenpox"
    second = "diffrnn compare --rerun --tasks graph-chickenpox"
    prepare(CompareRequest(tasks=("long-adding", "graph-chickenpox"), out=tmp_path, command=first))
    prepare(CompareRequest(tasks=("graph-chickenpox",), out=tmp_path, command=second, rerun=True))
    info = runner.read_run_info(tmp_path)
    assert [i["command"] for i in info["invocations"]] == [first, second]
    assert info["invocations"][1]["tasks"] == ["graph-chickenpox"]
    assert set(info["tasks"]) == {"long-adding", "graph-chickenpox"}
    header = " ".join(str(block) for block in _header(info, []))
    assert f"commands, in order (2): {first} (" in header and f"; {second} (" in header


def test_a_run_json_from_before_invocations_counts_its_command_as_the_first() -> None:
    legacy = {"command": "diffrnn compare --suite reference", "tasks": {"long-adding": {}}}
    (only,) = runner.invocations(legacy)
    assert only["command"] == legacy["command"] and only["tasks"] == ["long-adding"]
    assert runner.invocations({}) == []


def test_the_reference_snapshot_names_each_code_of_a_partly_rerun_run(tmp_path: Path) -> None:
    from diffrnn.bench.scorecard import reference_snapshot

    _run([_spec("fake-rnn")], tmp_path)
    _rewrite_code(tmp_path, OTHER_CODE)
    _run([_spec("fake-baseline")], tmp_path, rerun=True)
    _run([_spec("fake-diffusion")], tmp_path, rerun=True)
    commit = reference_snapshot(tmp_path)["commit"]
    this = provenance.describe_code(provenance.code_identity())
    # the larger share leads, though the other code's unit comes first in results.jsonl
    assert commit == f"{this} (2 units); commit 0123456, source ffffffff (1 units)"


def test_codes_are_named_largest_share_first_ties_by_time() -> None:
    """The reference run: 39 units rerun at e710ebd come first in the file, 150 made at 65e7c1a
    lead the sentence; equal shares in the order they ran."""

    def made(commit: str, n: int, at: str) -> list[dict]:
        code = {"git_commit": commit * 7, "git_dirty": False, "source_sha256": commit * 8}
        return [{"code": code, "started_at": at, "status": "ok"} for _ in range(n)]

    records = [
        *made("e", 39, "2026-12-05T00:11:00+00:00"),
        *made("6", 150, "2026-12-04T20:17:00+00:00"),
        *made("8", 24, "2026-12-04T23:59:00+00:00"),
    ]
    assert provenance.describe_codes(records) == (
        "commit 6666666, source 66666666 (150 units); commit eeeeeee, source eeeeeeee (39 units); "
        "commit 8888888, source 88888888 (24 units)"
    )
    tied = [*made("b", 2, "2026-12-02T00:00:00+00:00"), *made("a", 2, "2026-12-01T00:00:00+00:00")]
    assert provenance.describe_codes(tied).startswith("commit aaaaaaa, source aaaaaaaa (2 units)")
    assert provenance.describe_codes(records[:3]) == "commit eeeeeee, source eeeeeeee"
    assert provenance.describe_codes([]) == ""
    header = "\n".join(str(b) for b in _header({"suite": "reference"}, records))
    assert "code: commit 6666666, source 66666666 (150 units); commit eeeeeee" in header


def test_a_whole_task_run_again_retires_its_units_the_suite_no_longer_plans(
    tmp_path: Path,
) -> None:
    """`--rerun --tasks X` after the suite changed X's budgets: X's old units leave results.jsonl
    (kept in results.retired.jsonl), other tasks' results and X's planned units stay; a rerun
    narrowed to some models retires nothing."""
    from claim_records import record

    from diffrnn.bench.compare import CompareRequest, prepare
    from diffrnn.bench.results import RETIRED_FILE
    from diffrnn.bench.suites import get_suite, plan

    (planned, *_) = plan(get_suite("quick"), tasks=("graph-chickenpox",))
    path = tmp_path / RESULTS_FILE
    kept = record("graph-chickenpox", planned.model, planned.family, 0, {"mae": 1.0})
    kept["budget_s"] = planned.budget_s
    old = record("graph-chickenpox", planned.model, planned.family, 0, {"mae": 2.0}, budget=999.0)
    other = record("long-adding", "lstm", "rnn", 0, {"mse": 0.1}, budget=999.0)
    for r in (kept, old, other):
        append_record(path, r)
    before = path.read_bytes().splitlines()

    narrowed = CompareRequest(
        tasks=("graph-chickenpox",), models=(planned.model,), out=tmp_path, rerun=True
    )
    assert prepare(narrowed).retired == 0
    assert path.read_bytes().splitlines() == before

    job = prepare(CompareRequest(tasks=("graph-chickenpox",), out=tmp_path, rerun=True))
    assert job.retired == 1
    assert path.read_bytes().splitlines() == [before[0], before[2]]  # byte for byte
    retired = [
        (r["task"], r["budget_s"], r["metrics"]) for r in read_records(tmp_path / RETIRED_FILE)
    ]
    assert retired == [("graph-chickenpox", 999.0, {"mae": 2.0})]
    assert (
        prepare(CompareRequest(tasks=("graph-chickenpox",), out=tmp_path, rerun=True)).retired == 0
    )
