"""Results gathered for reporting: seeds pooled per (task, model), families' best models.

tasks = task_infos(read_run_info(run_dir), records)
per_task = collect(records, tasks)            # task -> model -> ModelResult (largest budget)
best = best_of_family(per_task["long-adding"], "rnn")
ladders = ladder_points(records, tasks)       # task -> model -> [Rung(budget, values, cpu s)]
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from diffrnn.bench.results import latest_by_unit
from diffrnn.bench.runner import task_snapshot


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat | None:
        """The statistic of `values` (None when empty)."""
        if not values:
            return None
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(statistics.fmean(values), std, len(values))


@dataclass(frozen=True)
class TaskInfo:
    """A task as the run recorded it."""

    name: str
    description: str
    dataset: str
    metrics: tuple[str, ...]
    primary: str
    lower_is_better: bool
    anchors: tuple[dict[str, Any], ...]
    registered: dict[str, str]

    @property
    def long_range(self) -> bool:
        """Reports pass/fail per sequence length T (long-adding, long-copy)."""
        return "passed" in self.metrics

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any]) -> TaskInfo:
        """From run.json's task entry."""
        return cls(
            name=snap["name"],
            description=snap.get("description", ""),
            dataset=snap.get("dataset", ""),
            metrics=tuple(snap.get("metrics", ())),
            primary=snap["primary_metric"],
            lower_is_better=bool(snap.get("lower_is_better", True)),
            anchors=tuple(snap.get("anchors", ())),
            registered=dict(snap.get("models", {})),
        )


@dataclass
class ModelResult:
    """The latest record of every seed of one model on one task."""

    task: TaskInfo
    model: str
    family: str
    ok: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def stat(self, get: Callable[[dict[str, Any]], Any]) -> Stat | None:
        """Mean +- std over the ok seeds of a numeric field."""
        return Stat.of([v for v in (numeric(get(r)) for r in self.ok) if v is not None])

    def metric(self, name: str) -> Stat | None:
        """A metric's statistic (nested per-T / per-horizon values averaged)."""
        return self.stat(lambda r: (r["metrics"] or {}).get(name))

    @property
    def quality(self) -> float | None:
        """The mean of the task's primary metric."""
        s = self.metric(self.task.primary)
        return s.mean if s else None

    def longest_pass(self) -> tuple[int | None, list[tuple[int, bool]]]:
        """The longest T every seed passes, and pass/fail at each T (long-range tasks)."""
        verdicts: dict[int, bool] = {}
        for r in self.ok:
            passed = (r["metrics"] or {}).get("passed")
            if not isinstance(passed, dict):
                continue
            for t, ok in passed.items():
                verdicts[int(t)] = verdicts.get(int(t), True) and bool(ok)
        pattern = sorted(verdicts.items())
        passed_t = [t for t, ok in pattern if ok]
        return (max(passed_t) if passed_t else None), pattern

    def first_ok(self) -> dict[str, Any] | None:
        """The ok record of the lowest seed (its curves and artefacts are drawn)."""
        return min(self.ok, key=lambda r: r["seed"]) if self.ok else None


