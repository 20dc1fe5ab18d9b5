"""Hostile run directories and paths: every outcome is a result or one line and exit 2.

Property-based (hypothesis), in process and fast (no unit is trained):
- `compare --out P` for paths drawn among the dangerous kinds (empty, a regular file, a device, a
  FIFO, a symlink loop, under /proc or /sys, a directory holding someone's report, a run whose
  run.json or results.jsonl is garbage or a symlink, very long, unicode), the units' execution
  and the report replaced by a recorder: exit 0 with a plan, or 2 with one line; the sandbox's
  own files never change.
- results.jsonl holding torn lines, garbage bytes, JSON that is not a record and records with
  missing or mistyped fields: reading gives valid records or one ConfigError naming the line;
  appending never loses a complete record; resuming a plan reuses only valid ok records.
- `diffrnn report` on a run directory whose run.json and records are drawn the same way.

Cases per run of this file: 250 + 300 + 150 + 100 = 800 (the settings' max_examples).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from diffrnn.bench import compare as compare_module
from diffrnn.bench import report as report_module
from diffrnn.bench.provenance import code_identity, fingerprint, unit_inputs
from diffrnn.bench.results import (
    RESULTS_FILE,
    append_record,
    read_records,
    record_problem,
)
from diffrnn.bench.runner import resumption
from diffrnn.bench.suites import UnitSpec
from diffrnn.cli import main
from diffrnn.errors import ConfigError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "bench_run"
BASE_RUN_INFO = json.loads((FIXTURE / "run.json").read_text())
BASE_RECORDS = [json.loads(line) for line in (FIXTURE / "results.jsonl").read_text().splitlines()]


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _run(argv: list[str]) -> tuple[int, str]:
    """Exit code and stderr of `diffrnn argv` in this process; any other exception escapes."""
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, err.getvalue()


def _assert_clear_outcome(code: int, err: str) -> None:
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), err
        assert "Traceback" not in err


@contextlib.contextmanager
def _sandbox() -> Iterator[Path]:
    """A directory inside a temporary one, as the current directory (relative paths, `..` too,
    land in the temporary one)."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "cwd").mkdir()
        os.chdir(Path(tmp) / "cwd")
        try:
            yield Path(tmp) / "cwd"
        finally:
            os.chdir(before)


# ---- JSON values, records and run.json --------------------------------------------------------

