"""`runs/<id>/report.md` and a self-contained `report.html`, computed from `results.jsonl`.

    paths = write_report(Path("runs/20260101-120000"))

0. The scorecard: the article's claims C1-C10 (`diffrnn.bench.scorecard`), one row each with its
   verdict, numbers and why, the committed reference run's verdict beside it; in the HTML also
   one coloured tile per claim, on the first screen.
1. The comparison: rows are aspects (training cost, quality, inference speed, long sequences,
   memory), columns are families, each row with a verdict computed from the numbers; then the
   same aspects task by task, and one line for every family without a result on a task.
   Its verdict cells follow the scorecard's budget rule: where a task's units trained below its
   evidence budget the numbers stay and the verdict says "not evidence at these budgets".
2. Per-task tables, mean ± std over seeds, with the task's published anchors beside ours.
3. Plots: quality against training CPU seconds where a model ran at several budgets (ladders),
   quality against inference time (Pareto) per task, training curves, every other curve the units
   returned, and their artefacts (sample grids, fan charts, audio).
4. With `--data`: what was inferred about the user's file, and which family to pick for it.
A family is represented on a task by its best model there (on the primary metric); the training,
speed and memory cells describe that same model.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffrnn.bench.aggregate import (
    ModelResult,
    Rung,
    Stat,
    TaskInfo,
    best_of_family,
    collect,
    ladder_points,
    numeric,
    task_infos,
)
from diffrnn.bench.document import (
    Block,
    Bullets,
    Heading,
    Media,
    Paragraph,
    Table,
    Tile,
    Tiles,
    Tone,
    to_html,
    to_markdown,
)
from diffrnn.bench.provenance import describe_codes
from diffrnn.bench.registry import ALL_FAMILIES, FAMILIES
from diffrnn.bench.results import RESULTS_FILE, latest_by_unit, read_records
from diffrnn.bench.rules import (
    MIN_SEEDS,
    NOT_EVIDENCE,
    Runs,
    evidence_budgets,
    short_of_evidence,
)
from diffrnn.bench.runner import invocations, read_run_info
from diffrnn.bench.scorecard import (
    CLAIMS,
    CONDITIONAL,
    NOT_YET_RUN,
    VERDICTS,
    Claim,
    ClaimResult,
    Verdict,
    load_reference,
    score_runs,
)
from diffrnn.bench.verdicts import (
    LEARNED,
    PerTask,
    fmt,
    fmt_count,
    fmt_seconds,
    fmt_stat,
    gradient_verdict,
    long_range_verdict,
    mean_of,
    pairwise_ratio,
    pairwise_wins,
    rank_verdict,
    speed_verdict,
    training_verdict,
)
from diffrnn.errors import ConfigError
from diffrnn.fileio import atomic_write_texts
from diffrnn.paths import file_inside

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
PLOTS_DIR = "plots"
USER_DATASET = "user:--data"
"""The dataset of every task built from the user's `--data` (each ends with a recommendation)."""
TRAINING_CURVES = ("train_loss", "val_loss")
CLOSE_QUALITY = 0.02
"""A family within this relative margin of the best counts as good as the best (recommendation)."""
SLOWEST = 5
"""Units listed as the slowest in the report's header (what to trim when a suite runs long)."""


@dataclass(frozen=True)
class ReportPaths:
    """Where the report was written."""

    markdown: Path
    html: Path


def _train(m: ModelResult) -> float | None:
    return mean_of(m, "train_seconds")


def _infer(m: ModelResult) -> float | None:
    return mean_of(m, "infer_seconds_per_sample")


def _rss(m: ModelResult) -> float | None:
    """Peak resident memory the unit added above its process's start (the preloaded libraries
    are shared by every unit, so this is the model's own: data, weights, activations)."""
    s = m.stat(lambda r: r["peak_rss_mb"] - (r["start_rss_mb"] or 0) if r["peak_rss_mb"] else None)
    return s.mean if s else None


def _params(m: ModelResult) -> float | None:
    return mean_of(m, "params")


def _per_sample(seconds: float | None) -> str:
    return f"{fmt_seconds(seconds)}/sample" if seconds is not None else "not measured"


def _quality_text(m: ModelResult) -> str:
    """The primary metric, or what the model reported instead when it lacks it."""
    if (s := m.metric(m.task.primary)) is not None:
        return fmt_stat(s)
    other = [f"{k} {fmt_stat(m.metric(k))}" for k in m.task.metrics if m.metric(k) is not None]
    return f"no {m.task.primary}" + (f" ({', '.join(other)})" if other else "")


def _rss_cell(m: ModelResult) -> str:
    peak = mean_of(m, "peak_rss_mb")
    return f"{peak:.0f} (+{_rss(m) or 0:.0f})" if peak else "—"