def numeric(value: Any) -> float | None:
    """A float from a metric value: numbers as they are, bools as 0/1, a flat dict (per T or per
    horizon) averaged."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict) and not any(isinstance(v, dict) for v in value.values()):
        leaves = [v for v in (numeric(x) for x in value.values()) if v is not None]
        return statistics.fmean(leaves) if leaves else None
    return None  # deeper nesting mixes metrics: no single number


def task_infos(run_info: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, TaskInfo]:
    """The run's tasks as run.json recorded them (those without any result included), and any
    other task of `records` as `diffrnn.bench.tasks` defines it (else inferred from them)."""
    snaps = dict(run_info.get("tasks", {}))
    missing = {r["task"] for r in records} - set(snaps)
    if missing:
        import diffrnn.bench.tasks  # noqa: F401  (defines the tasks without importing units)
        from diffrnn.bench.registry import TASKS

        for name in sorted(missing):
            if name in TASKS:
                snaps[name] = task_snapshot(TASKS[name])
            else:
                metrics = sorted(
                    {k for r in records if r["task"] == name for k in r["metrics"] or {}}
                )
                snaps[name] = {"name": name, "metrics": metrics, "primary_metric": metrics[0]}
    return {name: TaskInfo.from_snapshot(snap) for name, snap in snaps.items()}


def collect(
    records: list[dict[str, Any]], tasks: dict[str, TaskInfo]
) -> dict[str, dict[str, ModelResult]]:
    """task -> model -> its results, from the latest record of each unit at the model's largest
    budget (the top rung of a compute ladder; see `ladder_points` for the others)."""
    latest = latest_by_unit(records)
    largest: dict[tuple[str, str], float] = {}
    for task, model, _seed, budget in latest:
        largest[task, model] = max(budget, largest.get((task, model), budget))
    out: dict[str, dict[str, ModelResult]] = {name: {} for name in tasks}
    for (task, model, _seed, budget), r in sorted(latest.items()):
        if task not in tasks or budget != largest[task, model]:
            continue
        result = out[task].setdefault(model, ModelResult(tasks[task], model, r["family"]))
        (result.ok if r["status"] == "ok" else result.failed).append(r)
    return out


class Rung(NamedTuple):
    """One budget of a compute ladder: a metric and the training CPU seconds, seed by seed.

    Attributes:
        budget_s: the units' training budget.
        values: the metric of each ok seed with a numeric value, in seed order.
        cpu_seconds: `train_cpu_seconds` of the same seeds (same order and length).
    """

    budget_s: float
    values: list[float]
    cpu_seconds: list[float]


def ladder_points(
    records: list[dict[str, Any]], tasks: dict[str, TaskInfo], metric: str | None = None
) -> dict[str, dict[str, list[Rung]]]:
    """The compute ladders of a run: quality against training CPU seconds, per task and model.

    Args:
        records: results.jsonl records (the latest of each (task, model, seed, budget) counts).
        tasks: the run's tasks (`task_infos`); other tasks' records are ignored.
        metric: the metric to read (default: each task's primary metric; per-T or per-horizon
            values are averaged as in `numeric`).

    Returns:
        task -> model -> its rungs in ascending budget, for every model run at two or more
        budgets; a rung without any ok seed with a numeric metric and CPU time is left out.
        Tasks without a ladder are absent.
    """
    seeds: dict[tuple[str, str], dict[float, list[dict[str, Any]]]] = {}
    for (task, model, _seed, budget), r in sorted(latest_by_unit(records).items()):
        if task in tasks:
            seeds.setdefault((task, model), {}).setdefault(budget, []).append(r)
    out: dict[str, dict[str, list[Rung]]] = {}
    for (task, model), by_budget in seeds.items():
        if len(by_budget) < 2:
            continue
        name = metric or tasks[task].primary
        rungs = []
        for budget, rs in sorted(by_budget.items()):
            pairs = [
                (numeric((r["metrics"] or {}).get(name)), numeric(r["train_cpu_seconds"]))
                for r in rs
                if r["status"] == "ok"
            ]
            pairs = [(v, c) for v, c in pairs if v is not None and c is not None]
            if pairs:
                rungs.append(Rung(budget, [v for v, _ in pairs], [c for _, c in pairs]))
        if rungs:
            out.setdefault(task, {})[model] = rungs
    return out


def best_of_family(results: dict[str, ModelResult], family: str) -> ModelResult | None:
    """The family's best model on the task (longest T passed first on long-range tasks)."""
    candidates = [m for m in results.values() if m.family == family and m.ok]
    if not candidates:
        return None

    def score(m: ModelResult) -> tuple[float, float]:
        q = m.quality
        signed = math.inf if q is None else (q if m.task.lower_is_better else -q)
        longest = m.longest_pass()[0] if m.task.long_range else 0
        return (-(longest or 0), signed)

    return min(candidates, key=score)
