"""One unit (task, model, seed) trained into a directory of its own, resumable after a kill.

    diffrnn train --task forecast-exchange --model deepar --seed 0 --out runs/deepar
    diffrnn train ... --out runs/deepar --resume          # after a crash, continue from last.ckpt
    diffrnn train ... --max-steps 500                     # a step budget: repeatable results
    diffrnn train ... --devices 2 --strategy ddp          # Lightning DDP (gloo on CPU, NCCL on GPU)

The directory holds `unit.json` (the task, model, seed and suite it was made for, checked on
`--resume`), `checkpoints/last.ckpt` (Lightning's, loaded with `weights_only=True` and checked
against the model), `artefacts/` (the unit's plots, samples) and `result.json`, each written
atomically by rank zero.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from diffrnn.bench.registry import UnitContext, UnitOutput, get_model
from diffrnn.bench.suites import get_suite
from diffrnn.errors import CheckpointError, ConfigError
from diffrnn.fileio import atomic_write_json

RESULT_NAME = "result.json"
UNIT_NAME = "unit.json"
CHECKPOINTS = "checkpoints"
ARTEFACTS = "artefacts"
MAX_SEED = 2**32 - 1
"""Largest seed: NumPy's and Lightning's `seed_everything` take unsigned 32-bit seeds."""


def launched_as_rank_zero() -> bool:
    """False when a launcher (Lightning DDP, torchrun, SLURM) started this process as a worker."""
    return all(
        os.environ.get(var, "0") == "0"
        for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK")
    )


def train_unit(
    task: str,
    model: str,
    seed: int,
    out_dir: str | Path,
    *,
    suite: str = "quick",
    budget_s: float | None = None,
    resume: bool = False,
    threads: int = 1,
    max_steps: int | None = None,
    devices: int | str | None = None,
    strategy: str | None = None,
    num_nodes: int | None = None,
) -> UnitOutput:
    """Train and evaluate model `model` of task `task` with checkpoints in `out_dir`.

    Args:
        task, model: public names (see `diffrnn.bench.tasks`); unknown names are a ConfigError.
        seed: seeds the weights, the data order and the sampling noise.
        out_dir: the run's directory (created).
        suite: "quick" (tiny models) or "full" (the issues' target budgets).
        budget_s: training budget, CPU seconds on a CPU (default: the suite's for the task).
        resume: continue from `out_dir/checkpoints/last.ckpt`; without it an existing checkpoint
            is an error rather than silently overwritten.
        threads: torch intra-op threads the unit may use.
        max_steps, devices, strategy, num_nodes: imposed on every `fit` of the unit (see
            `diffrnn.training.overrides.TrainOverrides`); None keeps the unit's choice.

    Returns:
        The unit's output; rank zero also writes it to `out_dir/result.json`.
    """
    suite_spec = get_suite(suite)
    check_seed(seed)
    if budget_s is not None and not (math.isfinite(budget_s) and budget_s > 0):
        raise ConfigError(
            f"--budget must be a positive number of seconds, got {budget_s}.", "pass e.g. 60."
        )
    entry = get_model(task, model)  # names are checked before torch is imported
    out = Path(out_dir)
    checkpoints = out / CHECKPOINTS
    checkpoint = checkpoints / "last.ckpt"
    from diffrnn.training.overrides import TrainOverrides, train_overrides
    from diffrnn.training.trainer import TrainConfig, check_trainer_settings

    overrides = TrainOverrides(max_steps, devices, strategy, num_nodes)
    check_devices(devices)
    check_trainer_settings(overrides.apply(TrainConfig()))
    unit = {"task": task, "model": model, "seed": seed, "suite": suite}
    if not resume and (checkpoint.exists() or checkpoint.is_symlink()):
        raise ConfigError(
            f"{checkpoint} exists: {out} holds an earlier run.",
            "pass --resume to continue it, or choose another --out.",
        )
    if resume:
        check_unit(out, unit, has_checkpoint=checkpoint.exists() or checkpoint.is_symlink())
    rank_zero = launched_as_rank_zero()
    if rank_zero:
        atomic_write_json(out / UNIT_NAME, {**unit, "format_version": 1})
    artefacts = out / ARTEFACTS if rank_zero else Path(tempfile.mkdtemp(prefix="diffrnn-rank-"))
    artefacts.mkdir(parents=True, exist_ok=True)
    ctx = UnitContext(
        seed=seed,
        budget_s=budget_s if budget_s is not None else suite_spec.budget_for(task),
        suite=suite,  # type: ignore[arg-type]
        out_dir=artefacts,
        threads=threads,
        checkpoint_dir=checkpoints,
        resume=resume,
    )
    import torch

    torch.set_num_threads(threads)  # as the harness's worker does, once for the whole unit
    try:
        with train_overrides(overrides):
            output = entry.run(ctx)
    finally:
        if not rank_zero:
            shutil.rmtree(artefacts, ignore_errors=True)
    if rank_zero:
        record: dict[str, Any] = {
            "task": task,
            "model": model,
            "family": entry.family,
            "seed": seed,
            "suite": suite,
            "budget_s": ctx.budget_s,
            "overrides": dataclasses.asdict(overrides),
            **dataclasses.asdict(output),
        }
        atomic_write_json(out / RESULT_NAME, record, allow_nan=True)
    return output


def check_seed(seed: int) -> None:
    """Refuse a seed outside [0, MAX_SEED] (NumPy and Lightning cannot take it)."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be in [0, {MAX_SEED}], got {seed}.", "pass e.g. --seed 0.")


def check_devices(devices: int | str | None) -> None:
    """Refuse more CPU training processes than the cores this process may run on.

    On CPU every device is a process (DDP over gloo); more processes than cores only wait for
    each other (99 on 2 cores hung).
    """
    if not isinstance(devices, int) or devices <= 1:
        return
    import torch

    if torch.cuda.is_available():
        return  # Lightning checks GPU counts itself
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if devices > (cores or 1):
        raise ConfigError(
            f"--devices {devices} asks for {devices} training processes on {cores} CPU core(s).",
            f"pass --devices {cores} or fewer (on CPU each device is one process).",
        )


def check_unit(out: Path, unit: dict[str, Any], has_checkpoint: bool) -> None:
    """Refuse to resume `out` as another unit than the one it was made for (`unit.json`).

    Args:
        out: the run directory.
        unit: task, model, seed and suite of this invocation.
        has_checkpoint: whether `out` holds a checkpoint (one without `unit.json` is refused:
            nothing says what it was trained as).
    """
    path = out / UNIT_NAME
    if not path.exists():
        if has_checkpoint:
            raise CheckpointError(
                f"{out} holds a checkpoint but no {UNIT_NAME} saying which unit it belongs to.",
                "train into a new --out (a run made before diffrnn wrote unit.json cannot be "
                "resumed safely).",
            )
        return
    try:
        saved = json.loads(path.read_text()) if path.is_file() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        saved = None
    if not isinstance(saved, dict) or saved.get("format_version") != 1:
        raise CheckpointError(
            f"{path} is not a unit record diffrnn wrote.", "train into a new --out."
        )
    different = [key for key, value in unit.items() if saved.get(key) != value]
    if different:
        made = ", ".join(f"{key} {saved.get(key)!r}" for key in unit)
        asked = ", ".join(f"--{key} {unit[key]!r}" for key in different)
        raise ConfigError(
            f"{out} was trained as {made}; resuming it with {asked} would continue that run "
            "under another label.",
            "resume with the same --task, --model, --seed and --suite, or train into a new --out.",
        )
