"""Hostile command lines: every one exits 0 with a valid plan or 2 with one line, never a traceback.

Property-based (hypothesis) over `diffrnn train` and `diffrnn compare`: unknown and near-miss task
and model names, empty / unicode / comma-laden lists, negative, zero, NaN, infinite and huge
numbers, unknown suites, strategies and devices. Nothing is trained: `train` points at a run
directory that already holds a checkpoint (so a fully valid command stops at "pass --resume"),
and `compare`'s unit execution and report are replaced by a recorder of the checked plan.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from diffrnn.bench import compare as compare_module
from diffrnn.bench import report as report_module
from diffrnn.bench.registry import load_registry
from diffrnn.cli import main
from diffrnn.errors import ConfigError

TASKS = load_registry()
TASK_NAMES = sorted(TASKS)
MODEL_NAMES = sorted({m for task in TASKS.values() for m in task.models})
HOSTILE = st.one_of(
    st.sampled_from(
        ["", " ", "-1", "0", "nan", "NaN", "inf", "-inf", "1e999", "9" * 30, "0.05", "ünïcödé"]
    ),
    st.sampled_from([",", "a,,b", "--help", "-x", "auto", "ddp", "ddp_spawn", "quick", "full"]),
    st.text(max_size=12),
)
VALID = {  # a valid value per option, drawn as often as a hostile one
    "--seed": ["0", "3"],
    "--seeds": ["1", "2"],
    "--suite": ["quick", "full"],
    "--budget": ["0.5", "30"],
    "--budgets": ["30", "0.5,2"],
    "--max-steps": ["1", "50"],
    "--devices": ["1", "2", "auto"],
    "--strategy": ["auto", "ddp"],
    "--num-nodes": ["1", "2"],
    "--threads": ["1", "2"],
    "--jobs": ["1", "2"],
    "--horizon": ["1", "3", "7"],
    "--context": ["4", "10"],
    "--windows": ["1", "2"],
    "--fill": ["error", "ffill", "interpolate", "zero"],
    "--format": ["long", "wide"],
    "--freq": ["D"],
    "--id-col": ["unique_id", "id"],
    "--time-col": ["ds", "date"],
    "--target-col": ["y", "amount"],
    "--encoding": ["utf-8", "latin-1"],
}


def _value(draw: st.DrawFn, option: str) -> str:
    return draw(st.sampled_from(VALID[option]) if draw(st.booleans()) else HOSTILE)


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _run(argv: list[str]) -> tuple[int, str]:
    """Exit code and stderr of `diffrnn argv` run in this process; any other exception escapes."""
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
    event(f"exit {code}")


def _names(draw: st.DrawFn, known: list[str]) -> str:
    name = st.sampled_from(known) if draw(st.booleans()) else st.sampled_from(known) | HOSTILE
    parts = draw(st.lists(name, min_size=1, max_size=3))
    return ",".join(parts)


@st.composite
def train_argv(draw: st.DrawFn) -> list[str]:
    task = draw(st.sampled_from(TASK_NAMES) | HOSTILE)
    models = sorted(TASKS[task].models) if task in TASKS else MODEL_NAMES
    model = draw(st.sampled_from(models or ["none"]) | HOSTILE)
    argv = ["train", "--task", task, "--model", model]
    for option in draw(
        st.lists(
            st.sampled_from(
                ["--seed", "--suite", "--budget", "--max-steps", "--devices", "--strategy"]
            )
            | st.sampled_from(["--num-nodes", "--threads"]),
            unique=True,
            max_size=4,
        )
    ):
        argv += [option, _value(draw, option)]
    return argv


@SETTINGS
@given(argv=train_argv())
def test_train_arguments(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "checkpoints").mkdir()
        (Path(tmp) / "checkpoints" / "last.ckpt").write_bytes(b"an earlier run")
        code, err = _run([*argv, "--out", tmp])
    _assert_clear_outcome(code, err)
    if code == 2 and "--resume" in err:
        event("every argument valid: stopped before training an existing run")


@st.composite
def compare_argv(draw: st.DrawFn) -> list[str]:
    argv = ["compare"]
    for option in draw(
        st.lists(
            st.sampled_from(["--suite", "--tasks", "--models", "--seeds", "--budget", "--jobs"])
            | st.sampled_from(["--threads", "--budgets"]),
            unique=True,
            max_size=5,
        )
    ):
        if option == "--tasks":
            argv += [option, _names(draw, TASK_NAMES)]
        elif option == "--models":
            argv += [option, _names(draw, MODEL_NAMES)]
        else:
            argv += [option, _value(draw, option)]
    return argv


@SETTINGS
@given(argv=compare_argv())
def test_compare_arguments(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    planned: list[Any] = []

    def record(job: Any, on_event: Any = None) -> list[dict[str, Any]]:
        planned.append(job)
        return []

    monkeypatch.setattr(compare_module, "execute", record)
    monkeypatch.setattr(report_module, "write_report", lambda run_dir: _Paths(run_dir))
    with tempfile.TemporaryDirectory() as tmp:
        code, err = _run([*argv, "--out", str(Path(tmp) / "run")])
    _assert_clear_outcome(code, err)
    for job in planned:  # a plan that was accepted must be runnable
        assert job.units and job.jobs >= 1 and job.threads >= 1
        for unit in job.units:
            assert unit.task in TASKS and unit.model in TASKS[unit.task].models
            assert math.isfinite(unit.budget_s) and unit.budget_s > 0, unit
            assert 0 <= unit.seed < 100


@pytest.mark.parametrize("budget", [math.nan, math.inf])
def test_compare_refuses_a_non_finite_budget(budget: float, tmp_path: Path) -> None:
    request = compare_module.CompareRequest(tasks=("long-adding",), budget_s=budget, out=tmp_path)
    with pytest.raises(ConfigError, match="budget"):
        compare_module.prepare(request)


class _Paths:
    def __init__(self, run_dir: Path) -> None:
        self.markdown, self.html = run_dir / "report.md", run_dir / "report.html"


@st.composite
def user_files(draw: st.DrawFn) -> bytes:
    """A user's CSV: random bytes, or long-format daily series of any length and magnitude."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    rows = ["unique_id,ds,y"]
    scale = draw(st.sampled_from([1.0, 1.0, 1e-300, 1e300, 1e308, -1e308]))
    hostile_share = draw(st.sampled_from([0, 0, 0, 0.02, 0.2]))
    day0 = pd.Timestamp("2022-01-01")
    for series in range(draw(st.integers(1, 3))):
        length = draw(st.sampled_from([1, 3, 8, 20, 60, 60, 60, 60]))
        start = draw(st.integers(0, 5))
        for day in range(start, start + length):
            hostile = draw(st.floats(0, 1)) < hostile_share
            value = draw(HOSTILE) if hostile else draw(st.floats(-10, 10)) * scale
            rows.append(f"s{series},{(day0 + pd.Timedelta(days=day)).date()},{value}")
    return ("\n".join(rows) + "\n").encode()


@st.composite
def user_data_options(draw: st.DrawFn) -> list[str]:
    horizon = draw(st.sampled_from(VALID["--horizon"])) if draw(st.booleans()) else None
    argv = ["--horizon", horizon or _value(draw, "--horizon")]
    options = ["--context", "--windows", "--fill", "--format", "--freq", "--id-col", "--time-col"]
    options += ["--target-col", "--encoding"]
    for option in draw(st.lists(st.sampled_from(options), unique=True, max_size=2)):
        argv += [option, _value(draw, option)]
    return argv


@SETTINGS
@given(content=user_files(), options=user_data_options())
def test_compare_with_hostile_user_data(
    content: bytes, options: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[Any] = []
    monkeypatch.setattr(
        compare_module, "execute", lambda job, on_event=None: planned.append(job) or []
    )
    monkeypatch.setattr(report_module, "write_report", lambda run_dir: _Paths(run_dir))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sales.csv"
        data.write_bytes(content)
        code, err = _run(["compare", "--data", str(data), *options, "--out", f"{tmp}/run"])
    _assert_clear_outcome(code, err)
    for job in planned:
        assert {unit.task for unit in job.units} == {"forecast-user"}
        assert job.options["horizon"] >= 1 and job.options["windows"] >= 1
