"""The article's claims C1-C10, each scored from a run's records.

    card = score(records)                 # one ClaimResult per claim, in CLAIMS order
    card[2].verdict, card[2].headline     # "holds", "fd 8.9 ± 2.4 vs 32 ± 5.3"

A claim is data: its text, what it reads (tasks and metrics), and a function from the run to
*findings*. A finding is one comparison (ddpm against the pixel LSTM on FD, the CPU seconds two
families need to reach a common quality level, a model's gradient over the lags) with its
numbers as mean ± std over seeds and an outcome: it supports the claim, contradicts it, leaves
it unclear (the seeds disagree and the means lie within two standard errors), or cannot decide
(too few seeds, a budget below the task's evidence budget, no data). The rules are those of
`diffrnn.bench.rules`. A claim's verdict follows from its deciding findings:

- holds: every one supports it; refuted: none supports it and one contradicts it;
- mixed: some support it, the others contradict it or find no difference;
- not enough evidence: nothing decides (too few seeds, no data, or no difference anywhere);
- not evidence at these budgets: nothing decides because the units trained below the evidence
  budget (the quick suite): the numbers are shown, never a verdict.

`python -m diffrnn.bench.scorecard evidence/reference` writes the committed reference run's
scorecard into the package (`reference_scorecard.json`), which every report shows beside its own.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from diffrnn.bench.aggregate import Stat
from diffrnn.bench.rules import (
    MIN_SEEDS,
    NOT_EVIDENCE,
    Group,
    Runs,
    direction,
    evidence_budgets,
    lower_is_better,
)
from diffrnn.bench.verdicts import fmt, fmt_ratio, fmt_seconds

logger = logging.getLogger(__name__)

Verdict = Literal[
    "holds", "refuted", "mixed", "not enough evidence", "not evidence at these budgets"
]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
Outcome = Literal[
    "supports", "contradicts", "unclear", "too few seeds", "below budget", "no data", "context"
]
"""A finding's outcome; "context" is a number shown beside the deciding ones, never counted."""
DECIDING: tuple[Outcome, ...] = ("supports", "contradicts", "unclear")

USER_TASK_SUFFIX = "-user"
"""Tasks built from the user's own `--data` (forecast-user, lm-user, ...) end with it."""
REFERENCE_FILE = "reference_scorecard.json"
REFERENCE_RUN = "evidence/reference"
NOT_YET_RUN = "reference: not yet run"

VANISHED_BELOW = 1e-3
"""A gradient kept below this fraction of its lag-0 norm at the longest lag has vanished."""
EXPLODED_ABOVE = 1e3
"""... and above this multiple it has exploded."""
LONG_TASKS = ("long-adding", "long-copy")
TILE_FINDINGS = 2
"""Deciding findings a claim's headline (its tile, its README row) shows at most."""
CONDITIONAL = ("ddpm-cond",)
"""Class-conditional image models: left out where the other side generates unconditionally."""
LADDER_TASKS = ("image-digits", "lm-shakespeare", "forecast-exchange", "audio-fsdd")
"""Where the reference suite climbs a budget ladder (named in what would decide C1)."""
QUALITY_TASKS = {
    "forecast-exchange": "crps_sum",
    "forecast-etth1": "mse",
    "lm-shakespeare": "nats_per_char",
    "image-digits": "fd",
    "speech-fsdd": "accuracy",
    "graph-chickenpox": "mse",
    "graph-losloop": "mae",
    "generate-etth1": "discriminative_score",
    "denoise-digits": "psnr",
    "denoise-etth1": "psnr",
    "audio-fsdd": "accuracy",
    "lm-user": "nats_per_char",
    "graph-user": "mse",
    "image-user": "fd",
    "speech-user": "accuracy",
    "audio-user": "accuracy",
    "generate-user": "discriminative_score",
    "denoise-user": "psnr",
}
"""The tasks C1, C5 and C10 read wherever both families ran, each with its primary metric (a
test keeps them equal to the registry's): data of the claims, so a report reads the same in any
process, whatever else is registered there."""
EXAMPLE_UNITS = frozenset({"examples/s", "images/s", "windows/s", "recordings/s"})
"""Throughput units that all count one example of the task (an image, a window, a recording)."""