def grad_decay(m: ModelResult) -> tuple[float, int] | None:
    """(gradient norm at the longest lag / at lag 0, that lag), from the lowest seed's curve."""
    record = m.first_ok()
    if record is None:
        return None
    curves = [
        c
        for n, c in sorted(record["curves"].items())
        if n.startswith("grad_norm_vs_lag") and "init" not in n  # after training, not at init
    ]
    if not curves:
        return None
    curve = max(curves, key=lambda c: len(c["y"]))
    if len(curve["y"]) < 2 or not curve["y"][0]:
        return None
    return curve["y"][-1] / curve["y"][0], int(curve["x"][-1])


def _pass_text(m: ModelResult) -> str:
    longest, pattern = m.longest_pass()
    if not pattern:
        return f"{m.model}: no pass/fail"
    marks = " ".join(f"{t}{'✓' if ok else '✗'}" for t, ok in pattern)
    return f"{m.model}: {f'T ≤ {longest}' if longest else 'none'} ({marks})"


# ---- 0. the scorecard ------------------------------------------------------------------------

TONES: dict[Verdict, Tone] = {
    "holds": "good",
    "refuted": "bad",
    "mixed": "mixed",
    "not enough evidence": "open",
    "not evidence at these budgets": "muted",
}


BELOW = "below the evidence budget: "
"""How a headline below the evidence budget starts (its verdict already says so)."""


@dataclass(frozen=True)
class _Reference:
    """A claim's verdict in the committed reference run, as the scorecard shows it.

    Attributes:
        verdict: "reference: holds" (or "reference: not yet run", "... not scored").
        headlines: its deciding findings (without "below the evidence budget: ").
        tone: the verdict's colour.
    """

    verdict: str
    headlines: tuple[str, ...]
    tone: Tone

    def text(self) -> str:
        """'reference: holds (fd: ddpm 8.9 ± 2.4 vs ...)', the table's cell."""
        return self.verdict + (f" ({'; '.join(self.headlines)})" if self.headlines else "")


def _reference(reference: dict[str, Any] | None, claim: str) -> _Reference:
    entry = (reference or {}).get("claims", {}).get(claim)
    if entry is None:
        return _Reference(
            NOT_YET_RUN if reference is None else "reference: not scored", (), "muted"
        )
    headlines = entry.get("headlines") or ([entry["headline"]] if entry.get("headline") else [])
    shown = tuple(h.removeprefix(BELOW) for h in headlines)
    return _Reference(f"reference: {entry['verdict']}", shown, TONES.get(entry["verdict"], "muted"))


def _tile(result: ClaimResult, claim: Claim, ref: _Reference) -> Tile:
    """The claim's card: its deciding findings one per line, the reference's below (or, below
    the evidence budget, the reference's verdict leads and this run's gap is the foot note)."""
    same = ref.verdict == f"reference: {result.verdict}" and ref.headlines == tuple(
        h.removeprefix(BELOW) for h in result.headlines
    )
    if result.verdict == NOT_EVIDENCE:  # nothing to read here: the reference leads
        lead, findings = ref.verdict, ref.headlines
        note = "this run: the same" if same else f"this run: {result.headline}"
        return Tile(
            result.claim,
            claim.text,
            result.verdict,
            lead,
            "muted",
            note,
            value_tone=ref.tone,
            findings=findings,
        )
    several = len(result.headlines) > 1 or (result.tally and not result.tally.startswith("1 of 1 "))
    if several:
        lead, findings = result.tally or "", result.headlines
    else:
        lead, findings = result.headline, ()
    note = f"{ref.verdict}: the same numbers" if same else ref.text()
    return Tile(
        result.claim,
        claim.text,
        result.verdict,
        lead,
        TONES[result.verdict],
        note,
        ref.tone,
        findings=findings,
    )


def scorecard_section(card: list[ClaimResult], reference: dict[str, Any] | None) -> list[Block]:
    """The claims C1-C10: tiles (HTML), then one table row per claim with the reference beside."""
    claims = {c.id: c for c in CLAIMS}
    tiles, rows = [], []
    for result in card:
        claim = claims[result.claim]
        ref = _reference(reference, result.claim)
        tiles.append(_tile(result, claim, ref))
        why = result.why + (f". To decide: {result.decide}" if result.decide else "")
        rows.append(
            (
                f"{result.claim}: {claim.text}",
                claim.reads,
                result.verdict,
                "; ".join(result.numbers) or "—",
                why,
                ref.text(),
            )
        )
    if reference is None:
        source = "No reference run is committed yet: its column says so."
    else:
        commit = reference.get("commit") or "unknown commit"
        source = (  # its command is in its run.json
            f"The reference column is the committed run {reference.get('run')} ({commit})."
        )
    rules = (
        f"Each claim of the article is scored from this run's records. A verdict needs at least "
        f"{MIN_SEEDS} seeds of every model it reads and a difference every seed agrees on (or "
        "one beyond 2 standard errors), from units whose budget reaches the task's evidence "
        f'budget; below it the row says "{NOT_EVIDENCE}" and its numbers are not read as a '
        f"verdict. {source}"
    )
    return [
        Heading("Scorecard: the article's claims"),
        Paragraph(rules),
        Tiles(tuple(tiles), tuple((v, TONES[v]) for v in VERDICTS)),
        Table(
            (
                "claim",
                "tasks / metric",
                "verdict",
                "numbers (mean ± std over seeds)",
                "why",
                "reference verdict",
            ),
            tuple(rows),
            caption="The claims, scored",
        ),
    ]


