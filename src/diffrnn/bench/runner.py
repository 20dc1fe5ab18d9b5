"""Run units, each in its own process, and append every result to `runs/<id>/results.jsonl`.

    records = run_units(plan(QUICK), Path("runs/demo"), jobs=2, on_event=show)

- Isolation: every unit runs in a process forked from a fork server that imported torch,
  Lightning and the units once, so starting a unit costs milliseconds, and a unit that raises,
  crashes, runs out of memory or overruns its time limit is recorded `failed` with its error while
  the suite goes on.
- Resume: units whose latest record is `ok` and was made from the same inputs (task, model,
  seed, suite, budget, threads, the user's file and options: `provenance.fingerprint`) are
  skipped; one whose inputs changed runs again, and a stored result of other code is refused
  unless `rerun` (see `resumption`). A unit killed mid-training gets `ctx.resume=True` and its
  checkpoint directory back, if those checkpoints were made from the same inputs and code.
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
import shutil
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from diffrnn.bench.provenance import (
    code_identity,
    describe_code,
    fingerprint,
    options_identity,
    same_code,
    unit_inputs,
)
from diffrnn.bench.registry import Task, UnitContext, UnitFn
from diffrnn.bench.results import (
    RECORD_FIELDS,
    RESULTS_FILE,
    SCHEMA_VERSION,
    UnitKey,
    append_record,
    latest_by_unit,
    read_records,
    retire_records,
    to_json_value,
    unit_key,
)
from diffrnn.bench.suites import UnitSpec
from diffrnn.bench.worker import LOG_FILE, RESULT_FILE, child_main, utc_now
from diffrnn.errors import ConfigError
from diffrnn.fileio import atomic_write_json

if TYPE_CHECKING:
    from diffrnn.bench.ray_executor import RayCluster

RUN_INFO_FILE = "run.json"
UNIT_INPUTS_FILE = "inputs.json"
"""In a unit's directory: the fingerprint and code its checkpoints were made with."""
POLL_S = 0.25
LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class UnitEvent:
    """A step of the run, for progress displays.

    Attributes:
        kind: "skipped" (already completed), "started" or "finished".
        spec: the unit.
        record: its results.jsonl record (skipped: the stored one; started: None).
        reason: why a unit with a stored result runs again ("rerun: inputs changed"), else None.
    """

    kind: Literal["skipped", "started", "finished"]
    spec: UnitSpec
    record: dict[str, Any] | None = None
    reason: str | None = None


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
    """`run.json` of a run directory ({} when absent).

    Raises:
        ConfigError: it is not a JSON object (edited by hand, or not diffrnn's).
    """
    path = run_dir / RUN_INFO_FILE
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON
        info = exc
    if isinstance(info, Exception):
        problem: str | None = str(info)
    else:
        problem = run_info_problem(info)
    if problem:
        raise ConfigError(
            f"{path} is not a diffrnn run.json ({problem[:200]}).",
            "restore it, delete it (the records in results.jsonl are kept), or choose another "
            "run directory.",
        )
    return info