# ---- findings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One comparison a claim reads.

    Attributes:
        what: what was compared ("image-digits fd: diffusion vs rnn").
        outcome: what it says about the claim.
        numbers: the numbers, mean ± std over seeds, with models and budgets.
        headline: the deciding number, short enough for a tile.
        note: why the outcome ("every seed agrees (3 of 3)", "trained 4 s; ...").
        decide: what would decide it, when it does not (besides `rerun`).
        rerun: (task, evidence budget) pairs whose rerun with 3 seeds at that budget would let
            it decide.
    """

    what: str
    outcome: Outcome
    numbers: str
    headline: str = ""
    note: str = ""
    decide: str = ""
    rerun: tuple[tuple[str, float], ...] = ()

    @classmethod
    def ruled(cls, what: str, numbers: str, headline: str, ruling: Ruling) -> Finding:
        """A finding whose outcome the rules gave."""
        return cls(
            what, ruling.outcome, numbers, headline, ruling.note, ruling.decide, ruling.rerun
        )


@dataclass(frozen=True)
class Ruling:
    """What the budget and seed rules make of a comparison."""

    outcome: Outcome
    note: str
    decide: str = ""
    rerun: tuple[tuple[str, float], ...] = ()


def _values_text(values: Mapping[int, float]) -> str:
    s = Stat.of(list(values.values()))
    if s is None:
        return "—"
    seeds = f"{s.n} seed{'s' * (s.n > 1)}"
    return f"{s.mean:.4g} ± {s.std:.2g} ({seeds})" if s.n > 1 else f"{s.mean:.4g} ({seeds})"


def _short(values: Mapping[int, float]) -> str:
    s = Stat.of(list(values.values()))
    if s is None:
        return "—"
    return f"{s.mean:.3g} ± {s.std:.2g}" if s.n > 1 else f"{s.mean:.3g}"


def _mean(values: Mapping[int, float]) -> float:
    return statistics.fmean(values.values())


def _rerun(tasks: Iterable[str], runs: Runs) -> tuple[tuple[str, float], ...]:
    """(task, evidence budget) for each task, once."""
    return tuple((t, runs.evidence_budget(t)) for t in dict.fromkeys(tasks))


def rerun_commands(rerun: Iterable[tuple[str, float]]) -> list[str]:
    """The commands giving these tasks 3 seeds at their evidence budgets (one per budget)."""
    pairs = list(dict.fromkeys(rerun))
    if not pairs:
        return []
    # explicit budgets: a task's evidence budget may lie above what the reference suite trains
    by_budget: dict[float, list[str]] = {}
    commands = []
    for task, budget in pairs:
        if task.endswith(USER_TASK_SUFFIX):  # built from the user's data: rerun on that data
            commands.append(
                f"`diffrnn compare --data PATH --seeds {MIN_SEEDS}` ({task}: on your data)"
            )
        else:
            by_budget.setdefault(budget, []).append(task)
    return commands + [
        f"`diffrnn compare --tasks {','.join(tasks)} --seeds {MIN_SEEDS}"
        + (f" --budget {budget:.0f}`" if budget else "`")
        for budget, tasks in by_budget.items()
    ]


def _gate(
    runs: Runs, groups: Sequence[Group], seeds_of: Callable[[Group], int] = lambda g: len(g.ok)
) -> Ruling | None:
    """What stops `groups` from deciding anything under the budget or seed rule (else None)."""
    low = [g for g in groups if not runs.reaches(g)]
    if low:
        gaps = dict.fromkeys(
            f"{g.task} trained {fmt_seconds(g.budget_s)}, counts from "
            f"{fmt_seconds(runs.evidence_budget(g.task))}"
            for g in low
        )
        return Ruling("below budget", "; ".join(gaps), rerun=_rerun((g.task for g in low), runs))
    few = [g for g in groups if g.learned and seeds_of(g) < MIN_SEEDS]
    if few:
        seeds = ", ".join(f"{g.model} {seeds_of(g)}" for g in few)
        note = f"seeds: {seeds}; a verdict needs {MIN_SEEDS}"
        return Ruling("too few seeds", note, rerun=_rerun((g.task for g in few), runs))
    return None


def _rules(runs: Runs, groups: Sequence[Group], settled: int, how: str) -> Ruling:
    """The outcome of a comparison settled as `settled` (+1 for the claim, -1 against, 0 not),
    under the budget and seed rules."""
    if (stopped := _gate(runs, groups)) is not None:
        return stopped
    if settled > 0:
        return Ruling("supports", how)
    if settled < 0:
        return Ruling("contradicts", how)
    tasks = ", ".join(dict.fromkeys(g.task for g in groups))
    return Ruling("unclear", how, f"more seeds or a longer budget on {tasks}")


@dataclass(frozen=True)
class Pick:
    """One side of a comparison: a named model, or the family's best model on the metric."""

    family: str
    model: str | None = None
    exclude: tuple[str, ...] = ()

    def choose(self, runs: Runs, task: str, metric: str) -> Group | None:
        """The group this side reads on `task` (None when it did not run)."""
        if self.model is not None:
            return runs.top(task, self.model)
        return runs.best(task, self.family, metric, self.exclude)

    def describe(self) -> str:
        """'deepar', or 'the best rnn model'."""
        return self.model or f"the best {self.family} model"


def versus(
    runs: Runs,
    task: str,
    metric: str,
    winner: Pick,
    loser: Pick,
    beside: Pick | None = None,
) -> list[Finding]:
    """The finding "`winner` beats `loser` on `metric`" (the claim's expectation), plus the
    `beside` side's numbers as context."""
    what = f"{task} {metric}: {winner.describe()} vs {loser.describe()}"
    a, b = winner.choose(runs, task, metric), loser.choose(runs, task, metric)
    if a is None or b is None:
        missing = " and ".join(p.describe() for p, g in ((winner, a), (loser, b)) if g is None)
        return [
            Finding(what, "no data", f"{missing}: no result on {task}", rerun=_rerun([task], runs))
        ]
    what = f"{task} {metric}: {a.model} ({a.family}) vs {b.model} ({b.family})"
    va, vb = a.metric(metric), b.metric(metric)
    if not va or not vb:
        silent = " and ".join(g.model for g, v in ((a, va), (b, vb)) if not v)
        return [Finding(what, "no data", f"{silent} reported no {metric}")]
    settled, how = direction(va, vb, lower_is_better(metric))
    ruling = _rules(runs, [a, b], settled, how)
    numbers = f"{what}: {_values_text(va)} vs {_values_text(vb)}"
    headline = f"{metric}: {a.model} {_short(va)} vs {b.model} {_short(vb)}"
    found = [Finding.ruled(what, numbers, headline, ruling)]
    if beside is not None and (c := beside.choose(runs, task, metric)) and (vc := c.metric(metric)):
        found.append(
            Finding(f"{task} {metric}: {c.model}", "context", f"{c.model}: {_values_text(vc)}")
        )
    return found


def _diverged(record: dict[str, Any]) -> bool:
    """A run whose training loss became non-finite (failed for it, or recorded None in a curve)."""
    if record["status"] != "ok":
        return "non-finite" in (record.get("error") or "") or "Diverged" in (
            record.get("error") or ""
        )
    curve = (record.get("curves") or {}).get("train_loss") or {}
    return any(y is None for y in curve.get("y", ()))


# ---- C1: training cost to a common quality level ---------------------------------------------


@dataclass(frozen=True)
class Cost:
    """CPU seconds a seed needed to reach a quality level, as an interval [low, high]: exact
    between two rungs (log-linear interpolation), at most the first rung's seconds when that
    already reached it, more than the last rung's when none did."""

    low: float
    high: float

    @property
    def exact(self) -> bool:
        """Low and high agree."""
        return self.low == self.high

    def text(self) -> str:
        """'120 s', '≤ 30 s', '> 480 s'."""
        if self.exact:
            return fmt_seconds(self.low)
        return f"≤ {fmt_seconds(self.high)}" if self.low == 0 else f"> {fmt_seconds(self.low)}"