# ---- 1. the comparison -----------------------------------------------------------------------


def _evidence_gap(
    task: str, models: Iterable[ModelResult], evidence: Mapping[str, float]
) -> str | None:
    """ "not evidence at these budgets (...)" when a learned model of `task` trained below its
    evidence budget."""
    budgets = [
        r["budget_s"]
        for m in models
        if m.family in LEARNED
        for r in m.ok
        if r.get("budget_s") is not None
    ]
    return short_of_evidence(task, budgets, evidence)


@dataclass(frozen=True)
class Scope:
    """What every aspect reads: each family's best model per task, the long-range tasks, and the
    tasks whose learned units trained below their evidence budget.

    Attributes:
        per_task: task -> family -> that family's best model on it.
        long_tasks: long-range task -> model -> its result.
        gaps: task -> "not evidence at these budgets (...)", for the tasks short of evidence.
    """

    per_task: PerTask
    long_tasks: dict[str, dict[str, ModelResult]]
    gaps: dict[str, str]

    @property
    def quality(self) -> PerTask:
        """`per_task` without the long-range tasks (their quality is pass/fail by length)."""
        return {t: c for t, c in self.per_task.items() if c and t not in self.long_tasks}

    @property
    def counted(self) -> PerTask:
        """`per_task` without the tasks short of evidence: what the summary verdicts count."""
        return {t: c for t, c in self.per_task.items() if t not in self.gaps}

    @property
    def counted_quality(self) -> PerTask:
        return {t: c for t, c in self.quality.items() if t not in self.gaps}


@dataclass(frozen=True)
class AspectRow:
    """One row of the by-task table: an aspect on a task, a cell per family, a verdict."""

    aspect: str
    task: str
    cells: dict[str, str]
    verdict: str
    label: str = ""  # the task column's text (default: the task's name)


Summary = tuple[dict[str, str], list[str]]
"""An aspect over all tasks: a cell per family and the verdict's lines."""


@dataclass(frozen=True)
class Aspect:
    """An aspect of the comparison: its row over all tasks and its rows task by task."""

    name: str
    summary: Callable[[Scope], Summary]
    rows: Callable[[Scope], list[AspectRow]]


def _median_cells(
    per_task: PerTask, get: Callable[[ModelResult], float | None], show: Callable[[float], str]
) -> dict[str, str]:
    cells = {}
    for family in FAMILIES:
        values = [v for c in per_task.values() if family in c and (v := get(c[family])) is not None]
        n = len(values)
        cells[family] = (
            f"median {show(statistics.median(values))} ({n} task{'s' * (n > 1)})" if n else "—"
        )
    return cells


def _model_rows(
    scope: Scope,
    aspect: str,
    cell: Callable[[ModelResult], str],
    verdict: Callable[[dict[str, ModelResult]], str],
) -> list[AspectRow]:
    """A row per task: each family's best model with its `cell`, and the task's `verdict`."""
    return [
        AspectRow(aspect, t, {f: f"{m.model}: {cell(m)}" for f, m in cells.items()}, verdict(cells))
        for t, cells in scope.per_task.items()
    ]


# training cost: seconds and parameters of each family's best model


def _training_summary(scope: Scope) -> Summary:
    cells = _median_cells(scope.per_task, _train, fmt_seconds)
    for family in FAMILIES:
        counts = [
            p
            for c in scope.per_task.values()
            if family in c and (p := _params(c[family])) is not None
        ]
        if counts:
            cells[family] += f", {fmt_count(statistics.median(counts))} params"
    return cells, pairwise_ratio(scope.counted, _train, "cheaper to train")


def _training_rows(scope: Scope) -> list[AspectRow]:
    def cell(m: ModelResult) -> str:
        return f"{fmt_seconds(_train(m))}, {fmt_count(_params(m))} params"

    return _model_rows(scope, "training cost", cell, training_verdict)


# quality: the task's primary metric (long-range tasks excepted)


def _quality_summary(scope: Scope) -> Summary:
    wins = dict.fromkeys(FAMILIES, 0)
    shared = dict.fromkeys(FAMILIES, 0)
    for cells in scope.counted_quality.values():
        scored = {f: m.quality for f, m in cells.items() if m.quality is not None}
        if len(scored) < 2:
            continue
        lower = next(iter(cells.values())).task.lower_is_better
        wins[(min if lower else max)(scored, key=scored.__getitem__)] += 1
        for family in scored:
            shared[family] += 1
    cells_out = {
        f: f"best on {wins[f]} of {shared[f]} shared task(s)" if shared[f] else "—"
        for f in FAMILIES
    }
    return cells_out, pairwise_wins(scope.counted_quality)


def _quality_verdict(cells: dict[str, ModelResult]) -> str:
    task = _task_of(cells)
    values = {f: m.quality for f, m in cells.items() if m.quality is not None}
    if len(values) == 1 and len(cells) > 1:
        ((only, value),) = values.items()
        return f"only {only} reports {task.primary} ({fmt(value)})"
    return rank_verdict(values, task.lower_is_better, task.primary)