def invocations(run_info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every `diffrnn compare` that prepared this run directory, oldest first: run.json's
    "invocations", or for a run.json written before they were kept, its one "command"."""
    if isinstance(run_info.get("invocations"), list):
        return list(run_info["invocations"])
    if not run_info.get("command"):
        return []
    return [
        {
            "command": run_info["command"],
            "prepared_at": run_info.get("prepared_at"),
            "code": describe_code(run_info.get("code")),
            "tasks": list(run_info.get("tasks") or {}),
            "units_planned": run_info.get("units_planned"),
        }
    ]


_TEXT, _NUMBER = (str,), (int, float)
_RUN_INFO_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(
        ("command", "suite", "suite_description", "cwd", "started_at", "finished_at", "executor"),
        _TEXT,
    ),
    **dict.fromkeys(("jobs", "threads", "seeds", "units_planned"), (int,)),
    **dict.fromkeys(("wall_seconds", "budget_override_s"), _NUMBER),
    **dict.fromkeys(("tasks", "unit_import_errors", "user_data", "inputs", "code", "ray"), (dict,)),
    **dict.fromkeys(("budgets_override_s", "invocations"), (list,)),
}
_SNAPSHOT_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("name", "primary_metric", "description", "dataset"), _TEXT),
    **dict.fromkeys(("metrics", "anchors"), (list,)),
    "lower_is_better": (bool,),
    "models": (dict,),
}


def _wrong_type(value: Any, types: tuple[type, ...]) -> bool:
    return not isinstance(value, types) or (isinstance(value, bool) and bool not in types)


def run_info_problem(info: Any) -> str | None:
    """What makes `info` unusable as run.json, in words (None: nothing). Every field is optional;
    one that is there has the type `prepare` writes."""
    if not isinstance(info, dict):
        return f"a JSON {type(info).__name__}, not an object"
    if info and not {"command", "suite", "tasks"} & set(info):
        return "no command, suite or tasks: not written by diffrnn compare"
    for name, types in _RUN_INFO_TYPES.items():
        if info.get(name) is not None and _wrong_type(info[name], types):
            return f"{name!r} has the wrong type"
    if isinstance(info.get("jobs"), int) and info["jobs"] < 1:
        return "'jobs' is below 1"
    for name, snap in (info.get("tasks") or {}).items():
        if not isinstance(snap, dict) or not {"name", "primary_metric"} <= set(snap):
            return f"task {name[:40]!r} has no name or primary_metric"
        for key, types in _SNAPSHOT_TYPES.items():
            if key in snap and _wrong_type(snap[key], types):
                return f"task {name[:40]!r}: {key!r} has the wrong type"
        if not all(isinstance(m, str) for m in snap.get("metrics", [])):
            return f"task {name[:40]!r}: 'metrics' should be names"
        if not all(isinstance(f, str) for f in snap.get("models", {}).values()):
            return f"task {name[:40]!r}: 'models' should map names to families"
        for anchor in snap.get("anchors", []):
            if not (
                isinstance(anchor, dict)
                and all(isinstance(anchor.get(k), str) for k in ("model", "metric", "source"))
                and isinstance(anchor.get("value"), (str, *_NUMBER))
            ):
                return f"task {name[:40]!r}: an anchor is not {{model, metric, value, source}}"
    if not all(isinstance(v, str) for v in (info.get("unit_import_errors") or {}).values()):
        return "'unit_import_errors' should map modules to messages"
    if not all(isinstance(b, _NUMBER) for b in info.get("budgets_override_s") or []):
        return "'budgets_override_s' should be numbers"
    return None


@dataclass(frozen=True)
class Resumption:
    """What a run directory already holds for a plan of units.

    Attributes:
        reuse: unit key -> its stored `ok` record, made from the same inputs and code.
        reasons: unit key -> why a unit with a stored `ok` record runs again.
    """

    reuse: dict[UnitKey, dict[str, Any]]
    reasons: dict[UnitKey, str]


def resumption(
    units: Sequence[UnitSpec],
    run_dir: Path,
    threads: int = 1,
    options: dict[str, Any] | None = None,
    rerun: bool = False,
) -> Resumption:
    """Which stored results of `run_dir` the plan `units` reuses, and which it runs again.

    A stored `ok` result is reused when its inputs' fingerprint and its code (source sha256)
    match this run's. Other inputs: the unit runs again ("rerun: inputs changed"). Other code:
    refused, since the directory would then mix results of two versions of the code, unless
    `rerun`, which runs those units again (results of units outside the plan then stay as they
    are, and the records say which code made each, unless `retire_unplanned` moves them).

    Raises:
        ConfigError: without `rerun`, the directory holds results of other code.
    """
    code = code_identity()
    opts = options_identity(options)
    planned = {spec.key: spec for spec in units}
    reuse: dict[UnitKey, dict[str, Any]] = {}
    reasons: dict[UnitKey, str] = {}
    foreign: list[dict[str, Any]] = []
    for key, record in latest_by_unit(read_records(run_dir / RESULTS_FILE)).items():
        if record.get("status") != "ok":
            continue
        spec = planned.get(key)
        if spec is not None:
            stored = record.get("input_fingerprint")
            if stored != fingerprint(unit_inputs(spec, threads, opts)):
                reasons[key] = "rerun: inputs changed" if stored else "rerun: inputs not recorded"
                continue
        if not same_code(record.get("code"), code):
            if not rerun:
                foreign.append(record)
            elif spec is not None:
                reasons[key] = "rerun: code changed"
            continue
        if spec is not None:
            reuse[key] = record
    if foreign:
        made_by = describe_code(foreign[0].get("code"))
        raise ConfigError(
            f"{run_dir} holds {len(foreign)} result(s) made by {made_by}; "
            f"this is {describe_code(code)}.",
            "pass --rerun to redo those units with this code, or choose another --out.",
        )
    return Resumption(reuse, reasons)


def retire_unplanned(units: Sequence[UnitSpec], run_dir: Path) -> int:
    """Move the stored records of the plan's tasks whose units the plan no longer holds (a rung
    or budget the suite dropped, a model it no longer runs) to `RETIRED_FILE`, so that a task
    run again whole does not report old units beside the new ones. Returns how many moved.

    Call it only for a plan that is the suite's whole plan for its tasks (not narrowed to some
    models, seeds or budgets), else it would retire results the user merely left out this time.
    """
    tasks = {spec.task for spec in units}
    planned = {spec.key for spec in units}
    return retire_records(
        run_dir / RESULTS_FILE,
        lambda record: record["task"] in tasks and unit_key(record) not in planned,
    )


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["diffrnn.bench.preload"])
    return ctx


STALL_FACTOR = 20.0
"""A unit whose wall time passes this many times its time limit is killed as stalled (a hang that
uses no CPU); contention alone never stretches a unit that far on a machine that runs."""


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a live process has used, from /proc; None where
    /proc is unavailable (then the time limit falls back to wall seconds)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@dataclass(frozen=True)
class Dispatch:
    """What an executor (the local `_run_here`, or Ray's `run_on_ray`) is handed: the units to
    run, `jobs` at once on `threads` torch threads each, and how to report each one."""

    pending: deque[UnitSpec]
    run_dir: Path
    jobs: int
    threads: int
    options: dict[str, Any] | None
    resolve: Callable[[UnitSpec], UnitFn] | None
    started: Callable[[UnitSpec], None]
    finished: Callable[[UnitSpec, dict[str, Any], dict[str, Any] | None], None]

    def target(self, spec: UnitSpec) -> UnitFn | tuple[str, str]:
        """The unit's function (`resolve`d here), or its (task, model) for the worker to find."""
        return self.resolve(spec) if self.resolve else (spec.task, spec.model)


@dataclass
class _Running:
    spec: UnitSpec
    process: Any
    started: float
    why: str = ""

    def over_limit(self, now: float) -> bool:
        """Whether the unit has used up its time limit: CPU seconds of its process (so a busy
        machine only stretches its wall time, as its CPU-second budget does), or, as a backstop
        for a hang that uses no CPU, `STALL_FACTOR` times the limit in wall seconds."""
        limit = self.spec.time_limit_s
        wall = now - self.started
        cpu = process_cpu_seconds(self.process.pid)
        if cpu is None and wall > limit:
            self.why = f"killed after {wall:.1f} wall s"
        elif cpu is not None and cpu > limit:
            self.why = f"killed after {cpu:.1f} CPU s"
        elif wall > STALL_FACTOR * limit:
            self.why = f"stalled: killed after {wall:.1f} wall s using {cpu or 0:.1f} CPU s"
        return bool(self.why)


def _may_resume(directory: Path, checkpoints: Path, inputs: dict[str, Any]) -> bool:
    """Whether the unit's checkpoints were made from these inputs and this code; if not (or
    unknown) they are deleted, so a changed unit starts afresh rather than resuming another's."""
    if not (checkpoints.is_dir() and any(checkpoints.iterdir())):
        return False
    path = directory / UNIT_INPUTS_FILE
    try:
        made = json.loads(path.read_text())
    except (OSError, ValueError):
        made = None
    wanted = {"input_fingerprint": fingerprint(inputs), "code": code_identity()}
    if (
        isinstance(made, dict)
        and made.get("input_fingerprint") == wanted["input_fingerprint"]
        and same_code(made.get("code"), wanted["code"])
    ):
        return True
    shutil.rmtree(checkpoints)
    return False


def _log_tail(directory: Path) -> str:
    path = directory / LOG_FILE
    if not path.exists():
        return ""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-LOG_TAIL_LINES:])