def cost_to_level(rungs: Sequence[tuple[float, float]], level: float, lower: bool) -> Cost:
    """The CPU seconds to reach `level` along one seed's ladder.

    Args:
        rungs: (cpu seconds, quality) per budget, cheapest first.
        level: the quality to reach.
        lower: lower quality values are better.
    """
    sign = 1.0 if lower else -1.0
    for k, (seconds, quality) in enumerate(rungs):
        if sign * quality <= sign * level:
            if k == 0:
                return Cost(0.0, seconds)
            s0, q0 = rungs[k - 1]
            share = (q0 - level) / (q0 - quality) if q0 != quality else 1.0
            log_s = math.log(max(s0, 1e-9)) + share * (
                math.log(max(seconds, 1e-9)) - math.log(max(s0, 1e-9))
            )
            return Cost(math.exp(log_s), math.exp(log_s))
    return Cost(rungs[-1][0], math.inf)


def _ladder_model(runs: Runs, task: str, family: str, metric: str) -> list[Group] | None:
    ladder = runs.best_ladder(task, family, metric, exclude=CONDITIONAL)
    return ladder or None


def _seed_rungs(ladder: Sequence[Group], metric: str, seed: int) -> list[tuple[float, float]]:
    rungs = []
    for g in ladder:
        q, s = g.metric(metric), g.cpu_seconds()
        if seed in q and seed in s:
            rungs.append((s[seed], q[seed]))
    return rungs


def training_cost(runs: Runs, task: str, metric: str) -> list[Finding]:
    """C1 on one task: CPU seconds diffusion and rnn each need to reach the best quality level
    both reach (on the mean ladders), as a per-seed ratio diffusion / rnn."""
    lower = lower_is_better(metric)
    ladders = {f: _ladder_model(runs, task, f, metric) for f in ("diffusion", "rnn")}
    diff, rnn = ladders["diffusion"], ladders["rnn"]
    if diff is None or rnn is None:
        return []
    sign = 1.0 if lower else -1.0
    best = {f: min(sign * _mean(g.metric(metric)) for g in ladder) for f, ladder in ladders.items()}
    level = sign * max(best.values())  # the worse family's best: both reach it on average
    setter = max(best, key=best.__getitem__)  # the family whose best mean sets the level
    seeds = sorted(set.intersection(*(set(g.metric(metric)) for g in (*diff, *rnn))))
    ratios: list[tuple[float, float]] = []
    costs: dict[str, list[Cost]] = {"diffusion": [], "rnn": []}
    for seed in seeds:
        cd = cost_to_level(_seed_rungs(diff, metric, seed), level, lower)
        cr = cost_to_level(_seed_rungs(rnn, metric, seed), level, lower)
        costs["diffusion"].append(cd)
        costs["rnn"].append(cr)
        low = cd.low / cr.high if cr.high > 0 else math.inf
        high = cd.high / cr.low if cr.low > 0 else math.inf
        ratios.append((low, high))
    what = f"{task} {metric}: CPU seconds to a common level, {diff[0].model} vs {rnn[0].model}"
    if not ratios:
        return [Finding(what, "no data", f"{what}: no seed ran on every rung of both ladders")]
    above = [r[0] > 1 for r in ratios]
    below = [r[1] < 1 for r in ratios]
    exact = [math.sqrt(lo * hi) for lo, hi in ratios if lo == hi]
    if all(above):
        settled, how = 1, f"diffusion needs more in every seed ({len(ratios)} of {len(ratios)})"
    elif all(below):
        settled, how = -1, f"diffusion needs less in every seed ({len(ratios)} of {len(ratios)})"
    else:
        settled, how = 0, "the seeds disagree, or their ladders bound the ratio on both sides of 1"
        if len(exact) == len(ratios) and len(exact) > 1:
            logs = [math.log(r) for r in exact]
            se = statistics.stdev(logs) / math.sqrt(len(logs))
            if se > 0 and abs(statistics.fmean(logs)) > 2 * se:
                settled = 1 if statistics.fmean(logs) > 0 else -1
                how = f"{abs(statistics.fmean(logs)) / se:.1f} standard errors from a ratio of 1"
    ruling = _rules(runs, [diff[-1], rnn[-1]], settled, how)
    if ruling.outcome in DECIDING and len(ratios) < MIN_SEEDS:
        note = f"{len(ratios)} seed(s) ran every rung of both ladders"
        ruling = Ruling("too few seeds", note, rerun=_rerun([task], runs))

    def ratio_text(lo: float, hi: float, cd: Cost, cr: Cost) -> str:
        if lo == hi:
            return fmt_ratio(lo)
        if lo == 0 and math.isinf(hi):  # (0, inf) bounds nothing: say why
            both = "both reached it at the first rung" if cd.low == 0 else "neither reached it"
            return f"no bound ({both})"
        return f"< {fmt_ratio(hi)}" if lo == 0 else f"> {fmt_ratio(lo)}"

    per_seed = ", ".join(
        ratio_text(lo, hi, cd, cr)
        for (lo, hi), cd, cr in zip(ratios, costs["diffusion"], costs["rnn"], strict=True)
    )
    if exact:
        geo = math.exp(statistics.fmean(math.log(r) for r in exact))
        summary = f"{fmt_ratio(geo)} ({fmt_ratio(min(exact))}-{fmt_ratio(max(exact))})"
    else:
        summary = per_seed
    rungs = ", ".join(fmt_seconds(g.budget_s) for g in diff)
    numbers = (
        f"{task}: level {metric} {fmt(level)} (the {setter}'s best mean, which both reach); CPU "
        f"seconds to it: {diff[0].model} {', '.join(c.text() for c in costs['diffusion'])}, "
        f"{rnn[0].model} {', '.join(c.text() for c in costs['rnn'])}; diffusion / rnn per seed "
        f"{per_seed} (budgets {rungs})"
    )
    headline = f"diffusion/rnn CPU s to {metric} {fmt(level)}: {summary}"
    return [Finding.ruled(what, numbers, headline, ruling)]


def _primary(task: str) -> str | None:
    """The metric a task is judged on by the claims that read every task (None: not one)."""
    return QUALITY_TASKS.get(task)


def _c1(runs: Runs) -> list[Finding]:
    found = []
    for task in runs.tasks():
        if (metric := _primary(task)) is not None:
            found += training_cost(runs, task, metric)
    if not found:
        tasks = ",".join(LADDER_TASKS)
        found.append(
            Finding(
                "training cost to a common quality level",
                "no data",
                "no task has a budget ladder of both an rnn and a diffusion model",
                decide=f"ladders: `diffrnn compare --tasks {tasks} --seeds {MIN_SEEDS} "
                "--budgets 30,120,480`",
            )
        )
    return found