def _quality_rows(scope: Scope) -> list[AspectRow]:
    rows = []
    for t, cells in scope.quality.items():
        task = _task_of(cells)
        text = {f: f"{m.model}: {_quality_text(m)}" for f, m in cells.items()}
        label = f"{t} ({task.primary} {'↓' if task.lower_is_better else '↑'})"
        rows.append(AspectRow("quality", t, text, _quality_verdict(cells), label))
    return rows


# inference speed: seconds per sample


def _speed_summary(scope: Scope) -> Summary:
    cells = _median_cells(scope.per_task, _infer, lambda v: f"{fmt_seconds(v)}/sample")
    return cells, pairwise_ratio(scope.counted, _infer, "faster to sample")


def _speed_verdict(cells: dict[str, ModelResult]) -> str:
    values = {f: v for f, m in cells.items() if (v := _infer(m)) is not None}
    return speed_verdict(values, "per sample")


def _speed_rows(scope: Scope) -> list[AspectRow]:
    return _model_rows(scope, "inference speed", lambda m: _per_sample(_infer(m)), _speed_verdict)


# long sequences: the longest length each model passes, and its gradient across the lags


def _long_summary(scope: Scope) -> Summary:
    cells = {}
    for family in FAMILIES:
        parts = []
        for task, models in scope.long_tasks.items():
            ranked = [m for m in models.values() if m.family == family and m.ok]
            if ranked:
                best = best_of_family(models, family)
                longest = best.longest_pass()[0] if best else None
                parts.append(f"{task}: {f'T ≤ {longest}' if longest else 'none'} ({best.model})")
        cells[family] = "; ".join(parts) or "—"
    lines = [
        f"{t}: {long_range_verdict(list(ms.values()))}"
        for t, ms in scope.long_tasks.items()
        if t not in scope.gaps
    ]
    return cells, lines


def _by_family(text: dict[str, str]) -> dict[str, str]:
    return {f: v for f, v in text.items() if v}


def _long_rows(scope: Scope) -> list[AspectRow]:
    rows = []
    for t, models in scope.long_tasks.items():
        ran = [m for m in models.values() if m.ok]
        text = {f: "; ".join(_pass_text(m) for m in ran if m.family == f) for f in FAMILIES}
        verdict = long_range_verdict(ran)
        rows.append(AspectRow("long sequences: pass/fail vs T", t, _by_family(text), verdict))
        decays = {m.model: d for m in ran if (d := grad_decay(m))}
        if decays:
            text = {
                f: "; ".join(
                    f"{m}: ×{d[0]:.2g} over {d[1]} lags"
                    for m, d in decays.items()
                    if models[m].family == f
                )
                for f in FAMILIES
            }
            aspect, verdict = "long sequences: gradient vs lag", gradient_verdict(decays)
            rows.append(AspectRow(aspect, t, _by_family(text), verdict))
    return rows


# memory: peak resident memory a unit added


def _memory_summary(scope: Scope) -> Summary:
    cells = _median_cells(scope.per_task, _rss, lambda v: f"{v:.0f} MB added RSS")
    return cells, pairwise_ratio(scope.counted, _rss, "less peak memory")


def _memory_verdict(cells: dict[str, ModelResult]) -> str:
    learned = {f: v for f, m in cells.items() if f in LEARNED and (v := _rss(m)) is not None}
    if not learned:
        return "no learned family ran"
    return rank_verdict(learned, True, "added memory", " MB")


def _memory_rows(scope: Scope) -> list[AspectRow]:
    return _model_rows(scope, "memory", lambda m: f"+{_rss(m) or 0:.0f} MB", _memory_verdict)


ASPECT_TABLE: tuple[Aspect, ...] = (
    Aspect("training cost", _training_summary, _training_rows),
    Aspect("quality", _quality_summary, _quality_rows),
    Aspect("inference speed", _speed_summary, _speed_rows),
    Aspect("long sequences", _long_summary, _long_rows),
    Aspect("memory", _memory_summary, _memory_rows),
)
ASPECTS = tuple(aspect.name for aspect in ASPECT_TABLE)


def comparison_scope(
    per_task_models: dict[str, dict[str, ModelResult]], evidence: Mapping[str, float]
) -> Scope:
    """Each family's best model per task, the long-range tasks and the evidence gaps."""
    return Scope(
        per_task={
            task: cells
            for task, models in per_task_models.items()
            if (cells := {f: b for f in FAMILIES if (b := best_of_family(models, f))})
        },
        long_tasks={t: ms for t, ms in per_task_models.items() if ms and _task_of(ms).long_range},
        gaps={
            t: gap
            for t, models in per_task_models.items()
            if (gap := _evidence_gap(t, models.values(), evidence))
        },
    )


