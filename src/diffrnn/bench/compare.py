"""The main job, `diffrnn compare`, as two library calls the CLI wraps in a progress display.

    job = prepare(CompareRequest(suite="quick", tasks=("long-adding",)))
    records = execute(job, on_event=show)
    paths = write_report(job.run_dir)

`prepare` checks every name and option before anything runs (a ConfigError or DataError for the
CLI to turn into one line and exit code 2) and writes `run.json`; `execute` runs the units.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from diffrnn.bench.provenance import code_identity, describe_code, options_identity
from diffrnn.bench.registry import UNIT_IMPORT_ERRORS, Task, get_task, load_registry
from diffrnn.bench.runner import (
    EventFn,
    invocations,
    read_run_info,
    resumption,
    retire_unplanned,
    run_units,
    task_snapshot,
    write_run_info,
)
from diffrnn.bench.suites import Suite, UnitSpec, get_suite, plan, selected_tasks
from diffrnn.bench.worker import utc_now
from diffrnn.errors import ConfigError

if TYPE_CHECKING:
    from diffrnn.bench.ray_executor import RayCluster

Executor = Literal["local", "ray"]
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class CompareRequest:
    """What the user asked for on the command line (None: the suite's default).

    Attributes:
        suite: "quick", "full" or "reference".
        tasks, models: names to narrow the suite to.
        seeds: seeds 0..seeds-1.
        budget_s: training budget per unit.
        budgets: a compute ladder: every unit runs at each of these budgets (exclusive with
            `budget_s`).
        out: the run directory (default `runs/<UTC timestamp>`); an existing one is resumed.
        jobs: units at once (default: the suite's).
        threads: torch threads per unit.
        user_options: the user's data for its tasks (`user_series.prepare_series` for series,
            `user_kinds.prepare_data` for the other kinds; its "task" or "tasks" name them).
        command: the command line, kept in run.json.
        rerun: run again the units whose stored results other code made (else refused).
        executor: "local" (processes of this machine) or "ray" (tasks on a Ray cluster).
        address: the Ray cluster (see `ray_executor.connect`; None: $RAY_ADDRESS or local).
        gpus_per_unit: GPUs each unit's Ray task asks for.
    """

    suite: str = "quick"
    tasks: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    seeds: int | None = None
    budget_s: float | None = None
    budgets: tuple[float, ...] | None = None
    out: Path | None = None
    jobs: int | None = None
    threads: int = 1
    user_options: dict[str, Any] = field(default_factory=dict)
    command: str = "diffrnn compare"
    rerun: bool = False
    executor: Executor = "local"
    address: str | None = None
    gpus_per_unit: float = 0.0


@dataclass(frozen=True)
class CompareJob:
    """A checked request: the units to run and where, the models the user's data left out of the
    plan (model -> why), and how many stored results of units the suite no longer plans moved to
    `results.retired.jsonl` (`retired`)."""

    suite: Suite
    units: list[UnitSpec]
    run_dir: Path
    jobs: int
    threads: int
    tasks: dict[str, Task]
    options: dict[str, Any]
    rerun: bool = False
    cluster: RayCluster | None = None
    left_out: dict[str, str] = field(default_factory=dict)
    retired: int = 0


def default_run_dir() -> Path:
    """`runs/<UTC timestamp>` under the current directory."""
    return Path("runs") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def user_tasks(options: dict[str, Any]) -> tuple[str, ...]:
    """The tasks the user's data makes: its options' "tasks" (series with --uses), else its
    "task" (one per kind), else forecast-user."""
    return tuple(options.get("tasks") or [options.get("task", "forecast-user")])


def _leave_out(
    units: list[UnitSpec], options: dict[str, Any]
) -> tuple[list[UnitSpec], dict[str, str]]:
    """The units the user's data can train, and the models it left out (model -> why: the
    options' "left_out", e.g. `ddpm-cond` on images without classes), of those planned."""
    left_out: dict[str, str] = options.get("left_out") or {}
    mine = set(user_tasks(options)) if options else set()
    dropped = [u for u in units if u.task in mine and u.model in left_out]
    kept = [u for u in units if u not in dropped]
    return kept, {u.model: left_out[u.model] for u in dropped}


def prepare(request: CompareRequest) -> CompareJob:
    """Check `request`, plan its units and record the run's set-up in `run.json`.

    Raises:
        ConfigError: unknown suite, task or model, an invalid count, or a run directory holding
            results of other code without `rerun` (see `runner.resumption`).
    """
    suite = get_suite(request.suite)
    if request.jobs is not None and request.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {request.jobs}.", "pass 1 or more.")
    if request.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {request.threads}.", "pass 1+.")
    if request.executor not in EXECUTORS:
        raise ConfigError(
            f"--executor must be local or ray, got {request.executor!r}.", "pass local or ray."
        )
    if request.executor == "local" and (request.address is not None or request.gpus_per_unit):
        raise ConfigError(
            "--address and --gpus-per-unit are for the Ray executor.", "add --executor ray."
        )
    load_registry()
    units = plan(
        suite,
        tasks=request.tasks,
        models=request.models,
        seeds=request.seeds,
        budget_s=request.budget_s,
        user_data=bool(request.user_options),
        budgets=request.budgets,
        user_tasks=user_tasks(request.user_options),
    )
    units, left_out = _leave_out(units, request.user_options)
    if not units and left_out:
        model, why = next(iter(left_out.items()))
        raise ConfigError(f"{model} cannot run on your data: {why}.", "choose other --models.")
    if not units:
        raise ConfigError(
            "no model is registered on the chosen tasks yet.", "choose other --tasks or --models."
        )
    if extra := request.user_options.get("evaluation_s"):
        # forecasting many series takes evaluation time the suite's fixed allowance lacks
        units = [replace(u, timeout_s=u.time_limit_s + suite.timeout_factor * extra) for u in units]
    # every chosen task is reported, those without any model too (unless --models narrowed it)
    names = [u.task for u in units]
    if request.models is None:
        chosen = selected_tasks(
            request.tasks, bool(request.user_options), user_tasks(request.user_options)
        )
        names = [t.name for t in chosen]
    tasks = {name: get_task(name) for name in dict.fromkeys(names)}
    run_dir = request.out or default_run_dir()
    resumption(units, run_dir, request.threads, request.user_options, request.rerun)
    narrowed = any(v is not None for v in (request.models, request.seeds, request.budget_s))
    retired = 0
    if request.rerun and not narrowed and request.budgets is None:
        # the tasks run again whole: their units the suite no longer plans are not this run's
        retired = retire_unplanned(units, run_dir)
    cluster = None
    if request.executor == "ray":
        from diffrnn.bench.ray_executor import connect

        cluster = connect(request.address, request.gpus_per_unit)
        jobs = request.jobs or cluster.slots(request.threads)
    else:
        jobs = request.jobs or suite.default_jobs()
    previous = read_run_info(run_dir)
    code = code_identity()
    invocation = {
        "command": request.command,
        "prepared_at": utc_now(),
        "code": describe_code(code),
        "tasks": list(tasks),
        "units_planned": len(units),
    }
    write_run_info(
        run_dir,
        {
            "command": request.command,
            "invocations": [*invocations(previous), invocation],
            "cwd": os.getcwd(),
            "suite": suite.name,
            "suite_description": suite.description,
            "seeds": request.seeds or suite.seeds,
            "budget_override_s": request.budget_s,
            "budgets_override_s": list(request.budgets) if request.budgets else None,
            "jobs": jobs,
            "threads": request.threads,
            "executor": request.executor,
            "ray": None
            if cluster is None
            else {"address": cluster.address, "nodes": cluster.nodes, "cpus": cluster.cpus},
            # a narrower resume (`--rerun --tasks X`) keeps the other tasks' snapshots
            "tasks": {
                **previous.get("tasks", {}),
                **{name: task_snapshot(task) for name, task in tasks.items()},
            },
            "unit_import_errors": dict(UNIT_IMPORT_ERRORS),
            "user_data": request.user_options.get("summary"),
            "inputs": options_identity(request.user_options),
            "code": code,
            "prepared_at": invocation["prepared_at"],
        },
    )
    return CompareJob(
        suite,
        units,
        run_dir,
        jobs,
        request.threads,
        tasks,
        request.user_options,
        request.rerun,
        cluster,
        left_out,
        retired,
    )


def execute(job: CompareJob, on_event: EventFn | None = None) -> list[dict[str, Any]]:
    """Run the job's units (resuming what `run_dir` already holds); their records, in plan order.

    With the Ray executor, the connection `prepare` opened is closed at the end.
    """
    started, wall = utc_now(), time.perf_counter()
    try:
        records = run_units(
            job.units,
            job.run_dir,
            jobs=job.jobs,
            threads=job.threads,
            options=job.options,
            on_event=on_event,
            rerun=job.rerun,
            cluster=job.cluster,
        )
    finally:
        if job.cluster is not None:
            job.cluster.close()
    write_run_info(
        job.run_dir,
        {
            "started_at": started,
            "finished_at": utc_now(),
            "wall_seconds": time.perf_counter() - wall,
            "units_planned": len(job.units),
        },
    )
    return records
