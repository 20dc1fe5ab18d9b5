"""Run units, each in its own process, and append every result to `runs/<id>/results.jsonl`.

    records = run_units(plan(QUICK), Path("runs/demo"), jobs=2, on_event=show)

- Isolation: every unit runs in a process forked from a fork server that imported torch,
  Lightning and the units once, so starting a unit costs milliseconds, and a unit that raises,
  crashes, runs out of memory or overruns its time limit is recorded `failed` with its error while
  the suite goes on.
- Resume: units whose latest record is `ok` are skipped; a unit killed mid-training gets
  `ctx.resume=True` and its checkpoint directory back.
- Ladders: a unit is a (task, model, seed, budget_s); the rungs of a compute ladder are separate
  units with separate directories.
- Parallel: `jobs` units at once. Each unit's result depends only on its (task, model, seed,
  budget, threads), so `jobs=2` records the same metrics as `jobs=1`.
- The runner never prints: it reports through `on_event` (the CLI draws the progress).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Literal

from diffrnn.bench.registry import Task, UnitContext, UnitFn
from diffrnn.bench.results import (
    RECORD_FIELDS,
    RESULTS_FILE,
    SCHEMA_VERSION,
    UnitKey,
    append_record,
    latest_by_unit,
    read_records,
    to_json_value,
)
from diffrnn.bench.suites import UnitSpec
from diffrnn.bench.worker import LOG_FILE, RESULT_FILE, child_main, utc_now
from diffrnn.fileio import atomic_write_json

RUN_INFO_FILE = "run.json"
POLL_S = 0.25
LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class UnitEvent:
    """A step of the run, for progress displays.

    Attributes:
        kind: "skipped" (already completed), "started" or "finished".
        spec: the unit.
        record: its results.jsonl record (skipped: the stored one; started: None).
    """

    kind: Literal["skipped", "started", "finished"]
    spec: UnitSpec
    record: dict[str, Any] | None = None


EventFn = Callable[[UnitEvent], None]


def unit_dir(run_dir: Path, spec: UnitSpec) -> Path:
    """The unit's own directory: `runs/<id>/units/<task>/<model>/seed<k>/`, or
    `.../<model>/b<budget>/seed<k>/` for a rung of a compute ladder (`b30`, `b120`, `b2.5`)."""
    model_dir = run_dir / "units" / spec.task / spec.model
    if spec.ladder:
        model_dir = model_dir / f"b{spec.budget_s:g}"
    return model_dir / f"seed{spec.seed}"


def host_info() -> dict[str, Any]:
    """The machine the units ran on, stored with every record."""
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch_version,
        "cpu": cpu_model,
        "cpu_count": os.cpu_count(),
    }


def task_snapshot(task: Task) -> dict[str, Any]:
    """A task's definition and registered models as data, kept in run.json for the report."""
    return {
        "name": task.name,
        "dataset": task.dataset,
        "description": task.description,
        "metrics": list(task.metrics),
        "primary_metric": task.primary_metric,
        "lower_is_better": task.lower_is_better,
        "anchors": [
            {"model": a.model, "metric": a.metric, "value": a.value, "source": a.source}
            for a in task.anchors
        ],
        "models": {name: entry.family for name, entry in task.models.items()},
    }


def write_run_info(run_dir: Path, info: dict[str, Any]) -> None:
    """Write `run.json` (how the run was made) atomically, merged over what is there."""
    merged = read_run_info(run_dir)
    merged.update(to_json_value(info))
    atomic_write_json(run_dir / RUN_INFO_FILE, merged)


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """`run.json` of a run directory ({} when absent)."""
    path = run_dir / RUN_INFO_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["diffrnn.bench.preload"])
    return ctx


@dataclass
class _Running:
    spec: UnitSpec
    process: Any
    deadline: float


def _log_tail(directory: Path) -> str:
    path = directory / LOG_FILE
    if not path.exists():
        return ""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-LOG_TAIL_LINES:])


def _death_message(exitcode: int | None, timed_out: bool, spec: UnitSpec) -> str:
    if timed_out:
        return f"TimeoutError: killed after {spec.time_limit_s:.0f} s (budget {spec.budget_s:g} s)"
    if exitcode is not None and exitcode < 0:
        signal = -exitcode
        why = " (killed: out of memory?)" if signal == 9 else ""
        return f"WorkerDied: the unit's process ended on signal {signal}{why}"
    return f"WorkerDied: the unit's process exited with code {exitcode} and no result"