def comparison(
    per_task_models: dict[str, dict[str, ModelResult]], evidence: Mapping[str, float]
) -> list[Block]:
    """The comparison table by aspect x family, then by aspect x task x family: a row per
    `ASPECT_TABLE` entry, then every entry's rows task by task.

    Args:
        evidence: task -> evidence budget; a verdict cell of a task whose learned units trained
            below it says so instead, and the summary verdicts count only the other tasks.
    """
    scope = comparison_scope(per_task_models, evidence)
    if scope.per_task and not scope.counted:
        no_lines = f"{NOT_EVIDENCE}: no task reached its evidence budget"
    else:
        no_lines = "too few families to compare"
    gaps = scope.gaps
    skipped = f" (not counted, below their evidence budget: {', '.join(gaps)})" if gaps else ""
    summary_rows = []
    for aspect in ASPECT_TABLE:
        cells, lines = aspect.summary(scope)
        verdict = "; ".join(lines) + skipped if lines else no_lines
        summary_rows.append((aspect.name, *(cells[f] for f in FAMILIES), verdict))
    task_rows = [
        (
            row.aspect,
            row.label or row.task,
            *(row.cells.get(f, "no result") for f in FAMILIES),
            gaps.get(row.task, row.verdict),
        )
        for aspect in ASPECT_TABLE
        for row in aspect.rows(scope)
    ]
    return [
        Heading("The comparison"),
        Paragraph(
            "Each family is represented on a task by its best model there (on the task's primary "
            "metric); the training, speed and memory numbers describe that same model. Memory is "
            "the peak resident memory a unit added above its process's start (every unit starts "
            "from the same preloaded libraries). Verdicts are computed from the numbers, not "
            "written in advance, and only where the units trained for at least the task's "
            f'evidence budget; elsewhere they say "{NOT_EVIDENCE}" and the numbers stay.'
        ),
        Table(
            ("aspect", *FAMILIES, "verdict"),
            tuple(summary_rows),
            caption="By aspect, over all tasks of this run",
        ),
        Table(
            ("aspect", "task", *FAMILIES, "verdict"), tuple(task_rows), caption="By aspect and task"
        ),
    ]


def _task_of(models: dict[str, ModelResult]) -> TaskInfo:
    return next(iter(models.values())).task


def missing_lines(
    per_task_models: dict[str, dict[str, ModelResult]], tasks: dict[str, TaskInfo]
) -> list[str]:
    """One line for every (task, family) without a result, saying why."""
    lines = []
    for name, task in tasks.items():
        models = per_task_models.get(name, {})
        if not models and not task.registered:
            lines.append(f"no family has a result on {name}: no model is registered on it yet.")
            continue
        for family in FAMILIES:
            if any(m.family == family and m.ok for m in models.values()):
                continue
            ran = [m for m in models.values() if m.family == family]
            registered = sorted(m for m, f in task.registered.items() if f == family)
            if ran:
                errors = "; ".join(f"{m.model}: {m.failed[0]['error']}" for m in ran)
                why = f"every run failed ({errors})"
            elif registered:
                why = f"{', '.join(registered)} registered but not run here (filtered out)"
            else:
                why = f"no {family} model is registered on this task"
            lines.append(f"{family} has no result on {name}: {why}.")
    return lines


# ---- 2. per task -----------------------------------------------------------------------------


def flatten_metric(name: str, value: Any) -> dict[str, Any]:
    """A metric's leaves by column name: {"mse": 0.1}, or {"mse[50]": ..., "mse[100]": ...} for
    per-T values, nesting as deep as the unit reported ("by_horizon[96][mae]")."""
    if not isinstance(value, dict):
        return {name: value}
    leaves: dict[str, Any] = {}
    for key in sorted(value, key=lambda k: (float(k) if _is_number(k) else math.inf, k)):
        leaves.update(flatten_metric(f"{name}[{key}]", value[key]))
    return leaves


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _metric_columns(task: TaskInfo, results: dict[str, ModelResult]) -> list[tuple[str, str]]:
    """(column, metric) for every leaf any model reported, the task's own metrics first."""
    seen = {k for m in results.values() for r in m.ok for k in r["metrics"] or {}}
    columns: dict[str, str] = {}
    for name in [*task.metrics, *sorted(seen - set(task.metrics))]:
        for m in results.values():
            for r in m.ok:
                for column, value in flatten_metric(name, (r["metrics"] or {}).get(name)).items():
                    if value is not None:
                        columns.setdefault(column, name)
    return list(columns.items())


def _metric_cell(m: ModelResult, metric: str, column: str) -> str:
    values = [
        v
        for r in m.ok
        if (v := flatten_metric(metric, (r["metrics"] or {}).get(metric)).get(column)) is not None
    ]
    if values and all(isinstance(v, bool) for v in values):
        passed = sum(values)
        return f"{passed}/{len(values)} pass" if len(values) > 1 else ("pass" if passed else "fail")
    return fmt_stat(Stat.of([v for v in map(numeric, values) if v is not None]))


def _anchor_rows(task: TaskInfo, results: dict[str, ModelResult]) -> tuple[tuple[str, ...], ...]:
    rows = []
    for a in task.anchors:
        ours = [(s.mean, m.model) for m in results.values() if (s := m.metric(a["metric"]))]
        best = (min if task.lower_is_better else max)(ours) if ours else None
        cell = f"{best[1]}: {fmt(best[0])}" if best else "—"
        rows.append((a["model"], a["metric"], str(a["value"]), a["source"], cell))
    return tuple(rows)