# ---- C2 and C4: long sequences ---------------------------------------------------------------


def _gradient_ratio(record: dict[str, Any]) -> tuple[float, int] | None:
    """(norm at the longest lag / norm at lag 0, that lag) after training, longest T's curve."""
    curves = [
        c
        for name, c in sorted((record.get("curves") or {}).items())
        if name.startswith("grad_norm_vs_lag") and "init" not in name
    ]
    if not curves:
        return None
    curve = max(curves, key=lambda c: len(c["y"]))
    ys = curve["y"]
    if len(ys) < 2 or not ys[0] or ys[-1] is None:
        return None
    return ys[-1] / ys[0], int(curve["x"][-1])


def _passes(group: Group) -> dict[int, dict[int, bool]]:
    """T -> seed -> passed."""
    out: dict[int, dict[int, bool]] = {}
    for r in group.ok:
        passed = (r["metrics"] or {}).get("passed")
        if isinstance(passed, dict):
            for t, ok in passed.items():
                out.setdefault(int(t), {})[int(r["seed"])] = bool(ok)
    return dict(sorted(out.items()))


def _pattern(group: Group) -> str:
    marks = []
    for t, seeds in _passes(group).items():
        n = sum(seeds.values())
        marks.append(f"T{t} {n}/{len(seeds)}")
    return f"passes {', '.join(marks)}" if marks else "no pass/fail"


def _c2(runs: Runs) -> list[Finding]:
    found = []
    for task in LONG_TASKS:
        for model in runs.models(task, "rnn"):
            group = runs.top(task, model)
            if group is None:
                continue
            ratios = {int(r["seed"]): g for r in group.ok if (g := _gradient_ratio(r))}
            what = f"{task}: {model}'s gradient over the lags"
            if not ratios:
                found.append(Finding(what, "no data", f"{task} {model}: no gradient curve"))
                continue
            lag = max(g[1] for g in ratios.values())
            hurt = [not (VANISHED_BELOW <= g[0] <= EXPLODED_ABOVE) for g in ratios.values()]
            if all(hurt):
                settled, how = 1, "vanished or exploded in every seed"
            elif not any(hurt):
                settled, how = -1, "kept in every seed"
            else:
                settled, how = 0, "the seeds disagree"
            ruling = _rules(runs, [group], settled, how)
            kept = ", ".join(f"×{g[0]:.2g}" for g in ratios.values())
            numbers = (
                f"{task} {model}: gradient norm at lag {lag} / lag 0 {kept} per seed; "
                f"{_pattern(group)}"
            )
            middle = statistics.median(g[0] for g in ratios.values())
            fate = (
                "vanishes"
                if middle < VANISHED_BELOW
                else "explodes"
                if middle > EXPLODED_ABOVE
                else "is kept"
            )
            headline = f"{model}: gradient {fate} (lag {lag} / lag 0 ×{middle:.1g})"
            found.append(Finding.ruled(what, numbers, headline, ruling))
    if not found:
        found.append(
            Finding(
                "gradient against lag",
                "no data",
                "no rnn model ran on long-adding or long-copy",
                rerun=_rerun(LONG_TASKS, runs),
            )
        )
    return found


def _longest(group: Group) -> int:
    """The longest T every seed passes (0: none)."""
    return max((t for t, s in _passes(group).items() if all(s.values())), default=0)


def _n_passed(group: Group) -> int:
    return sum(sum(seeds.values()) for seeds in _passes(group).values())


def _c4_long(runs: Runs, task: str) -> list[Finding]:
    tops = [g for m in runs.models(task, "rnn") if (g := runs.top(task, m)) and _passes(g)]
    if not tops:
        return [
            Finding(
                f"{task}: rnn pass/fail",
                "no data",
                f"no rnn model ran {task}",
                rerun=_rerun([task], runs),
            )
        ]
    best = max(tops, key=lambda g: (_longest(g), _n_passed(g)))
    passes = _passes(best)
    shortest, longest = min(passes), max(passes)
    found = []
    for label, t, expect in (
        ("effective at the shortest T", shortest, True),
        ("limited at the longest T", longest, False),
    ):
        what = f"{task} T={t}: {best.model} ({label})"
        if label.startswith("limited") and shortest == longest:
            found.append(
                Finding(
                    what,
                    "no data",
                    f"{task}: only T={t} was tested",
                    decide="longer sequences (the full suite tests T up to 1000)",
                    rerun=_rerun([task], runs),
                )
            )
            continue
        seeds = passes[t]
        if all(ok == expect for ok in seeds.values()):
            settled, how = 1, f"{'passes' if expect else 'fails'} in every seed"
        elif all(ok != expect for ok in seeds.values()):
            settled, how = -1, f"{'fails' if expect else 'passes'} in every seed"
        else:
            settled, how = 0, "the seeds disagree"
        ruling = _rules(runs, [best], settled, how)
        n = sum(seeds.values())
        numbers = f"{task} {best.model} (longest-holding rnn): {_pattern(best)}"
        headline = f"{best.model} {'passes' if n else 'fails'} T={t} ({n}/{len(seeds)})"
        found.append(Finding.ruled(what, numbers, headline, ruling))
    return found


def _by_horizon(group: Group, metric: str) -> dict[int, dict[int, float]]:
    """Horizon -> seed -> metric."""
    out: dict[int, dict[int, float]] = {}
    for r in group.ok:
        for h, values in ((r["metrics"] or {}).get("by_horizon") or {}).items():
            if isinstance(values, dict) and values.get(metric) is not None:
                out.setdefault(int(h), {})[int(r["seed"])] = float(values[metric])
    return dict(sorted(out.items()))


