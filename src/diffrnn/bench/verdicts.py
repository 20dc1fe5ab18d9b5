"""Verdicts: the report's sentences, each computed from the measured numbers it summarises.

Nothing here is written in advance: "diffusion better than rnn on 2 of 3 tasks where both ran",
"rnn 40x faster to sample than diffusion" come out of the results, whatever they are.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

from diffrnn.bench.aggregate import ModelResult, Stat
from diffrnn.bench.registry import FAMILIES

LEARNED = ("rnn", "diffusion", "hybrid")
SAME_RATIO = 1.1
"""Two costs within this ratio are reported as about the same."""
SAME_BUDGET_RATIO = 1.25
"""Training times within this ratio mean the families spent the same budget: compare parameters."""

PerTask = dict[str, dict[str, ModelResult]]
"""task -> family -> the family's best model on that task."""


def fmt(x: float | None) -> str:
    """Four significant digits (— when missing)."""
    return "—" if x is None else f"{x:.4g}"


def fmt_stat(s: Stat | None) -> str:
    """`mean ± std` over seeds (the mean alone for one seed)."""
    if s is None:
        return "—"
    return f"{s.mean:.4g} ± {s.std:.2g}" if s.n > 1 else f"{s.mean:.4g}"


def fmt_seconds(x: float | None) -> str:
    """Seconds at a readable precision."""
    if x is None:
        return "—"
    return f"{x:.0f} s" if x >= 100 else f"{x:.3g} s"


def fmt_count(n: float | None) -> str:
    """12.3k, 4.5M."""
    if n is None:
        return "—"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return f"{n:.0f}"


def fmt_ratio(ratio: float) -> str:
    """3.2x, 40x, 1234x."""
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:.0f}x"


def mean_of(m: ModelResult, key: str) -> float | None:
    """Mean over seeds of a record field (train_seconds, infer_seconds_per_sample, ...)."""
    s = m.stat(lambda r: r[key])
    return s.mean if s else None


def rank_verdict(values: dict[str, float], lower_is_better: bool, noun: str, unit: str = "") -> str:
    """Best family, its margin over the runner-up, and over the best baseline when one ran."""
    if not values:
        return "no result"
    if len(values) == 1:
        ((family, value),) = values.items()
        return f"only {family} has a result ({fmt(value)}{unit})"
    order = sorted(values, key=values.__getitem__, reverse=not lower_is_better)
    best, second = order[0], order[1]
    if values[best] == values[second]:
        return f"{best} and {second} tie on {noun} ({fmt(values[best])}{unit})"
    direction = "lower" if lower_is_better else "higher"

    def margin(other: float) -> str:
        return f"{abs(other - values[best]) / abs(other):.0%}" if other else "∞"

    text = (
        f"{best} best on {noun} ({fmt(values[best])}{unit}), {margin(values[second])} "
        f"{direction} than {second}"
    )
    if best == "baseline":
        return text + "; no learned family beats the baseline"
    if "baseline" in values and second != "baseline":
        text += f" and {margin(values['baseline'])} {direction} than the best baseline"
    return text


def speed_verdict(values: dict[str, float], what: str) -> str:
    """Fastest and slowest learned family, and how many times slower."""
    learned = {f: v for f, v in values.items() if f in LEARNED and v > 0}
    if not learned:
        return "no learned family has a time"
    fast = min(learned, key=learned.__getitem__)
    if len(learned) == 1:
        return f"only {fast} among the learned families ({fmt_seconds(learned[fast])} {what})"
    slow = max(learned, key=learned.__getitem__)
    ratio = learned[slow] / learned[fast]
    return f"{fast} fastest ({fmt_seconds(learned[fast])} {what}); {slow} {fmt_ratio(ratio)} slower"