HOSTILE_SCALARS = st.sampled_from(
    [None, True, False, 0, -1, 1, 2**70, -(2**70), 1e308, -1e308, 1e-320, float("nan"),
     float("inf"), "", " ", "x", "ok", "failed", "NaN", "../../etc/passwd", "/etc/passwd",
     "ünïcödé", "<script>alert(1)</script>", "a" * 500]
)  # fmt: skip
JSON_VALUES = st.recursive(
    HOSTILE_SCALARS | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _valid_record(base: dict[str, Any]) -> dict[str, Any]:
    """A fixture record with this code's provenance fields added."""
    record = copy.deepcopy(base)
    inputs = {k: record[k] for k in ("task", "model", "seed", "suite", "budget_s")}
    inputs.update(threads=1, options={})
    record.update(inputs=inputs, input_fingerprint=fingerprint(inputs), code=code_identity())
    return record


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], depth: int = 2) -> dict[str, Any]:
    """`base` with a few fields deleted, replaced by hostile values, or mutated inside."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        if not value:
            break
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["delete", "replace", "inside", "add"]))
        if action == "delete":
            del value[key]
        elif action == "replace":
            value[key] = draw(JSON_VALUES)
        elif action == "inside" and isinstance(value[key], dict) and depth > 0:
            value[key] = draw(mutated(value[key], depth - 1))
        elif action == "add":
            value[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    return value


@st.composite
def record_lines(draw: st.DrawFn) -> bytes:
    """One line of results.jsonl: a record (valid or mutated), JSON that is no record, or junk."""
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "json", "junk", "torn"]))
    if kind in ("valid", "mutated"):
        record = _valid_record(draw(st.sampled_from(BASE_RECORDS)))
        if kind == "mutated":
            record = draw(mutated(record))
        return json.dumps(record).encode()
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "torn":
        text = json.dumps(_valid_record(draw(st.sampled_from(BASE_RECORDS)))).encode()
        return text[: draw(st.integers(1, len(text) - 1))]
    return draw(st.binary(max_size=60)).replace(b"\n", b" ")


@st.composite
def results_files(draw: st.DrawFn, max_lines: int = 6) -> bytes:
    lines = draw(st.lists(record_lines(), max_size=max_lines))
    text = b"\n".join(lines)
    return text + b"\n" if lines and draw(st.booleans()) else text


@st.composite
def run_infos(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "json", "junk", "absent"]))
    if kind == "valid":
        return json.dumps(BASE_RUN_INFO).encode()
    if kind == "mutated":
        return json.dumps(draw(mutated(BASE_RUN_INFO, depth=3))).encode()
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "junk":
        return draw(st.binary(max_size=80))
    return b""


# ---- compare --out --------------------------------------------------------------------------


def _furnish(root: Path) -> dict[str, Path]:
    """The dangerous kinds of path, made in `root`."""
    made = {"file": root / "notes.txt", "theirs": root / "theirs", "run": root / "run"}
    made["file"].write_text("keep me")
    made["theirs"].mkdir()
    (made["theirs"] / "report.md").write_text("someone's report")
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    os.mkfifo(root / "fifo")
    (root / "to_file").symlink_to(made["file"])
    (root / "to_null").symlink_to("/dev/null")
    made["run"].mkdir()
    return made


PATHS = st.sampled_from(
    ["", " ", ".", "..", "notes.txt", "notes.txt/sub", "theirs", "theirs/inner", "loop_a",
     "loop_a/x", "fifo", "to_file", "to_null", "/dev/null", "/dev/zero", "/proc/self", "/proc/x",
     "/sys/run", "run", "new/run", "ünïcödé run", "x" * 300, "a/" * 60 + "b", "new\nline",
     "-", "--", "~"]
)  # fmt: skip


def _stays_in_the_sandbox(text: str) -> bool:
    """Drawn text is a relative path that does not climb out (tests may run as root)."""
    return "\0" not in text and not text.startswith(("/", "~")) and ".." not in Path(text).parts


@st.composite
def out_cases(draw: st.DrawFn) -> tuple[str, bytes | None, bytes | None, str]:
    path = draw(PATHS | st.text(min_size=1, max_size=20).filter(_stays_in_the_sandbox))
    run_json = draw(st.none() | run_infos())
    results = draw(st.none() | results_files())
    link = draw(st.sampled_from(["none", "none", "results-symlink", "results-dir"]))
    return path, run_json, results, link


def _snapshot(root: Path) -> dict[str, bytes]:
    """The sandbox's own files (those `compare` must never change)."""
    keep = ("notes.txt", "theirs/report.md")
    return {name: (root / name).read_bytes() for name in keep}