def _c4_horizon(runs: Runs) -> list[Finding]:
    task, metric = "forecast-etth1", "mse"
    rnn, linear = Pick("rnn").choose(runs, task, metric), runs.top(task, "linear-ar")
    what = f"{task} {metric} against horizon: rnn relative to linear-ar"
    if rnn is None or linear is None:
        return [
            Finding(
                what,
                "no data",
                f"{task}: no rnn or no linear-ar result",
                rerun=_rerun([task], runs),
            )
        ]
    hr, hl = _by_horizon(rnn, metric), _by_horizon(linear, metric)
    horizons = sorted(hr.keys() & hl.keys())
    what = f"{task} {metric} against horizon: {rnn.model} / linear-ar"
    if len(horizons) < 2:
        return [
            Finding(
                what,
                "no data",
                f"{task}: one horizon ({', '.join(map(str, horizons)) or 'none'})",
                decide="several horizons: the full suite's 96/192/336/720",
            )
        ]

    def ratio(h: int) -> dict[int, float]:
        base = hl[h]  # linear AR is deterministic: one seed stands for all
        if len(base) == 1:
            (only,) = base.values()
            return {s: v / only for s, v in hr[h].items()}
        return {s: v / base[s] for s, v in hr[h].items() if s in base}

    first, last = ratio(horizons[0]), ratio(horizons[-1])
    settled, how = direction(first, last, lower=True)  # +1: relatively better at the short horizon
    ruling = _rules(runs, [rnn], settled, how)
    h0, h1 = horizons[0], horizons[-1]
    numbers = f"{what}: {_values_text(first)} at H={h0}, {_values_text(last)} at H={h1}"
    headline = f"{rnn.model}/linear-ar mse {_short(first)} at H={h0} -> {_short(last)} at H={h1}"
    return [Finding.ruled(what, numbers, headline, ruling)]


def _c4(runs: Runs) -> list[Finding]:
    return [*_c4_long(runs, "long-adding"), *_c4_long(runs, "long-copy"), *_c4_horizon(runs)]


# ---- C5: inference speed at equal quality ----------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A way to sample from one model: seed -> quality, seed -> seconds per unit of throughput."""

    label: str
    group: Group
    quality: dict[int, float]
    seconds: dict[int, float]


def _settings(group: Group, metric: str) -> list[Setting]:
    """Each sampler a unit measured (`<metric>_by_sampler` with `seconds_per_*_by_sampler`),
    else the unit's own metric and 1 / throughput."""
    first = group.ok[0]["metrics"] or {}
    quality_key = f"{metric}_by_sampler"
    seconds_key = next(
        (k for k in first if k.startswith("seconds_per_") and k.endswith("_by_sampler")), None
    )
    if isinstance(first.get(quality_key), dict) and seconds_key:
        out = []
        for sampler in first[quality_key]:
            q = group.values(
                lambda r, s=sampler: ((r["metrics"] or {}).get(quality_key) or {}).get(s)
            )
            t = group.values(
                lambda r, s=sampler: ((r["metrics"] or {}).get(seconds_key) or {}).get(s)
            )
            if q and t:
                out.append(Setting(f"{group.model} {sampler}", group, q, t))
        return out
    q = group.metric(metric)
    t = group.values(lambda r: 1.0 / r["throughput"] if r.get("throughput") else None)
    return [Setting(group.model, group, q, t)] if q and t else []


def _same_unit(a: str, b: str) -> bool:
    return a == b or (a in EXAMPLE_UNITS and b in EXAMPLE_UNITS)


def inference_speed(runs: Runs, task: str, metric: str) -> list[Finding]:
    """C5 on one task: seconds per unit of the rnn's best model against the fastest diffusion
    sampler whose quality reaches the rnn's (its best-quality sampler when none does)."""
    rnn = runs.best(task, "rnn", metric)
    diffusion = [
        g
        for m in runs.models(task, "diffusion")
        if m not in CONDITIONAL and (g := runs.top(task, m))
    ]
    if rnn is None or not diffusion:
        return []
    what = f"{task}: seconds per sample, diffusion vs {rnn.model} at equal {metric}"
    unit = rnn.ok[0].get("throughput_unit") or ""
    mine = _settings(rnn, metric)
    theirs = [
        s
        for g in diffusion
        if _same_unit(g.ok[0].get("throughput_unit") or "", unit)
        for s in _settings(g, metric)
    ]
    if not mine or not theirs:
        return [
            Finding(what, "no data", f"{task}: no throughput in a shared unit ({unit or 'none'})")
        ]
    ours = mine[0]
    sign = 1.0 if lower_is_better(metric) else -1.0
    target = sign * _mean(ours.quality)
    reaching = [s for s in theirs if sign * _mean(s.quality) <= target]
    if reaching:
        chosen = min(reaching, key=lambda s: _mean(s.seconds))
        at = "the fastest diffusion sampler that reaches the rnn's quality"
    else:
        chosen = min(theirs, key=lambda s: sign * _mean(s.quality))
        at = "no diffusion sampler reaches the rnn's quality: its best one"
    settled, how = direction(ours.seconds, chosen.seconds, lower=True)
    ruling = _rules(runs, [rnn, chosen.group], settled, how)
    per = unit.removesuffix("/s") or "sample"
    per = per[:-1] if per.endswith("s") and " " not in per else per  # "images" -> "image"
    ratio = _mean(chosen.seconds) / _mean(ours.seconds)
    numbers = (
        f"{task} ({at}): {chosen.label} {_values_text(chosen.seconds)} s per {per} at {metric} "
        f"{_short(chosen.quality)}; {ours.label} {_values_text(ours.seconds)} s at {metric} "
        f"{_short(ours.quality)}"
    )
    pace = f"{fmt_ratio(ratio)} slower" if ratio >= 1 else f"{fmt_ratio(1 / ratio)} faster"
    headline = f"diffusion {pace} per {per} ({task})"
    return [Finding.ruled(what, numbers, headline, ruling)]


def _c5(runs: Runs) -> list[Finding]:
    found = []
    for task in runs.tasks():
        if (metric := _primary(task)) is not None:
            found += inference_speed(runs, task, metric)
    return found or [
        Finding(
            "seconds per sample at equal quality",
            "no data",
            "no task ran both an rnn and a diffusion model with a throughput",
            rerun=_rerun(["image-digits"], runs),
        )
    ]


# ---- C8 and C10: stability -------------------------------------------------------------------


def _family_groups(runs: Runs, tasks: Iterable[str], family: str) -> list[Group]:
    """The top budget of every model of `family` on `tasks` (failed-only budgets included)."""
    return [runs.groups(t, m)[-1] for t in tasks for m in runs.models(t, family)]


