"""Which family to pick for the user's data, and how sure that is (`compare --data`).

    rec = recommend(per_task["forecast-user"], task, close=0.02)
    rec.headline   # "Pick rnn (deepar): crps 0.0737 ± 0.0021 over 3 seeds, clearly ..."
    rec.details    # one line per other family: the difference and its spread

Each family is represented by its best model (on the mean of the primary metric over seeds).
The best one is compared with every other family's on the origins both scored (each unit
records its CRPS at every backtest origin as the curve `crps_vs_origin`; a model scored on a
subset of the origins is compared on that subset). A difference is clear when it is larger than
`close` of the best score, larger than two standard errors of the per-origin differences
(origins: the paired differences averaged over seeds) and larger than two standard errors over
seeds (each seed's score on those origins). Otherwise the two are tied, and among the families
tied with the best the cheapest to train (then to run) is picked: "no clear winner".
A class-conditional model (`scorecard.CONDITIONAL`) is told what to draw where the others are
not: it is shown in the details, never picked.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass

from diffrnn.bench.aggregate import ModelResult, TaskInfo, best_of_family
from diffrnn.bench.registry import FAMILIES
from diffrnn.bench.scorecard import CONDITIONAL
from diffrnn.bench.verdicts import fmt, fmt_seconds, fmt_stat, mean_of

ORIGIN_CURVE = "crps_vs_origin"
"""The per-origin score the forecasting units record (x: origin index, y: CRPS there)."""
STANDARD_ERRORS = 2.0
"""A difference is beyond the spread past this many standard errors."""


def _spread(x: float) -> str:
    """A spread to two significant digits."""
    return f"{x:.2g}"


@dataclass(frozen=True)
class Comparison:
    """The best model against another family's best, on the origins both scored.

    Attributes:
        other: the other family's best model.
        difference: other's mean score - best's, in loss units (> 0: the best is better), on the
            common origins (or the headline metric when no origin curves were recorded).
        relative: `difference` over |best's score|.
        origins: common origins; `origin_se` the standard error of the mean per-origin
            difference (None below 2 origins); `origin_wins` origins where the best is better.
        seeds: seeds on each side (the smaller count); `seed_se` the standard error of the
            difference of seed means (None with one seed each); `seeds_agree` whether the best
            is better on every seed both ran.
        clear: the difference is beyond `close` and beyond the spread.
    """

    other: ModelResult
    difference: float
    relative: float
    origins: int
    origin_se: float | None
    origin_wins: int
    seeds: int
    seed_se: float | None
    seeds_agree: bool
    clear: bool
    backtest: bool = True

    def spread_text(self, best: str) -> str:
        """The difference and the spreads it is judged against, in words."""
        parts = [f"a difference of {fmt(self.difference)}"]
        if self.origin_se is not None:
            parts.append(
                f"± {_spread(STANDARD_ERRORS * self.origin_se)} over {self.origins} origins "
                f"({best} better at {self.origin_wins} of {self.origins})"
            )
        elif self.backtest:
            parts.append(f"{self.origins or 'no'} common origin(s): no spread over origins")
        if self.seed_se is not None:
            agree = "every seed agrees" if self.seeds_agree else "the seeds disagree"
            parts.append(
                f"± {_spread(STANDARD_ERRORS * self.seed_se)} over {self.seeds} seeds ({agree})"
            )
        else:
            parts.append("one seed: no spread over seeds")
        return ", ".join(parts)

    def reason(self, close: float) -> str:
        """Why a tie is a tie: which bound the difference missed."""
        if self.relative <= close:
            return f"under {close:.0%}"
        if self.origin_se is not None and self.difference <= STANDARD_ERRORS * self.origin_se:
            return "inside the spread over origins"
        return "inside the spread over seeds"


@dataclass(frozen=True)
class Recommendation:
    """What to pick and why.

    Attributes:
        pick: the recommended model (None when no model scored).
        best: the model with the best mean score.
        clear: the best is clearly ahead of every other family.
        headline: one paragraph for the report.
        details: one line per family compared, then the evidence used.
    """

    pick: ModelResult | None
    best: ModelResult | None
    clear: bool
    headline: str
    details: tuple[str, ...]


def _origin_scores(m: ModelResult) -> dict[int, dict[float, float]] | None:
    """Seed -> (origin -> CRPS there); None when any ok seed lacks the curve."""
    scores = {}
    for r in m.ok:
        curve = (r.get("curves") or {}).get(ORIGIN_CURVE)
        if not curve:
            return None
        pairs = zip(curve["x"], curve["y"], strict=True)
        scores[r["seed"]] = {float(x): float(y) for x, y in pairs if math.isfinite(y)}
    return scores or None


def _headline_scores(m: ModelResult) -> dict[int, float]:
    """Seed -> the primary metric."""
    return {
        r["seed"]: float(v)
        for r in m.ok
        if isinstance(v := (r["metrics"] or {}).get(m.task.primary), int | float)
        and math.isfinite(v)
    }


def _se(values: list[float]) -> float | None:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None


def _variance_of_mean(values: list[float]) -> float | None:
    return statistics.variance(values) / len(values) if len(values) > 1 else None


def compare(best: ModelResult, other: ModelResult, close: float) -> Comparison:
    """`best` against `other`: the difference, its spreads, and whether it is clear."""
    sign = 1.0 if best.task.lower_is_better else -1.0
    a, b = _origin_scores(best), _origin_scores(other)
    common = (
        sorted(set.intersection(*(set(s) for s in [*a.values(), *b.values()]))) if a and b else []
    )
    per_origin: list[float] = []
    if a and b and common:  # each seed's score on the origins both scored
        seeds_a = {seed: statistics.fmean(s[x] for x in common) for seed, s in a.items()}
        seeds_b = {seed: statistics.fmean(s[x] for x in common) for seed, s in b.items()}
        per_origin = [
            sign
            * (
                statistics.fmean(s[x] for s in b.values())
                - statistics.fmean(s[x] for s in a.values())
            )
            for x in common
        ]
    else:
        seeds_a, seeds_b = _headline_scores(best), _headline_scores(other)
    mean_a, mean_b = statistics.fmean(seeds_a.values()), statistics.fmean(seeds_b.values())
    difference = sign * (mean_b - mean_a)
    scale = abs(mean_a)
    origin_se = _se(per_origin)
    var_a, var_b = (
        _variance_of_mean(list(seeds_a.values())),
        _variance_of_mean(list(seeds_b.values())),
    )
    seed_se = None if var_a is None and var_b is None else math.sqrt((var_a or 0) + (var_b or 0))
    both = sorted(set(seeds_a) & set(seeds_b))
    seeds_agree = bool(both) and all(sign * (seeds_b[k] - seeds_a[k]) > 0 for k in both)
    clear = (
        difference > close * scale
        and (origin_se is None or difference > STANDARD_ERRORS * origin_se)
        and (seed_se is None or difference > STANDARD_ERRORS * seed_se)
    )
    return Comparison(
        other=other,
        difference=difference,
        relative=difference / scale if scale else math.inf,
        origins=len(common),
        origin_se=origin_se,
        origin_wins=sum(d > 0 for d in per_origin),
        seeds=min(len(seeds_a), len(seeds_b)),
        seed_se=seed_se,
        seeds_agree=seeds_agree,
        clear=clear,
    )


def _cost(m: ModelResult) -> tuple[float, float]:
    """(training seconds, seconds per forecast): what "cheapest" orders by."""
    return mean_of(m, "train_seconds") or 0.0, mean_of(m, "infer_seconds_per_sample") or math.inf


def _named(m: ModelResult) -> str:
    return f"{m.family} ({m.model})"


def _score(m: ModelResult) -> str:
    seeds = len(m.ok)
    return f"{m.task.primary} {fmt_stat(m.metric(m.task.primary))}" + (
        f" over {seeds} seeds" if seeds > 1 else " (one seed)"
    )


def recommend(
    results: dict[str, ModelResult], task: TaskInfo, close: float = 0.02
) -> Recommendation:
    """Pick a family for the user's data from the backtest, with how sure the pick is.

    Args:
        results: model -> its results on the user's task.
        task: the task (its primary metric and direction).
        close: relative difference below which two families count as equal whatever the spread.

    Returns:
        The Recommendation; `pick` is None when no model produced a score.
    """
    told = {m: r for m, r in results.items() if m in CONDITIONAL and r.quality is not None}
    results = {m: r for m, r in results.items() if m not in CONDITIONAL}
    cells = {f: b for f in FAMILIES if (b := best_of_family(results, f)) and b.quality is not None}
    if not cells:
        return Recommendation(None, None, False, "No model produced a score on your data.", ())
    sign = 1 if task.lower_is_better else -1
    best = min(cells.values(), key=lambda m: sign * m.quality)  # type: ignore[operator]
    for _ in cells:  # a model scored on fewer origins may lead only on those: compare pairwise
        ahead = [c for m in cells.values() if m is not best and (c := compare(best, m, close))]
        ahead = [c for c in ahead if c.difference < 0]
        if not ahead:
            break
        best = min(ahead, key=lambda c: c.difference).other
    backtest = any(_origin_scores(m) for m in cells.values())  # a forecast (else one split)
    comparisons = [
        dataclasses.replace(compare(best, m, close), backtest=backtest)
        for m in cells.values()
        if m is not best
    ]
    where = "in the backtest" if backtest else "on your data's held-out split"
    per = "per forecast" if backtest else "per sample"
    tied = [best] + [c.other for c in comparisons if not c.clear]
    pick = min(tied, key=_cost)
    by_other = {c.other.model: c for c in comparisons}
    if len(tied) == 1:
        headline = f"Pick {_named(best)}: {_score(best)}, the best {where}" + (
            f", clearly ahead of every other family ({len(comparisons)} compared)."
            if comparisons
            else "."
        )
    else:
        leads = ", ".join(
            f"{_named(c.other)} ({c.relative:.0%}, {c.reason(close)})"
            for c in comparisons
            if not c.clear
        )
        headline = (
            f"No clear winner: {_named(best)} scored best ({_score(best)}), but its lead over "
            f"{leads} is not clear. Pick {_named(pick)}: "
            + (
                "the best, and the cheapest of these."
                if pick is best
                else f"as good within the spread and the cheapest to train "
                f"({fmt_seconds(_cost(pick)[0])} vs {fmt_seconds(_cost(best)[0])})."
            )
        )
    baseline = cells.get("baseline")
    if pick.family == "baseline":
        headline += (
            " No learned model beat the simple baselines clearly on this data: "
            + ("more history, covariates" if backtest else "more data")
            + " or a longer --budget may change that."
        )
    elif baseline is not None and baseline.model in by_other:
        c = by_other[baseline.model]
        headline += (
            f" Against the best baseline ({baseline.model}, {fmt(baseline.quality)}): "
            f"{c.relative:.0%} better, {c.spread_text(best.model)}."
        )
    details = [
        f"{_named(m)}: {_score(m)}; told the class of every sample it draws where the others "
        "are not, so it is left out of the pick"
        for m in told.values()
    ] + [
        f"{_named(c.other)}: {_score(c.other)}; {abs(c.relative):.0%} "
        f"{'worse' if c.difference > 0 else 'better'} than {best.model} "
        + (f"on the {c.origins} origin(s) both scored" if c.origins else "on the headline score")
        + f" ({c.spread_text(best.model)}): "
        + ("clearly behind" if c.clear else f"tied, {c.reason(close)}")
        + f"; {fmt_seconds(_cost(c.other)[0])} training, "
        f"{fmt_seconds(mean_of(c.other, 'infer_seconds_per_sample'))} {per}"
        for c in comparisons
    ]
    details.append(
        f"How sure: a difference counts when it exceeds {close:.0%} of the best {task.primary} "
        f"and {STANDARD_ERRORS:g} standard errors over "
        + ("the backtest's origins and over seeds; " if backtest else "seeds; ")
        + f"{_named(best)} trained in {fmt_seconds(_cost(best)[0])} and takes "
        f"{fmt_seconds(mean_of(best, 'infer_seconds_per_sample'))} {per}."
    )
    return Recommendation(pick, best, len(tied) == 1, headline, tuple(details))