def _record(
    spec: UnitSpec, run_dir: Path, result: dict[str, Any], host: dict[str, Any]
) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    record.update(result)
    record.update(
        schema=SCHEMA_VERSION,
        task=spec.task,
        model=spec.model,
        family=spec.family,
        seed=spec.seed,
        suite=spec.suite,
        budget_s=spec.budget_s,
        out_dir=str(unit_dir(run_dir, spec).relative_to(run_dir)),
        host=host,
    )
    for key, empty in (("curves", {}), ("artefacts", {}), ("notes", [])):
        if record[key] is None:
            record[key] = empty
    return record


def _collect(
    running: _Running, run_dir: Path, host: dict[str, Any], timed_out: bool
) -> dict[str, Any]:
    directory = unit_dir(run_dir, running.spec)
    result_path = directory / RESULT_FILE
    if not timed_out and result_path.exists():
        result = json.loads(result_path.read_text())
        result_path.unlink()
    else:
        error = _death_message(running.process.exitcode, timed_out, running.spec)
        tail = _log_tail(directory)
        result = {
            "status": "failed",
            "error": f"{error}; log: {tail}" if tail else error,
            "finished_at": utc_now(),
        }
    return _record(running.spec, run_dir, result, host)


def run_units(
    units: Sequence[UnitSpec],
    run_dir: Path,
    jobs: int = 1,
    threads: int = 1,
    options: dict[str, Any] | None = None,
    on_event: EventFn | None = None,
    resolve: Callable[[UnitSpec], UnitFn] | None = None,
) -> list[dict[str, Any]]:
    """Run every unit not yet completed in `run_dir`, `jobs` at a time.

    Args:
        units: what to run (see `suites.plan`).
        run_dir: the run's directory; `results.jsonl` is appended there.
        jobs: units running at once, each in its own process.
        threads: torch intra-op threads per unit.
        options: passed to every unit as `ctx.options` (e.g. the user's data).
        on_event: called on every skipped, started and finished unit.
        resolve: unit -> function to run, pickled into its process by reference (default: the
            unit's process looks (task, model) up in its own registry, loaded by the fork server).

    Returns:
        The records of every unit of `units`, stored ones included, in the order of `units`.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    run_dir.mkdir(parents=True, exist_ok=True)
    results_path = run_dir / RESULTS_FILE
    stored = latest_by_unit(read_records(results_path))
    done = {key for key, record in stored.items() if record["status"] == "ok"}
    emit = on_event or (lambda event: None)
    host = host_info()
    records: dict[UnitKey, dict[str, Any]] = {}
    for spec in units:
        if spec.key in done:
            records[spec.key] = stored[spec.key]
            emit(UnitEvent("skipped", spec, stored[spec.key]))
    pending = deque(spec for spec in units if spec.key not in done)
    running: dict[int, _Running] = {}
    context = _context() if pending else None
    try:
        while pending or running:
            while pending and len(running) < jobs:
                spec = pending.popleft()
                directory = unit_dir(run_dir, spec)
                checkpoints = directory / "checkpoints"
                (directory / RESULT_FILE).unlink(missing_ok=True)
                ctx = UnitContext(
                    seed=spec.seed,
                    budget_s=spec.budget_s,
                    suite=spec.suite,
                    out_dir=directory.resolve(),
                    threads=threads,
                    options=dict(options or {}),
                    checkpoint_dir=checkpoints.resolve(),
                    resume=checkpoints.is_dir() and any(checkpoints.iterdir()),
                )
                target = resolve(spec) if resolve else (spec.task, spec.model)
                process = context.Process(
                    target=child_main, args=(target, ctx), name=f"unit {spec.key}"
                )
                try:
                    process.start()
                except Exception as exc:  # e.g. options that cannot be pickled
                    result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                    record = _record(spec, run_dir, result, host)
                    append_record(results_path, record)
                    records[spec.key] = record
                    emit(UnitEvent("finished", spec, record))
                    continue
                deadline = time.monotonic() + spec.time_limit_s
                running[process.sentinel] = _Running(spec, process, deadline)
                emit(UnitEvent("started", spec))
            ready = set(wait(list(running), timeout=POLL_S))
            now = time.monotonic()
            for sentinel in list(running):
                item = running[sentinel]
                timed_out = sentinel not in ready and now > item.deadline
                if sentinel not in ready and not timed_out:
                    continue
                if timed_out:
                    item.process.kill()
                item.process.join()
                del running[sentinel]
                record = _collect(item, run_dir, host, timed_out)
                append_record(results_path, record)
                records[item.spec.key] = record
                emit(UnitEvent("finished", item.spec, record))
    finally:
        for item in running.values():
            item.process.kill()
            item.process.join()
    return [records[spec.key] for spec in units if spec.key in records]
