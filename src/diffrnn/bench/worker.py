"""What runs inside a unit's own process: set threads, run the unit, measure it, write the result.

The runner forks one process per unit (from a fork server that has already imported torch and
the units), so a crash, a hang or running out of memory costs that unit only, and the peak
resident memory measured here belongs to that unit alone. The unit's stdout and stderr go to
`log.txt` in its directory, never to the terminal the progress display owns.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diffrnn.bench.lifeline import die_with_parent
from diffrnn.bench.registry import UnitContext, UnitFn, UnitOutput
from diffrnn.bench.results import compact_curve, to_json_value
from diffrnn.fileio import atomic_write_json

RESULT_FILE = "_result.json"
LOG_FILE = "log.txt"


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def rss_mb(field: str = "VmRSS") -> float | None:
    """This process's resident memory (VmRSS) or its peak (VmHWM) in MB, from /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB -> MB
    except OSError:
        return None
    return None


def _peak_rss_mb() -> float:
    peak = rss_mb("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, kB elsewhere
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _redirect_output(log_path: Path) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def output_fields(out: UnitOutput) -> dict[str, Any]:
    """The measured fields of a `UnitOutput`, as they go into `results.jsonl`."""
    return {
        "metrics": to_json_value(out.metrics),
        "params": int(out.params),
        "train_seconds": float(out.train_seconds),
        "train_cpu_seconds": float(out.train_cpu_seconds),
        "steps": None if out.steps is None else int(out.steps),
        "stopped_by": out.stopped_by,
        "infer_seconds_per_sample": to_json_value(out.infer_seconds_per_sample),
        "throughput": to_json_value(out.throughput),
        "throughput_unit": out.throughput_unit,
        "sampler_steps": out.sampler_steps,
        "curves": {name: compact_curve(values) for name, values in out.curves.items()},
        "artefacts": {name: str(path) for name, path in out.artefacts.items()},
        "notes": [str(note) for note in out.notes],
    }


def run_unit(fn: UnitFn, ctx: UnitContext) -> dict[str, Any]:
    """Run `fn(ctx)` in this process and measure it; an exception becomes a `failed` result."""
    import torch

    torch.set_num_threads(ctx.threads)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    if ctx.checkpoint_dir is not None:
        ctx.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    start_rss = rss_mb()
    started_at = utc_now()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        out = fn(ctx)
        if not isinstance(out, UnitOutput):
            raise TypeError(f"a unit must return a UnitOutput, got {type(out).__name__}")
        result = {"status": "ok", "error": None, **output_fields(out)}
    except Exception as exc:
        traceback.print_exc()  # into log.txt
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    result.update(
        unit_wall_seconds=time.perf_counter() - wall,
        unit_cpu_seconds=time.process_time() - cpu,
        peak_rss_mb=_peak_rss_mb(),
        start_rss_mb=start_rss,
        threads=ctx.threads,
        started_at=started_at,
        finished_at=utc_now(),
    )
    return result


def child_main(
    unit: UnitFn | tuple[str, str], ctx: UnitContext, runner_pid: int | None = None
) -> None:
    """Entry point of a unit's process: run it and leave `_result.json` in its directory.

    Args:
        unit: (task, model) names, looked up in this process's registry (so a unit may be any
            callable, a closure included), or the function itself (pickled by reference).
        ctx: the unit's context.
        runner_pid: the process running the suite: the unit dies with it (see `lifeline`).
    """
    die_with_parent(runner_pid)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    _redirect_output(ctx.out_dir / LOG_FILE)
    if isinstance(unit, tuple):
        from diffrnn.bench.registry import get_model

        task, model = unit
        result = run_unit(lambda c: get_model(task, model).run(c), ctx)
    else:
        result = run_unit(unit, ctx)
    atomic_write_json(ctx.out_dir / RESULT_FILE, result)
