"""The comparison behind `make ray-check` (benchmarks/ray_quick_check.py): which units must
match exactly, which are compared on status only, and what counts as a mismatch."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ray_quick_check.py"
_spec = importlib.util.spec_from_file_location("ray_quick_check", SCRIPT)
assert _spec is not None and _spec.loader is not None
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)


def _record(model: str, family: str, stopped_by: str | None, mse: float, **kw: Any) -> dict:
    record = {"task": "t", "model": model, "seed": 0, "family": family, "status": "ok"}
    record.update(error=None, stopped_by=stopped_by, metrics={"mse": mse}, steps=kw.pop("steps", 5))
    return {**record, **kw}


def _both() -> list[dict]:
    return [
        _record("last-value", "baseline", None, 1.0, steps=None),
        _record("capped", "rnn", "step_cap", 2.0),
        _record("timed", "rnn", "budget", 3.0),
    ]


def test_equal_runs_match_and_budget_units_are_status_only() -> None:
    problems, counts = check.compare(_both(), _both())
    assert problems == []
    assert (counts["exact"], counts["status only"]) == (2, 1)
    assert counts["budget_units"] == ["t/timed/0 (budget / budget)"]


def test_budget_units_may_differ_in_metrics_but_capped_ones_may_not() -> None:
    ray = _both()
    ray[2]["metrics"] = {"mse": 9.0}  # stopped by the budget: trained for as long as the CPU let
    assert check.compare(ray, _both())[0] == []
    ray[1]["metrics"] = {"mse": 9.0}
    problems, _ = check.compare(ray, _both())
    assert len(problems) == 1 and problems[0].startswith("t/capped/0 (stopped by step_cap)")


def test_missing_units_and_failures_are_mismatches() -> None:
    ray = _both()[:2]
    local = _both()
    local[0] = {**local[0], "status": "failed", "error": "RuntimeError: boom"}
    problems, _ = check.compare(ray, local)
    assert "t/timed/0: only in the --jobs 2 run" in problems
    assert "t/last-value/0: failed in the --jobs 2 run: RuntimeError: boom" in problems


def test_a_unit_stopped_by_the_budget_in_one_run_only_is_status_only() -> None:
    ray = _both()
    ray[1] = {**ray[1], "stopped_by": "budget", "metrics": {"mse": 9.0}}
    problems, counts = check.compare(ray, _both())
    assert problems == [] and counts["status only"] == 2