def _death_message(exitcode: int | None, timed_out: str, spec: UnitSpec) -> str:
    if timed_out:
        limit = f"limit {spec.time_limit_s:g} s, budget {spec.budget_s:g} s"
        return f"TimeoutError: {timed_out} ({limit})"
    if exitcode is not None and exitcode < 0:
        signal = -exitcode
        why = " (killed: out of memory?)" if signal == 9 else ""
        return f"WorkerDied: the unit's process ended on signal {signal}{why}"
    return f"WorkerDied: the unit's process exited with code {exitcode} and no result"


def _record(
    spec: UnitSpec,
    run_dir: Path,
    result: dict[str, Any],
    host: dict[str, Any] | None,
    inputs: dict[str, Any],
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
        inputs=inputs,
        input_fingerprint=fingerprint(inputs),
        code=code_identity(),
    )
    for key, empty in (("curves", {}), ("artefacts", {}), ("notes", [])):
        if record[key] is None:
            record[key] = empty
    return record


def unit_result(directory: Path, exitcode: int | None, timed_out: str, spec: UnitSpec) -> dict:
    """The result a unit's process left in `directory` (and removes it), or a `failed` result
    naming how the process ended (`timed_out`: why it was killed, "" if it was not)."""
    result_path = directory / RESULT_FILE
    if not timed_out and result_path.exists():
        result = json.loads(result_path.read_text())
        result_path.unlink()
        return result
    error = _death_message(exitcode, timed_out, spec)
    tail = _log_tail(directory)
    return {
        "status": "failed",
        "error": f"{error}; log: {tail}" if tail else error,
        "finished_at": utc_now(),
    }