def task_section(
    task: TaskInfo,
    results: dict[str, ModelResult],
    run_dir: Path,
    ladders: dict[str, list[Rung]] | None = None,
) -> list[Block]:
    """A task's table (mean ± std over seeds), anchors beside ours, notes, failures and plots
    (first the compute ladders, `aggregate.ladder_points` of the task, when models ran at
    several budgets)."""
    direction = "lower" if task.lower_is_better else "higher"
    blocks: list[Block] = [
        Heading(task.name, 3),
        Paragraph(
            f"{task.description} Dataset: {task.dataset}; primary metric {task.primary} "
            f"({direction} is better)."
        ),
    ]
    if not results:
        return [*blocks, Paragraph("No unit of this task ran.")]
    order = sorted(results.values(), key=lambda m: (ALL_FAMILIES.index(m.family), m.model))
    columns = _metric_columns(task, results)
    rows = []
    for m in order:
        throughput = m.stat(lambda r: r["throughput"])
        unit = m.ok[0]["throughput_unit"] if m.ok else ""
        rows.append(
            (
                m.model,
                m.family,
                f"{len(m.ok)}" + (f" (+{len(m.failed)} failed)" if m.failed else ""),
                *(_metric_cell(m, metric, column) for column, metric in columns),
                fmt_count(_params(m)),
                fmt_stat(m.stat(lambda r: r["train_seconds"])),
                fmt_stat(m.stat(lambda r: r["infer_seconds_per_sample"])),
                f"{fmt(throughput.mean)} {unit}" if throughput else "—",
                fmt(mean_of(m, "sampler_steps")),
                _rss_cell(m),
            )
        )
    headers = (
        "model",
        "family",
        "seeds",
        *(column for column, _ in columns),
        "params",
        "train s",
        "infer s/sample",
        "throughput",
        "sampler steps",
        "peak RSS MB (added)",
    )
    blocks.append(Table(headers, tuple(rows), caption="mean ± std over seeds"))
    if task.anchors:
        blocks.append(
            Table(
                ("anchor", "metric", "value", "source", "ours (best model)"),
                _anchor_rows(task, results),
                caption="Published and peer numbers beside ours",
            )
        )
    notes = list(dict.fromkeys(f"{m.model}: {n}" for m in order for r in m.ok for n in r["notes"]))
    if notes:
        blocks.append(Bullets(tuple(notes)))
    failures = [f"{m.model} seed {r['seed']}: {r['error']}" for m in order for r in m.failed]
    if failures:
        blocks += [Paragraph("Failed units:"), Bullets(tuple(failures))]
    ladder = _ladder_plot(task, ladders, results, run_dir) if ladders else []
    return blocks + ladder + _task_plots(task, order, run_dir)


# ---- 3. plots --------------------------------------------------------------------------------


def ladder_lines(
    task: TaskInfo, ladders: dict[str, list[Rung]], results: dict[str, ModelResult]
) -> list[Any]:
    """Each learned family's best model among those run at several budgets (best at its top
    rung, class-conditional models left out as in claim C1), as a `plots.Ladder`: mean training
    CPU seconds and mean ± std of the primary metric over seeds at each budget."""
    from diffrnn.plots import Ladder

    sign = 1.0 if task.lower_is_better else -1.0
    lines = []
    for family in LEARNED:
        climbed = {
            model: rungs
            for model, rungs in ladders.items()
            if model in results and results[model].family == family and model not in CONDITIONAL
        }
        if not climbed:
            continue
        model = min(climbed, key=lambda m: (sign * statistics.fmean(climbed[m][-1].values), m))
        stats = [(Stat.of(r.values), Stat.of(r.cpu_seconds)) for r in climbed[model]]
        lines.append(
            Ladder(
                model,
                family,
                [seconds.mean for _, seconds in stats if seconds],
                [quality.mean for quality, _ in stats if quality],
                [quality.std for quality, _ in stats if quality],
            )
        )
    return lines


def _ladder_plot(
    task: TaskInfo, ladders: dict[str, list[Rung]], results: dict[str, ModelResult], run_dir: Path
) -> list[Block]:
    from diffrnn import plots

    lines = ladder_lines(task, ladders, results)
    if not lines or task.long_range:
        return []
    untrained = [
        (best.model, family, best.quality)
        for family in ("baseline", "reference")
        if (best := best_of_family(results, family)) and best.quality is not None
    ]
    path = plots.ladder_plot(
        lines,
        untrained,
        task.primary,
        task.lower_is_better,
        f"{task.name}: quality against training cost",
        run_dir / PLOTS_DIR / f"{task.name}-ladder.png",
    )
    title = (
        f"{task.name}: {task.primary} against training CPU seconds, each family's best model "
        "at every budget (mean, band ± std over seeds); dotted: models that do not train"
    )
    return [Media(title, str(path.relative_to(run_dir)))]