@_settings(250)
@given(case=out_cases())
def test_compare_out_paths(
    case: tuple[str, bytes | None, bytes | None, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, run_json, results, link = case
    planned: list[Any] = []
    monkeypatch.setattr(
        compare_module, "execute", lambda job, on_event=None: planned.append(job) or []
    )
    monkeypatch.setattr(report_module, "write_report", lambda run_dir: _Paths(run_dir))
    with _sandbox() as root:
        made = _furnish(root)
        if run_json is not None:
            (made["run"] / "run.json").write_bytes(run_json)
        if results is not None:
            (made["run"] / RESULTS_FILE).write_bytes(results)
        if link == "results-symlink":
            (made["run"] / RESULTS_FILE).unlink(missing_ok=True)
            (made["run"] / RESULTS_FILE).symlink_to(made["file"])
        elif link == "results-dir":
            (made["run"] / RESULTS_FILE).unlink(missing_ok=True)
            (made["run"] / RESULTS_FILE).mkdir()
        before = _snapshot(root)
        code, err = _run(["compare", "--tasks", "long-adding", "--models", "gru", "--out", path])
        assert _snapshot(root) == before
        if code == 0:
            run_dir = planned[0].run_dir
            assert run_dir.is_dir() and run_dir.resolve().is_relative_to(root.parent.resolve())
            assert not run_dir.is_relative_to(Path("/proc"))
    _assert_clear_outcome(code, err)
    event(f"exit {code}")


class _Paths:
    def __init__(self, run_dir: Path) -> None:
        self.markdown, self.html = run_dir / "report.md", run_dir / "report.html"


# ---- results.jsonl ---------------------------------------------------------------------------


@_settings(300)
@given(content=results_files())
def test_results_files_are_read_or_refused_and_appends_lose_nothing(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / RESULTS_FILE
        path.write_bytes(content)
        try:
            records = read_records(path)
        except ConfigError as exc:
            assert "line" in str(exc) and "\n" not in str(exc)
            event("refused")
            return
        assert all(record_problem(r) is None for r in records)
        new = _valid_record(BASE_RECORDS[0])
        append_record(path, new)
        after = read_records(path)
        assert after == [*records, json.loads(json.dumps(new))]
        event(f"{len(records)} records kept")


def _plan() -> list[UnitSpec]:
    seen = dict.fromkeys((r["task"], r["model"], r["family"]) for r in BASE_RECORDS[:6])
    return [UnitSpec(t, m, f, 0, 4.0, "quick") for t, m, f in seen]  # type: ignore[arg-type]


@_settings(150)
@given(content=results_files(), rerun=st.booleans())
def test_resuming_reuses_only_matching_valid_results(content: bytes, rerun: bool) -> None:
    plan = _plan()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / RESULTS_FILE).write_bytes(content)
        try:
            resume = resumption(plan, Path(tmp), rerun=rerun)
        except ConfigError as exc:
            assert "\n" not in str(exc)
            event("refused")
            return
    for spec in plan:
        record = resume.reuse.get(spec.key)
        if record is not None:
            assert record["status"] == "ok" and record["code"] == code_identity()
            assert record["input_fingerprint"] == fingerprint(unit_inputs(spec, 1, {}))
    event(f"reused {len(resume.reuse)}")


# ---- diffrnn report --------------------------------------------------------------------------


@_settings(100)
@given(run_json=run_infos(), content=results_files(max_lines=3))
def test_report_on_hostile_run_directories(run_json: bytes, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        if run_json:
            (run / "run.json").write_bytes(run_json)
        (run / RESULTS_FILE).write_bytes(content)
        (run / "report.md").write_text("previous")
        code, err = _run(["report", str(run)])
        if code == 2:  # nothing half-written
            assert (run / "report.md").read_text() == "previous"
    _assert_clear_outcome(code, err)
    event(f"exit {code}")


# ---- the seeded cases of issue 17 ------------------------------------------------------------


def _fixture_run(tmp: str) -> Path:
    run = Path(tmp) / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps(BASE_RUN_INFO))
    lines = [json.dumps(r) for r in BASE_RECORDS]
    (run / RESULTS_FILE).write_text("\n".join(lines) + "\n")
    return run


@pytest.mark.parametrize(
    ("run_json", "message"),
    [
        (b"[]", "a JSON list, not an object"),
        (b'{"command": ', "not a diffrnn run.json"),
        (b"\xff\xfe", "not a diffrnn run.json"),
        (b'{"name": "another tool"}', "not written by diffrnn compare"),
        (b'{"suite": "quick", "jobs": "two"}', "'jobs' has the wrong type"),
        (b'{"suite": "quick", "tasks": {"t": {"name": "t"}}}', "no name or primary_metric"),
    ],
)
def test_report_on_an_invalid_run_json_is_one_line(run_json: bytes, message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = _fixture_run(tmp)
        (run / "run.json").write_bytes(run_json)
        code, err = _run(["report", str(run)])
    _assert_clear_outcome(code, err)
    assert code == 2 and message in err, err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metrics": None, "curves": None} | {"task": None}, "'task' should be a string"),
        ({"seed": "0"}, "'seed' should be an integer"),
        ({"status": "done"}, "'status' should be ok or failed"),
        ({"artefacts": {"key": "/home/user/.ssh/id_rsa"}}, "not a path inside the run directory"),
        ({"out_dir": "../../.."}, "not a path inside the run directory"),
        ({"curves": {"loss": {"x": [0, 1], "y": [1]}}}, "of one length"),
    ],
)
def test_report_on_a_bad_record_is_one_line_naming_it(change: dict, message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = _fixture_run(tmp)
        records = (run / RESULTS_FILE).read_text().splitlines()
        records[2] = json.dumps({**json.loads(records[2]), **change})
        (run / RESULTS_FILE).write_text("\n".join(records) + "\n")
        code, err = _run(["report", str(run)])
    _assert_clear_outcome(code, err)
    assert code == 2 and message in err and "line 3" in err, err


def test_report_on_a_record_missing_keys_is_one_line() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = _fixture_run(tmp)
        records = (run / RESULTS_FILE).read_text().splitlines()
        record = json.loads(records[0])
        del record["metrics"]
        records[0] = json.dumps(record)
        (run / RESULTS_FILE).write_text("\n".join(records) + "\n")
        code, err = _run(["report", str(run)])
    _assert_clear_outcome(code, err)
    assert code == 2 and "line 1" in err and "has no 'metrics'" in err, err
