"""The rules a verdict must pass, and a run's records grouped to apply them.

    runs = Runs(read_records(run_dir / RESULTS_FILE), evidence_budgets())
    ddpm = runs.top("image-digits", "ddpm")            # its highest budget with a result
    better, how = direction(ddpm.metric("fd"), lstm.metric("fd"), lower=True)

The rules of issue 12, in one place:
- a comparison decides only when every learned side has at least `MIN_SEEDS` seeds and every seed
  agrees on the direction of the difference (paired by seed: the same seed gives both models the
  same data order and evaluation draws), or the means lie more than `SE_FACTOR` standard errors
  apart;
- it decides only from units whose budget reaches the task's evidence budget (`EVIDENCE_BUDGETS`
  in `bench/suites.py`: the budget at which the families' quality has separated on the ladders).
  Baselines and references do not train (`UNTRAINED_FAMILIES`), so neither rule applies to them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from diffrnn.bench.aggregate import Stat, numeric
from diffrnn.bench.results import latest_by_unit
from diffrnn.bench.suites import UNTRAINED_FAMILIES
from diffrnn.bench.verdicts import fmt_seconds

MIN_SEEDS = 3
"""Seeds a learned model needs before a comparison with it decides anything."""
SE_FACTOR = 2.0
"""Means further apart than this many standard errors decide even when a seed disagrees."""
HIGHER_IS_BETTER = frozenset({"accuracy", "psnr", "inception_score"})
"""Metrics where more is better; every other metric the claims read is an error or a distance."""
NOT_EVIDENCE = "not evidence at these budgets"


def lower_is_better(metric: str) -> bool:
    """The direction of a metric the claims read."""
    return metric not in HIGHER_IS_BETTER


def evidence_budgets() -> dict[str, float]:
    """Task -> the training budget (seconds) from which its units count as evidence.

    `EVIDENCE_BUDGETS` in `bench/suites.py` when it is defined; until then the full suite's
    budgets (the ones that reach the model issues' targets), a bar no quick run reaches. Tasks
    built from the user's own file have none: their numbers are the user's to judge.
    """
    from diffrnn.bench import suites

    defined = getattr(suites, "EVIDENCE_BUDGETS", None)
    if defined is not None:
        return dict(defined)
    import diffrnn.bench.tasks  # noqa: F401  (defines the tasks without importing units)
    from diffrnn.bench.registry import TASKS

    return {
        name: budget
        for name, budget in suites.FULL.task_budgets.items()
        if not (name in TASKS and TASKS[name].needs_user_data)
    }


def short_of_evidence(
    task: str, budgets: Iterable[float], evidence: Mapping[str, float]
) -> str | None:
    """ "not evidence at these budgets (...)" when a learned unit of `task` trained below the
    task's evidence budget, else None.

    Args:
        budgets: the `budget_s` of the learned units the verdict reads.
    """
    need = evidence.get(task, 0.0)
    low = [b for b in budgets if b < need]
    if not low:
        return None
    return (
        f"{NOT_EVIDENCE} (trained {fmt_seconds(min(low))}; {task} counts from {fmt_seconds(need)})"
    )


@dataclass(frozen=True)
class Group:
    """The runs of one model on one task at one budget: the latest record of each seed.

    Attributes:
        ok, failed: the seeds' records, by status.
    """

    task: str
    model: str
    family: str
    budget_s: float
    ok: tuple[dict[str, Any], ...]
    failed: tuple[dict[str, Any], ...]

    @property
    def learned(self) -> bool:
        """Trains (the budget and seed rules apply)."""
        return self.family not in UNTRAINED_FAMILIES

    def values(self, get: Callable[[dict[str, Any]], Any]) -> dict[int, float]:
        """Seed -> a numeric field of its record (seeds without one left out)."""
        out = {}
        for r in self.ok:
            value = numeric(get(r))
            if value is not None:
                out[int(r["seed"])] = value
        return out

    def metric(self, name: str) -> dict[int, float]:
        """Seed -> the metric (per-T or per-horizon values averaged)."""
        return self.values(lambda r: (r["metrics"] or {}).get(name))

    def cpu_seconds(self) -> dict[int, float]:
        """Seed -> training CPU seconds (wall seconds where CPU seconds were not recorded)."""
        return self.values(lambda r: r.get("train_cpu_seconds") or r.get("train_seconds"))


class Runs:
    """Every (task, model, budget) of a run, with the task's evidence budget beside it."""

    def __init__(self, records: Iterable[dict[str, Any]], evidence: Mapping[str, float]) -> None:
        by_budget: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
        for (task, model, _seed, budget), r in sorted(latest_by_unit(records).items()):
            by_budget.setdefault((task, model, budget), []).append(r)
        self.evidence = dict(evidence)
        self._ladders: dict[tuple[str, str], list[Group]] = {}
        for (task, model, budget), rs in by_budget.items():
            group = Group(
                task,
                model,
                rs[0]["family"],
                budget,
                tuple(r for r in rs if r["status"] == "ok"),
                tuple(r for r in rs if r["status"] != "ok"),
            )
            self._ladders.setdefault((task, model), []).append(group)

    def tasks(self) -> list[str]:
        """The tasks with any record, sorted."""
        return sorted({task for task, _ in self._ladders})

    def models(self, task: str, family: str | None = None) -> list[str]:
        """The models of `task` (of one family), sorted."""
        return sorted(
            m
            for (t, m), groups in self._ladders.items()
            if t == task and (family is None or groups[0].family == family)
        )

    def groups(self, task: str, model: str) -> list[Group]:
        """Every budget of a model, lowest first (failed-only budgets included)."""
        return list(self._ladders.get((task, model), []))

    def ladder(self, task: str, model: str) -> list[Group]:
        """The budgets of a model with at least one ok seed, lowest first."""
        return [g for g in self.groups(task, model) if g.ok]

    def top(self, task: str, model: str) -> Group | None:
        """The model's highest budget with a result (its failures there included)."""
        ladder = self.ladder(task, model)
        return ladder[-1] if ladder else None

    def best(
        self, task: str, family: str, metric: str, exclude: Iterable[str] = ()
    ) -> Group | None:
        """The family's best model on `metric` at its top budget (None when none reported it)."""
        sign = 1.0 if lower_is_better(metric) else -1.0
        scored = []
        for model in self.models(task, family):
            group = self.top(task, model)
            if model in exclude or group is None:
                continue
            values = group.metric(metric)
            if values:
                scored.append((sign * Stat.of(list(values.values())).mean, model, group))
        return min(scored, key=lambda s: s[:2])[2] if scored else None

    def best_ladder(
        self, task: str, family: str, metric: str, exclude: Iterable[str] = ()
    ) -> list[Group]:
        """The budgets (with `metric`) of the family's best model at its top budget among those
        that ran at two budgets or more, lowest first ([] when none did)."""
        climbed = [
            m
            for m in self.models(task, family)
            if len([g for g in self.ladder(task, m) if g.metric(metric)]) > 1
        ]
        others = [m for m in self.models(task, family) if m not in climbed]
        best = self.best(task, family, metric, exclude=[*exclude, *others])
        if best is None:
            return []
        return [g for g in self.ladder(task, best.model) if g.metric(metric)]

    def evidence_budget(self, task: str) -> float:
        """Seconds from which the task's units count (0: every budget counts)."""
        return self.evidence.get(task, 0.0)

    def reaches(self, group: Group) -> bool:
        """The group's budget reaches its task's evidence budget (always, for untrained ones)."""
        return not group.learned or group.budget_s >= self.evidence_budget(group.task)


def direction(a: Mapping[int, float], b: Mapping[int, float], lower: bool) -> tuple[int, str]:
    """Which side is better, +1 (`a`), -1 (`b`) or 0 (unsettled), and how that was settled.

    Seeds are paired (a side with a single value, a deterministic baseline, is set against every
    seed of the other); the direction is settled when every pair agrees, or when the means lie
    more than `SE_FACTOR` standard errors apart (se = sqrt(s_a^2 / n_a + s_b^2 / n_b)).

    Args:
        a, b: seed -> value.
        lower: lower values are better.
    """
    if not a or not b:
        return 0, "a side has no value"
    sign = 1.0 if lower else -1.0
    if len(b) == 1 and len(a) > 1:
        (only,) = b.values()
        pairs = [(x, only) for x in a.values()]
    elif len(a) == 1 and len(b) > 1:
        (only,) = a.values()
        pairs = [(only, y) for y in b.values()]
    else:
        pairs = [(a[s], b[s]) for s in sorted(a.keys() & b.keys())]
    gaps = [sign * (y - x) for x, y in pairs]  # > 0: a is better on that seed
    if gaps and all(g > 0 for g in gaps):
        return 1, f"every seed agrees ({len(gaps)} of {len(gaps)})"
    if gaps and all(g < 0 for g in gaps):
        return -1, f"every seed agrees ({len(gaps)} of {len(gaps)})"
    sa, sb = Stat.of(list(a.values())), Stat.of(list(b.values()))
    assert sa is not None and sb is not None
    se = math.sqrt(sa.std**2 / sa.n + sb.std**2 / sb.n)
    gap = sign * (sb.mean - sa.mean)
    if se > 0 and abs(gap) > SE_FACTOR * se:
        return (1 if gap > 0 else -1), f"{abs(gap) / se:.1f} standard errors apart"
    if not gaps or all(g == 0 for g in gaps):
        return 0, "no difference"
    return 0, f"the seeds disagree and the means lie within {SE_FACTOR:g} standard errors"