def _file_name(text: str) -> str:
    """A curve's name as a file name (a unit may name a curve anything)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "curve"


def _task_plots(task: TaskInfo, order: list[ModelResult], run_dir: Path) -> list[Block]:
    from diffrnn import plots

    folder = run_dir / PLOTS_DIR
    blocks: list[Block] = []

    def media(title: str, path: Path) -> None:
        blocks.append(Media(title, str(path.relative_to(run_dir))))

    points = [
        plots.Point(m.model, m.family, s, q)
        for m in order
        if (s := _infer(m)) and s > 0 and (q := m.quality) is not None
    ]
    if points and not task.long_range:
        path = plots.pareto_plot(
            points,
            task.primary,
            task.lower_is_better,
            f"{task.name}: quality vs inference time",
            folder / f"{task.name}-pareto.png",
        )
        media(f"{task.name}: {task.primary} against inference seconds per sample", path)
    firsts = [(m, r) for m in order if (r := m.first_ok()) is not None]
    training = [
        plots.Series(m.model, m.family, c["x"], c["y"], dashed=name == "val_loss")
        for m, r in firsts
        for name in TRAINING_CURVES
        if (c := r["curves"].get(name))
    ]
    if training:
        path = plots.curves_plot(
            training,
            f"{task.name}: training curves",
            "step",
            "loss",
            folder / f"{task.name}-training.png",
        )
        media(f"{task.name}: training loss (solid) and validation loss (dashed), seed 0", path)
    names = dict.fromkeys(n for _, r in firsts for n in r["curves"] if n not in TRAINING_CURVES)
    for name in names:
        ylabel, _, xlabel = name.partition("_vs_")
        series = [
            plots.Series(m.model, m.family, c["x"], c["y"])
            for m, r in firsts
            if (c := r["curves"].get(name))
        ]
        path = plots.curves_plot(
            series,
            f"{task.name}: {name}",
            xlabel or "x",
            ylabel,
            folder / f"{task.name}-{_file_name(name)}.png",
        )
        media(f"{task.name}: {name}", path)
    for m, r in firsts:
        for name, rel in r["artefacts"].items():
            path = Path(r["out_dir"]) / rel
            if file_inside(run_dir, path):  # a link out of the run is never shown nor inlined
                blocks.append(Media(f"{m.model} (seed {r['seed']}): {name}", str(path)))
    return blocks


# ---- 4. the user's data ----------------------------------------------------------------------


def recommendation(
    results: dict[str, ModelResult], task: TaskInfo, named: bool = False
) -> list[Block]:
    """Which family to pick for the user's data, how sure that is, and why (bench/recommend.py);
    `named`: the heading names the task (a run of several tasks of the user's data)."""
    from diffrnn.bench.recommend import recommend

    rec = recommend(results, task, close=CLOSE_QUALITY)
    heading = "Recommendation for your data" + (f": {task.name}" if named else "")
    blocks: list[Block] = [Heading(heading)]
    if rec.pick is None:
        return [
            *blocks,
            Paragraph("No model produced a score on your data; see the failures above."),
        ]
    return [*blocks, Paragraph(rec.headline, emphasis=True), Bullets(rec.details)]


# ---- the document ----------------------------------------------------------------------------


UNSPENT_SHARE = 0.8
"""A unit that stopped at its step cap having trained under this share of its budget is named
in the header: the user's `--budget` was not what bought its result."""


def _unspent(records: list[dict[str, Any]]) -> str:
    """The header line naming units that stopped at their step cap well inside their budget."""
    capped = [
        r
        for r in records
        if r["status"] == "ok"
        and r.get("stopped_by") == "step_cap"
        and isinstance(r.get("budget_s"), int | float)
        and isinstance(r.get("train_seconds"), int | float)
        and r["train_seconds"] < UNSPENT_SHARE * r["budget_s"]
    ]
    if not capped:
        return ""
    shown = ", ".join(
        f"{r['task']}/{r['model']} {r.get('steps') or '?'} steps in "
        f"{fmt_seconds(r['train_seconds'])} of {fmt_seconds(r['budget_s'])}"
        for r in capped[:SLOWEST]
    )
    more = f" and {len(capped) - SLOWEST} more" if len(capped) > SLOWEST else ""
    return (
        f"stopped at their recipe's step cap before the budget was spent ({len(capped)} "
        f"unit{'s' * (len(capped) > 1)}): {shown}{more}"
    )


def _header(run_info: dict[str, Any], records: list[dict[str, Any]]) -> list[Block]:
    ok = sum(r["status"] == "ok" for r in records)
    cpus = sorted({r["host"]["cpu"] for r in records if r.get("host") and r["host"].get("cpu")})
    jobs = run_info.get("jobs") or 1
    suite = f"suite: {run_info.get('suite', '?')}: {run_info.get('suite_description', '')}"
    if run_info.get("budget_override_s") is not None or run_info.get("budgets_override_s"):
        suite = f"suite: {run_info.get('suite', '?')}, its budgets replaced by the command's"
    by_budget: dict[float, list[str]] = {}
    for r in records:
        if isinstance(r.get("budget_s"), int | float):
            by_budget.setdefault(r["budget_s"], []).append(r["task"])
    budgets = [
        f"{b:g} s" + (f" ({', '.join(dict.fromkeys(t))})" if len(by_budget) > 1 else "")
        for b, t in sorted(by_budget.items())
    ]
    commands = [f"command: {run_info.get('command', 'unknown')}"]
    runs = invocations(run_info)
    if len({r.get("command") for r in runs}) > 1:  # a resume that narrowed or changed the run
        commands = [
            f"commands, in order ({len(runs)}): "
            + "; ".join(
                f"{r.get('command')} ({str(r.get('prepared_at'))[:16]}, {r.get('code')}, "
                f"{r.get('units_planned')} units planned)"
                for r in runs
            )
        ]
    lines = [
        *commands,
        suite,
        f"training budget per unit: {'; '.join(budgets) or 'unknown'}",
        f"code: {describe_codes(records)}",
        f"units: {ok} ok, {len(records) - ok} failed",
        f"wall time of the last invocation: {fmt_seconds(run_info.get('wall_seconds'))} "
        f"({run_info.get('started_at', '?')} to {run_info.get('finished_at', '?')})",
        f"machine: {', '.join(cpus) or 'unknown'}; {jobs} unit(s) at a time, "
        f"{run_info.get('threads', '?')} torch thread(s) each",
    ]
    timed = sorted(
        (r for r in records if r.get("unit_wall_seconds")), key=lambda r: -r["unit_wall_seconds"]
    )
    if timed:
        rung = len(by_budget) > 1  # a ladder runs a model at several budgets: name the rung
        slowest = ", ".join(
            f"{r['task']}/{r['model']} {r['unit_wall_seconds']:.0f} s"
            + (f" (budget {fmt_seconds(r.get('budget_s'))})" if rung else "")
            for r in timed[:SLOWEST]
        )
        lines.append(f"slowest units (wall, training and evaluation): {slowest}")
    if capped := _unspent(records):
        lines.append(capped)
    if jobs > 1:
        lines.append(
            "timings were taken with several units running at once: they include that contention"
        )
    blocks: list[Block] = [
        Heading(f"diffrnn compare: {run_info.get('suite', '')} suite", 1),
        Bullets(tuple(lines)),
    ]
    errors = run_info.get("unit_import_errors") or {}
    if errors:
        blocks += [
            Paragraph("Units modules that did not import (their models are missing):"),
            Bullets(tuple(f"{k}: {v}" for k, v in errors.items())),
        ]
    if run_info.get("user_data"):
        blocks += [
            Heading("Your data"),
            Bullets(tuple(f"{k}: {v}" for k, v in run_info["user_data"].items())),
        ]
    return blocks


def build(run_dir: Path, evidence: Mapping[str, float] | None = None) -> list[Block]:
    """The report of `run_dir` as document blocks (its plots are drawn into `run_dir/plots`).

    Args:
        evidence: task -> evidence budget in seconds (default: `evidence_budgets()`).
    """
    every = read_records(run_dir / RESULTS_FILE)
    records = list(latest_by_unit(every).values())
    if not records:
        raise ConfigError(
            f"{run_dir} holds no results ({RESULTS_FILE} is missing or empty).",
            "point `diffrnn report` at a directory written by `diffrnn compare`.",
        )
    evidence = evidence_budgets() if evidence is None else evidence
    run_info = read_run_info(run_dir)
    tasks = task_infos(run_info, records)
    per_task = collect(records, tasks)
    runs = Runs(every, evidence)
    ladders = ladder_points(every, tasks)
    header = _header(run_info, records)
    title = [b for b in header[:1] if isinstance(b, Heading) and b.level == 1]
    blocks = [
        *title,
        *scorecard_section(score_runs(runs), load_reference()),
        *header[len(title) :],
        *comparison(per_task, evidence),
    ]
    missing = missing_lines(per_task, tasks)
    if missing:
        blocks += [Paragraph("Families without a result:"), Bullets(tuple(missing))]
    else:
        blocks.append(Paragraph("Every family has a result on every task of this run."))
    blocks.append(Heading("Per task"))
    for name, task in tasks.items():
        blocks += task_section(task, per_task[name], run_dir, ladders.get(name))
    yours = [name for name, task in tasks.items() if task.dataset == USER_DATASET]
    for name in yours:
        blocks += recommendation(per_task[name], tasks[name], named=len(yours) > 1)
    return blocks


def write_report(run_dir: Path, evidence: Mapping[str, float] | None = None) -> ReportPaths:
    """Write `report.md` and the self-contained `report.html` of `run_dir` (`evidence`: task ->
    evidence budget, default `evidence_budgets()`)."""
    blocks = build(run_dir, evidence)
    md, page = run_dir / REPORT_MD, run_dir / REPORT_HTML
    html = to_html(blocks, run_dir, title=f"diffrnn compare: {run_dir.name}")
    atomic_write_texts({md: to_markdown(blocks), page: html})  # both replaced, or neither
    return ReportPaths(md, page)