def _spread(runs: Runs, tasks: Iterable[str], family: str) -> list[float]:
    """Std / |mean| over seeds of the family's best model's primary metric, per task."""
    out = []
    for task in tasks:
        metric = _primary(task)
        if metric is not None and (best := runs.best(task, family, metric)):
            s = Stat.of(list(best.metric(metric).values()))
            if s is not None and s.n >= MIN_SEEDS and s.mean:
                out.append(s.std / abs(s.mean))
    return out


def divergence(runs: Runs, tasks: Sequence[str], strict: bool) -> list[Finding]:
    """Diffusion's share of runs with a non-finite loss against the rnn's on `tasks`, and the
    seed spread of each family beside it.

    Args:
        strict: the claim says diffusion trains stably (C10): no diffusion run diverging
            supports it, a larger share than the rnn's contradicts it. Otherwise (C8) the
            finding decides only when one family diverged and the other did not.
    """
    diffusion, rnn = _family_groups(runs, tasks, "diffusion"), _family_groups(runs, tasks, "rnn")
    what = "runs with a non-finite loss, diffusion vs rnn"
    if not diffusion:
        return [Finding(what, "no data", "no diffusion run", rerun=_rerun(tasks, runs))]

    def count(groups: list[Group]) -> tuple[int, int]:
        records = [r for g in groups for r in (*g.ok, *g.failed)]
        return sum(map(_diverged, records)), len(records)

    (d_bad, d_all), (r_bad, r_all) = count(diffusion), count(rnn)
    where = ", ".join(tasks) if len(tasks) < 5 else f"{len(tasks)} tasks"
    numbers = (
        f"non-finite losses ({where}): diffusion {d_bad} of {d_all} runs, rnn {r_bad} of {r_all}"
    )
    headline = f"diverged: diffusion {d_bad}/{d_all}, rnn {r_bad}/{r_all}"
    d_share, r_share = d_bad / d_all, (r_bad / r_all if r_all else 0.0)
    if strict:
        settled = 1 if d_bad == 0 else (-1 if d_share > r_share else 0)
    else:
        settled = 1 if (d_bad == 0 and r_bad) else (-1 if (r_bad == 0 and d_bad) else 0)
    if settled or strict:
        ruling = _gate(runs, [*diffusion, *rnn], lambda g: len(g.ok) + len(g.failed)) or Ruling(
            "supports" if settled > 0 else "contradicts" if settled < 0 else "unclear",
            "shares of runs whose loss became non-finite",
            "" if settled else "more runs",
        )
        found = [Finding.ruled(what, numbers, headline, ruling)]
    else:
        found = [Finding(what, "context", numbers)]
    spread = {f: v for f in ("diffusion", "rnn") if (v := _spread(runs, tasks, f))}
    if spread:
        cells = ", ".join(
            f"{f} median {statistics.median(v):.2g} over {len(v)} task{'s' * (len(v) > 1)}"
            for f, v in spread.items()
        )
        found.append(Finding("seed spread", "context", f"seed spread (std / |mean|): {cells}"))
    return found


# ---- the claims ------------------------------------------------------------------------------


def _on_user_data(runs: Runs, task: str, metric: str, *sides: Pick) -> list[Finding]:
    """`versus` on a task built from the user's data, only when the run holds it (a run on
    other tasks is not short of it: nothing would tell the user how to rerun it)."""
    return versus(runs, task, metric, *sides) if task in runs.tasks() else []


def _c3(runs: Runs) -> list[Finding]:
    unconditional = Pick("diffusion", exclude=CONDITIONAL)
    return [
        *versus(runs, "image-digits", "fd", unconditional, Pick("rnn")),
        *_on_user_data(runs, "image-user", "fd", unconditional, Pick("rnn")),
    ]


def _c6(runs: Runs) -> list[Finding]:
    return [
        *versus(runs, "denoise-digits", "psnr", Pick("diffusion"), Pick("rnn"), Pick("baseline")),
        *versus(runs, "denoise-etth1", "psnr", Pick("diffusion"), Pick("rnn"), Pick("baseline")),
        *_on_user_data(
            runs, "denoise-user", "psnr", Pick("diffusion"), Pick("rnn"), Pick("baseline")
        ),
    ]


def _c7(runs: Runs) -> list[Finding]:
    lm, exchange, etth1 = "lm-shakespeare", "forecast-exchange", "forecast-etth1"
    return [
        *versus(runs, lm, "nats_per_char", Pick("rnn"), Pick("diffusion"), Pick("baseline")),
        *_on_user_data(runs, "lm-user", "nats_per_char", Pick("rnn"), Pick("diffusion")),
        *versus(runs, exchange, "crps_sum", Pick("rnn"), Pick("diffusion")),
        *versus(runs, exchange, "crps_sum", Pick("rnn"), Pick("baseline")),
        *versus(runs, etth1, "mse", Pick("rnn"), Pick("diffusion")),
        *versus(runs, etth1, "mse", Pick("rnn"), Pick("baseline")),
    ]


def _c8(runs: Runs) -> list[Finding]:
    gen, audio = "generate-etth1", "audio-fsdd"
    return [
        *versus(runs, gen, "discriminative_score", Pick("diffusion"), Pick("rnn")),
        *versus(runs, gen, "predictive_score", Pick("diffusion"), Pick("rnn")),
        *_on_user_data(
            runs, "generate-user", "discriminative_score", Pick("diffusion"), Pick("rnn")
        ),
        *_on_user_data(runs, "generate-user", "predictive_score", Pick("diffusion"), Pick("rnn")),
        *versus(runs, audio, "accuracy", Pick("diffusion"), Pick("rnn")),
        *versus(runs, audio, "fd", Pick("diffusion"), Pick("rnn")),
        *_on_user_data(runs, "audio-user", "accuracy", Pick("diffusion"), Pick("rnn")),
        *_on_user_data(runs, "audio-user", "fd", Pick("diffusion"), Pick("rnn")),
        *_c3(runs),
        *divergence(runs, [gen, audio, "image-digits"], strict=False),
    ]