def prepare_unit(
    spec: UnitSpec, run_dir: Path, threads: int, options: dict[str, Any] | None
) -> UnitContext:
    """Make the unit's directory ready to run it and return its context: a stale result
    removed, checkpoints kept only if made from these inputs and code (then `ctx.resume`), and
    `inputs.json` saying what the checkpoints about to be written are made from.

    The Ray executor calls this on the node, so a task retried after a lost node resumes from
    the checkpoints the lost attempt left.
    """
    inputs = unit_inputs(spec, threads, options_identity(options))
    directory = unit_dir(run_dir, spec)
    checkpoints = directory / "checkpoints"
    (directory / RESULT_FILE).unlink(missing_ok=True)
    may_resume = _may_resume(directory, checkpoints, inputs)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        directory / UNIT_INPUTS_FILE,
        {"input_fingerprint": fingerprint(inputs), "code": code_identity()},
    )
    return UnitContext(
        seed=spec.seed,
        budget_s=spec.budget_s,
        suite=spec.suite,
        out_dir=directory.resolve(),
        threads=threads,
        options=dict(options or {}),
        checkpoint_dir=checkpoints.resolve(),
        resume=may_resume,
    )


def supervise_unit(target: UnitFn | tuple[str, str], ctx: UnitContext, spec: UnitSpec) -> dict:
    """Run one prepared unit in its own process (forked from this process's fork server) and
    watch it as `run_units` does: killed past its time limit; its result, or how it failed.

    Returns:
        The unit's result (the fields `worker.run_unit` measures), `failed` if its process
        raised, died or overran.
    """
    process = _context().Process(
        target=child_main, args=(target, ctx, os.getpid()), name=f"unit {spec.key}"
    )
    try:
        process.start()
    except Exception as exc:  # e.g. options that cannot be pickled
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    item = _Running(spec, process, time.monotonic())
    try:
        while not wait([process.sentinel], timeout=POLL_S):
            if item.over_limit(time.monotonic()):
                process.kill()
                break
        process.join()
    finally:
        if process.is_alive():
            process.kill()
            process.join()
    return unit_result(ctx.out_dir, process.exitcode, item.why, spec)