def training_verdict(cells: dict[str, ModelResult]) -> str:
    """Cheapest learned family to train: by seconds, or by parameters when budgets were equal."""
    learned = {f: m for f, m in cells.items() if f in LEARNED}
    seconds = {f: v for f, m in learned.items() if (v := mean_of(m, "train_seconds")) is not None}
    if len(seconds) < 2:
        return speed_verdict(seconds, "training")
    lo, hi = min(seconds.values()), max(seconds.values())
    if lo > 0 and hi / lo < SAME_BUDGET_RATIO:
        params = {f: v for f, m in learned.items() if (v := mean_of(m, "params")) is not None}
        small = min(params, key=params.__getitem__)
        big = max(params, key=params.__getitem__)
        return (
            f"same training time (~{fmt_seconds(statistics.fmean(seconds.values()))}); fewest "
            f"parameters: {small} ({fmt_count(params[small])} vs {big} {fmt_count(params[big])})"
        )
    fast = min(seconds, key=seconds.__getitem__)
    slow = max(seconds, key=seconds.__getitem__)
    ratio = seconds[slow] / max(seconds[fast], 1e-9)
    return f"{fast} trains {fmt_ratio(ratio)} faster than {slow}"


def pairwise_wins(per_task: PerTask) -> list[str]:
    """'diffusion better than rnn on 2 of 3 tasks where both ran', for every pair of families."""
    lines = []
    for i, a in enumerate(FAMILIES):
        for b in FAMILIES[i + 1 :]:
            wins = {a: 0, b: 0}
            for cells in per_task.values():
                if a not in cells or b not in cells:
                    continue
                qa, qb = cells[a].quality, cells[b].quality
                if qa is None or qb is None or qa == qb:
                    continue
                a_wins = (qa < qb) == cells[a].task.lower_is_better
                wins[a if a_wins else b] += 1
            shared = wins[a] + wins[b]
            if shared:
                lead = a if wins[a] >= wins[b] else b
                other = b if lead == a else a
                plural = "s" if shared > 1 else ""
                lines.append(
                    f"{lead} better than {other} on {wins[lead]} of {shared} task{plural} "
                    "where both ran"
                )
    return lines


def pairwise_ratio(
    per_task: PerTask, get: Callable[[ModelResult], float | None], phrase: str
) -> list[str]:
    """'rnn 40x faster to sample than diffusion' (geometric mean over shared tasks), per pair."""
    lines = []
    for i, a in enumerate(LEARNED):
        for b in LEARNED[i + 1 :]:
            logs = []
            for cells in per_task.values():
                if a in cells and b in cells:
                    va, vb = get(cells[a]), get(cells[b])
                    if va and vb and va > 0 and vb > 0:
                        logs.append(math.log(vb / va))
            if not logs:
                continue
            ratio = math.exp(statistics.fmean(logs))
            cheap, costly = (a, b) if ratio >= 1 else (b, a)
            ratio = max(ratio, 1 / ratio)
            over = f"geometric mean over {len(logs)} task{'s' if len(logs) > 1 else ''}"
            if ratio < SAME_RATIO:
                lines.append(f"{a} and {b} within {SAME_RATIO - 1:.0%} ({over})")
            else:
                lines.append(f"{cheap} {fmt_ratio(ratio)} {phrase} than {costly} ({over})")
    return lines


def long_range_verdict(models: list[ModelResult]) -> str:
    """Which models hold the longest sequences, and which fail first (model by model)."""
    longest = {m.model: m.longest_pass()[0] or 0 for m in models if m.longest_pass()[1]}
    if not longest:
        return "no pass/fail reported"
    order = sorted(longest, key=longest.__getitem__, reverse=True)
    top = longest[order[0]]
    if not top:
        return "no model passes any T"
    leaders = [m for m in order if longest[m] == top]
    text = f"{' and '.join(leaders)} hold{'s' if len(leaders) == 1 else ''} longest (T ≤ {top})"
    if longest[order[-1]] < top:
        worst = order[-1]
        text += (
            f"; {worst} {'fails every T' if not longest[worst] else f'only T ≤ {longest[worst]}'}"
        )
    return text


def gradient_verdict(decays: dict[str, tuple[float, int]]) -> str:
    """Which model keeps the most gradient across the lags (norm at the last lag / at lag 0)."""
    if not decays:
        return "no gradient curve reported"
    keep = max(decays, key=lambda m: decays[m][0])
    lose = min(decays, key=lambda m: decays[m][0])
    text = f"{keep} keeps the most gradient (×{decays[keep][0]:.2g} over {decays[keep][1]} lags)"
    if lose != keep:
        text += f"; {lose} the least (×{decays[lose][0]:.2g})"
    return text