def _c9(runs: Runs) -> list[Finding]:
    timegrad, dcrnn = Pick("hybrid", "timegrad"), Pick("hybrid", "dcrnn")
    exchange = "forecast-exchange"
    found = [
        *versus(runs, exchange, "crps_sum", timegrad, Pick("rnn", "deepar")),
        *versus(runs, exchange, "crps_sum", timegrad, Pick("diffusion", "diffusion-forecaster")),
    ]
    for task, metric in (("graph-chickenpox", "mse"), ("graph-losloop", "mae")):
        found += versus(runs, task, metric, dcrnn, Pick("rnn", "gru-per-node"))
        found += versus(runs, task, metric, dcrnn, Pick("baseline", "linear-ar"))
    found += _on_user_data(runs, "graph-user", "mse", dcrnn, Pick("rnn", "gru-per-node"))
    found += _on_user_data(runs, "graph-user", "mse", dcrnn, Pick("baseline", "linear-ar"))
    found += _on_user_data(runs, "graph-user", "mse", timegrad, Pick("rnn", "gru-per-node"))
    return found


def _c10(runs: Runs) -> list[Finding]:
    tasks = [t for t in runs.tasks() if runs.models(t, "diffusion")]
    if not tasks:
        return [
            Finding(
                "diffusion training",
                "no data",
                "no diffusion model ran",
                rerun=_rerun(["image-digits"], runs),
            )
        ]
    # the claim is about diffusion in general: it reads the tasks where both families trained
    # to the evidence budget, and names the others (their runs are too short to diverge or not)
    counted = [
        t
        for t in tasks
        if all(runs.reaches(g) for f in ("diffusion", "rnn") for g in _family_groups(runs, [t], f))
    ]
    if not counted or len(counted) == len(tasks):
        return divergence(runs, tasks, strict=True)
    below = ", ".join(t for t in tasks if t not in counted)
    return [
        *divergence(runs, counted, strict=True),
        Finding("tasks not read", "context", f"below their evidence budget, not read: {below}"),
    ]


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict on one run.

    Attributes:
        claim: the claim's id ("C3").
        verdict: one of `VERDICTS`.
        numbers: every finding's numbers (mean ± std over seeds).
        headlines: the deciding findings' numbers, at most `TILE_FINDINGS` (one line each in
            the tile).
        tally: "2 of 3 comparisons support it" (empty when nothing decided).
        why: how the verdict follows from the findings.
        decide: what would decide it, when nothing did.
    """

    claim: str
    verdict: Verdict
    numbers: tuple[str, ...]
    headlines: tuple[str, ...]
    tally: str
    why: str
    decide: str

    @property
    def headline(self) -> str:
        """The deciding findings in one line (the table's and the README's)."""
        return "; ".join(self.headlines)

    def to_json(self) -> dict[str, Any]:
        """The fields a reference scorecard keeps."""
        return {
            "verdict": self.verdict,
            "headline": self.headline,
            "headlines": list(self.headlines),
            "tally": self.tally,
            "numbers": list(self.numbers),
            "why": self.why,
            "decide": self.decide,
        }


_OUTCOME_TEXT = {
    "supports": "supports it",
    "contradicts": "contradicts it",
    "unclear": "no clear difference",
    "below budget": "below the evidence budget",
    "too few seeds": "too few seeds",
    "no data": "no data",
}


def _why(counted: Sequence[Finding]) -> str:
    """The findings grouped by outcome: what each compared and why it came out so."""
    parts = []
    for outcome, label in _OUTCOME_TEXT.items():
        these = [f for f in counted if f.outcome == outcome]
        if not these:
            continue
        if outcome == "below budget":  # the same gap repeats over a task's findings
            items = dict.fromkeys(f.note for f in these)
        elif outcome == "no data":
            items = dict.fromkeys(f.numbers for f in these)
        else:
            items = dict.fromkeys(f"{f.what} ({f.note})" if f.note else f.what for f in these)
        parts.append(f"{label}: {'; '.join(items)}")
    return ". ".join(parts)


def judge(claim_id: str, findings: Sequence[Finding]) -> ClaimResult:
    """The claim's verdict from its findings (the rules in the module docstring)."""
    counted = [f for f in findings if f.outcome != "context"]
    decided = [f for f in counted if f.outcome in DECIDING]
    n = {o: sum(f.outcome == o for f in counted) for o in get_args(Outcome)}
    verdict: Verdict
    if n["supports"] and not (n["contradicts"] or n["unclear"]):
        verdict = "holds"
    elif n["supports"]:
        verdict = "mixed"
    elif n["contradicts"]:
        verdict = "refuted"
    elif n["below budget"]:
        verdict = NOT_EVIDENCE
    else:
        verdict = "not enough evidence"
    low = list(
        dict.fromkeys(
            gap for f in counted if f.outcome == "below budget" for gap in f.note.split("; ")
        )
    )
    if verdict == NOT_EVIDENCE:
        more = f" (+{len(low) - 1} more task{'s' * (len(low) > 2)})" if len(low) > 1 else ""
        headlines: tuple[str, ...] = (f"below the evidence budget: {low[0]}{more}",)
    elif verdict == "mixed":
        pro = next(f for f in counted if f.outcome == "supports")
        con = next(f for f in counted if f.outcome in ("contradicts", "unclear"))
        headlines = (pro.headline, con.headline)
    else:
        # the deciding findings, one per task at most TILE_FINDINGS (C5 holds on two tasks)
        deciding = [f for f in counted if f.outcome in ("supports", "contradicts") and f.headline]
        lead = next((f for f in counted if f.headline), None)
        shown = list(dict.fromkeys(f.headline for f in deciding or ([lead] if lead else [])))
        headlines = tuple(shown[:TILE_FINDINGS]) or (counted[0].numbers if counted else "no data",)
    k = n["supports"]
    tally = (
        f"{k} of {len(decided)} comparison{'s' * (len(decided) > 1)} support{'s' * (k == 1)} it"
        if decided
        else ""
    )
    why = _why(counted)
    decide = ""
    if verdict in ("not enough evidence", NOT_EVIDENCE) or n["unclear"]:
        reruns = rerun_commands(pair for f in counted for pair in f.rerun)
        if reruns:
            reruns[0] = f"{MIN_SEEDS} seeds at the evidence budgets: {reruns[0]}"
        decide = "; ".join(dict.fromkeys([*reruns, *(f.decide for f in counted if f.decide)]))
    numbers = tuple(dict.fromkeys(f.numbers for f in findings))
    return ClaimResult(claim_id, verdict, numbers, headlines, tally, why, decide)