def run_units(
    units: Sequence[UnitSpec],
    run_dir: Path,
    jobs: int = 1,
    threads: int = 1,
    options: dict[str, Any] | None = None,
    on_event: EventFn | None = None,
    resolve: Callable[[UnitSpec], UnitFn] | None = None,
    rerun: bool = False,
    cluster: RayCluster | None = None,
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
        rerun: run again the units whose stored results other code made (see `resumption`).
        cluster: run the units as tasks on this Ray cluster (`ray_executor`), `jobs` at once,
            rather than in processes of this machine.

    Returns:
        The records of every unit of `units`, stored ones included, in the order of `units`.

    Raises:
        ConfigError: `run_dir` holds results of other code and `rerun` is False, or (Ray) the
            run directory is not on storage every node of the cluster sees.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    run_dir.mkdir(parents=True, exist_ok=True)
    results_path = run_dir / RESULTS_FILE
    resume = resumption(units, run_dir, threads, options, rerun)
    opts = options_identity(options)
    emit = on_event or (lambda event: None)
    host = host_info()
    records: dict[UnitKey, dict[str, Any]] = {}
    for spec in units:
        if spec.key in resume.reuse:
            records[spec.key] = resume.reuse[spec.key]
            emit(UnitEvent("skipped", spec, resume.reuse[spec.key]))
    pending = deque(spec for spec in units if spec.key not in resume.reuse)

    def started(spec: UnitSpec) -> None:
        emit(UnitEvent("started", spec, reason=resume.reasons.get(spec.key)))

    def finished(spec: UnitSpec, result: dict[str, Any], where: dict[str, Any] | None) -> None:
        record = _record(spec, run_dir, result, where, unit_inputs(spec, threads, opts))
        append_record(results_path, record)
        records[spec.key] = record
        emit(UnitEvent("finished", spec, record, resume.reasons.get(spec.key)))

    dispatch = Dispatch(pending, run_dir, jobs, threads, options, resolve, started, finished)
    if cluster is not None and pending:
        from diffrnn.bench.ray_executor import run_on_ray

        run_on_ray(cluster, dispatch)
    elif pending:
        _run_here(dispatch, host)
    return [records[spec.key] for spec in units if spec.key in records]


def _run_here(dispatch: Dispatch, host: dict[str, Any]) -> None:
    """The local executor: `jobs` unit processes at once, forked from this machine's fork server."""
    pending, run_dir, finished = dispatch.pending, dispatch.run_dir, dispatch.finished
    running: dict[int, _Running] = {}
    context = _context()
    try:
        while pending or running:
            while pending and len(running) < dispatch.jobs:
                spec = pending.popleft()
                ctx = prepare_unit(spec, run_dir, dispatch.threads, dispatch.options)
                process = context.Process(
                    target=child_main,
                    args=(dispatch.target(spec), ctx, os.getpid()),
                    name=f"unit {spec.key}",
                )
                try:
                    process.start()
                except Exception as exc:  # e.g. options that cannot be pickled
                    finished(
                        spec, {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}, host
                    )
                    continue
                running[process.sentinel] = _Running(spec, process, time.monotonic())
                dispatch.started(spec)
            ready = set(wait(list(running), timeout=POLL_S))
            now = time.monotonic()
            for sentinel in list(running):
                item = running[sentinel]
                timed_out = sentinel not in ready and item.over_limit(now)
                if sentinel not in ready and not timed_out:
                    continue
                if timed_out:
                    item.process.kill()
                item.process.join()
                del running[sentinel]
                why = item.why if timed_out else ""
                directory = unit_dir(run_dir, item.spec)
                finished(
                    item.spec, unit_result(directory, item.process.exitcode, why, item.spec), host
                )
    finally:
        for item in running.values():
            item.process.kill()
        for item in running.values():
            item.process.join()