@dataclass(frozen=True)
class Claim:
    """One claim of the article, as data.

    Attributes:
        id: "C1" .. "C10" (stable: reference scorecards are keyed by it).
        text: the claim, paraphrased.
        reads: the tasks and metrics it is scored on.
        findings: the run -> the comparisons that decide it.
    """

    id: str
    text: str
    reads: str
    findings: Callable[[Runs], list[Finding]] = field(repr=False)

    def score(
        self, records: Iterable[dict[str, Any]], evidence: Mapping[str, float] | None = None
    ) -> ClaimResult:
        """The claim's verdict on `records` (results.jsonl lines)."""
        runs = Runs(records, evidence_budgets() if evidence is None else evidence)
        return judge(self.id, self.findings(runs))


# C3, C6, C7, C8 and C9 also read the tasks built from the user's data (image-user, denoise-user,
# lm-user, generate-user, audio-user, graph-user)
# when a run holds them (`_on_user_data`); their `reads` name the vendored tasks only, so the
# committed evidence's report reads the same.
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "C1",
        "Diffusion training costs more than RNN training",
        "every task with budget ladders of both: training CPU seconds to the best quality level "
        "both reach (primary metric)",
        _c1,
    ),
    Claim(
        "C2",
        "RNNs suffer from vanishing or exploding gradients",
        "long-adding, long-copy: gradient norm against lag after training; pass/fail against T",
        _c2,
    ),
    Claim(
        "C3",
        "Diffusion gives superior image quality",
        "image-digits: fd (the same in-project evaluator for every model; unconditional models)",
        _c3,
    ),
    Claim(
        "C4",
        "RNNs are effective for temporal dependencies but limited on long sequences",
        "long-adding, long-copy: pass/fail at the shortest and longest T; forecast-etth1: mse "
        "relative to linear AR against horizon",
        _c4,
    ),
    Claim(
        "C5",
        "Diffusion is slower at inference",
        "every task with both: seconds per sample at equal quality, best diffusion sampler",
        _c5,
    ),
    Claim(
        "C6",
        "Diffusion is superior for denoising",
        "denoise-digits, denoise-etth1: psnr",
        _c6,
    ),
    Claim(
        "C7",
        "RNNs suit language modelling and time-series prediction",
        "lm-shakespeare: nats_per_char vs MDLM; forecast-exchange crps_sum, forecast-etth1 mse: "
        "vs the diffusion forecaster and the baselines",
        _c7,
    ),
    Claim(
        "C8",
        "For detailed, coherent generation diffusion beats RNNs in accuracy and stability",
        "generate-etth1: discriminative and predictive score; audio-fsdd: recogniser accuracy, "
        "fd; image-digits: fd; runs that diverged and seed spread",
        _c8,
    ),
    Claim(
        "C9",
        "Joining diffusion and RNNs helps forecasting and graph learning",
        "forecast-exchange crps_sum: timegrad vs deepar and the diffusion forecaster; "
        "graph-chickenpox mse, graph-losloop mae: dcrnn vs gru-per-node and linear AR",
        _c9,
    ),
    Claim(
        "C10",
        "Diffusion trains stably",
        "every task with a diffusion model: share of runs with non-finite losses; seed spread",
        _c10,
    ),
)


def score(
    records: Iterable[dict[str, Any]], evidence: Mapping[str, float] | None = None
) -> list[ClaimResult]:
    """Every claim's verdict on `records`, in `CLAIMS` order.

    Args:
        records: results.jsonl lines (every budget of a ladder kept).
        evidence: task -> evidence budget in seconds (default: `evidence_budgets()`).
    """
    return score_runs(Runs(records, evidence_budgets() if evidence is None else evidence))


def score_runs(runs: Runs) -> list[ClaimResult]:
    """Every claim's verdict on a run already grouped."""
    return [judge(claim.id, claim.findings(runs)) for claim in CLAIMS]


# ---- the reference scorecard -----------------------------------------------------------------


def reference_snapshot(run_dir: Path) -> dict[str, Any]:
    """The scorecard of a committed run, as stored in `reference_scorecard.json`."""
    from diffrnn.bench.provenance import describe_code, describe_codes
    from diffrnn.bench.results import RESULTS_FILE, latest_by_unit, read_records
    from diffrnn.bench.runner import invocations, read_run_info

    info = read_run_info(run_dir)
    records = read_records(run_dir / RESULTS_FILE)
    card = score(records)
    commands = dict.fromkeys(i.get("command") for i in invocations(info))
    return {
        "run": REFERENCE_RUN,
        "command": "; then ".join(str(c) for c in commands) or info.get("command"),
        # the code that made the units: one commit, or each with its count after a partial rerun
        "commit": describe_codes(latest_by_unit(records).values(), info.get("code"))
        or describe_code(info.get("code")),
        "prepared_at": info.get("prepared_at"),
        "claims": {c.claim: c.to_json() for c in card},
    }


def load_reference() -> dict[str, Any] | None:
    """The committed reference scorecard (None when no reference run has been committed)."""
    file = resources.files("diffrnn.bench").joinpath(REFERENCE_FILE)
    if not file.is_file():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def reference_path() -> Path:
    """Where `python -m diffrnn.bench.scorecard` writes the reference scorecard."""
    return Path(__file__).with_name(REFERENCE_FILE)


def main(argv: Sequence[str]) -> int:
    """`python -m diffrnn.bench.scorecard RUN_DIR`: store RUN_DIR's scorecard as the reference."""
    from diffrnn.fileio import atomic_write_text

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if len(argv) != 1:
        logger.error("usage: python -m diffrnn.bench.scorecard evidence/reference")
        return 2
    from diffrnn.bench.results import RESULTS_FILE

    if not (Path(argv[0]) / RESULTS_FILE).is_file():
        logger.error("%s has no %s: run the reference suite into it first", argv[0], RESULTS_FILE)
        return 2
    snapshot = reference_snapshot(Path(argv[0]))
    atomic_write_text(reference_path(), json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n")
    logger.info("wrote %s", reference_path())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
