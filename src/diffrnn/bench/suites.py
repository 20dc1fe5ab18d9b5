"""Suites as Python data, and the plan of units a `diffrnn compare` invocation runs.

    units = plan(SUITES["quick"], tasks=["long-adding"], seeds=2)

`quick` runs every unit of every task on tiny budgets (the whole suite within 5 minutes on 2
cores: the demo); `full` gives each task the training budget that reaches the targets of its
model issue (its wall time is documented in the README's main-job section); `reference` is the
run committed under `evidence/reference/` that the report's scorecard cites: every task with the
models its claims need, 3 seeds, full-size models (a smaller evaluation where the full one would
not fit: see the units' "reference" presets), compute ladders on the tasks where training cost
is a claim, and the whole suite in about 100 minutes at `--jobs 2 --threads 1` on an idle
2-core machine (its 225 units used 11,742 CPU s in the committed run; a run cut short resumes
with the same command).

A compute ladder (`--budgets 30,120,480`, or a suite's `Ladder`) runs a model at several
training budgets; each rung is a unit of its own, (task, model, seed, budget_s).
`EVIDENCE_BUDGETS` says per task from which budget its verdicts count as evidence.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from diffrnn.bench.registry import Family, SuiteName, Task, get_task, load_registry
from diffrnn.bench.results import UnitKey
from diffrnn.errors import ConfigError

UNIT_TIMEOUT_FACTOR = 3.0
"""A unit is killed after this many times its training budget plus `UNIT_TIMEOUT_SLACK_S`."""
UNIT_TIMEOUT_SLACK_S = 90.0
"""Seconds granted beyond the training budget for loading data and evaluating."""
MAX_SEEDS = 100
"""`--seeds` above this is refused (a typo such as 1000000000 would plan a billion units)."""
MAX_BUDGET_S = 7 * 24 * 3600.0
"""A training budget above a week is refused as a typo."""
UNTRAINED_FAMILIES: tuple[Family, ...] = ("baseline", "reference")
"""Families whose units do not train within a budget (floors, real data): on a compute ladder
they run once, at the top rung."""
MAX_RUNGS = 12
"""`--budgets` lists at most this many rungs."""


@dataclass(frozen=True)
class Ladder:
    """A compute ladder on one task: its models trained at several budgets.

    Attributes:
        budgets: training budgets, seconds; the largest fills the task's tables.
        models: the models that climb it (None: every trained model of the task); the others
            run once, at the largest budget.
    """

    budgets: tuple[float, ...]
    models: tuple[str, ...] | None = None

    @property
    def top(self) -> float:
        """The largest budget."""
        return max(self.budgets)

    def rungs_for(self, model: str) -> tuple[float, ...]:
        """The budgets `model` runs at, ascending."""
        if self.models is None or model in self.models:
            return tuple(sorted(set(self.budgets)))
        return (self.top,)


@dataclass(frozen=True)
class Suite:
    """A named set of budgets.

    Attributes:
        name: "quick", "full" or "reference" (passed to each unit as `ctx.suite`; units build
            the "quick" sizes in the quick suite and the "full" ones otherwise, `ctx.recipe`).
        description: one line for `--help` and the report.
        budget_s: training wall-clock seconds per unit.
        seeds: seeds 0..seeds-1 per (task, model).
        task_budgets: per-task budgets overriding `budget_s`.
        ladders: per-task compute ladders (overriding `task_budgets`).
        task_models: per-task models to run (default: every registered model; `--models`
            overrides it).
        jobs: units run at once by default (None: one per CPU core).
        timeout_factor: a unit is killed after `timeout_factor * (budget + evaluation_s) +
            UNIT_TIMEOUT_SLACK_S` seconds (CPU seconds of its process, see `time_limit_s`).
        evaluation_s: per-task seconds a unit spends beyond training (loading, evaluating,
            sampling), measured, so the time limit of a cheap rung still covers its evaluation.
    """

    name: SuiteName
    description: str
    budget_s: float
    seeds: int
    task_budgets: Mapping[str, float] = field(default_factory=dict)
    ladders: Mapping[str, Ladder] = field(default_factory=dict)
    task_models: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    jobs: int | None = 1
    timeout_factor: float = UNIT_TIMEOUT_FACTOR
    evaluation_s: Mapping[str, float] = field(default_factory=dict)

    def budget_for(self, task: str) -> float:
        """The training budget of one unit of `task` (the top rung on a ladder)."""
        if task in self.ladders:
            return self.ladders[task].top
        return self.task_budgets.get(task, self.budget_s)

    def ladder_for(self, task: str) -> Ladder:
        """The task's ladder (one rung, its budget, when it has none)."""
        return self.ladders.get(task, Ladder((self.budget_for(task),)))

    def time_limit_s(self, task: str, budget_s: float) -> float:
        """Seconds (CPU, see `UnitSpec.time_limit_s`) a unit of `task` with `budget_s` may run
        before it is killed."""
        work = budget_s + self.evaluation_s.get(task, 0.0)
        return self.timeout_factor * work + UNIT_TIMEOUT_SLACK_S

    def default_jobs(self) -> int:
        """Parallel units when `--jobs` is not given."""
        return self.jobs or max(1, os.cpu_count() or 1)


QUICK = Suite(
    name="quick",
    description="every unit of every task on tiny models and 4-second training budgets, one "
    "seed, one unit per core at once (sized for 5 minutes on an idle 2-core machine; timings "
    "are taken under that parallelism)",
    budget_s=4.0,
    seeds=1,
    jobs=None,
)

FULL = Suite(
    name="full",
    description="the training budgets that reach the model issues' targets, 3 seeds, one unit at "
    "a time so timings are clean",
    budget_s=300.0,
    seeds=3,
    task_budgets={
        "forecast-exchange": 720.0,  # TimeGrad must train faster than the peer's 12 minutes
        "forecast-etth1": 300.0,
        "lm-shakespeare": 240.0,  # the 1.65 nats/char target after 4 minutes on 2 cores
        "image-digits": 600.0,
        "speech-fsdd": 300.0,
        "graph-chickenpox": 120.0,
        "graph-losloop": 600.0,
        "long-adding": 600.0,  # five lengths T up to 1000 in one unit
        "long-copy": 300.0,
        "generate-etth1": 300.0,
        "denoise-digits": 300.0,
        "denoise-etth1": 300.0,
        "audio-fsdd": 600.0,
        "forecast-user": 300.0,
        "lm-user": 240.0,
        "graph-user": 120.0,
        "image-user": 600.0,
        "speech-user": 300.0,
        "audio-user": 600.0,
        "generate-user": 300.0,
        "denoise-user": 300.0,
    },
    jobs=1,
)

REFERENCE = Suite(
    name="reference",
    description="the committed evidence run (evidence/reference/): every task, 3 seeds, the "
    "claims' models at full size with compute ladders on image-digits, lm-shakespeare, "
    "forecast-exchange and audio-fsdd, two units at once on one thread each (about 100 "
    "minutes on an idle 2-core machine: its units used 11,742 CPU s in the committed run)",
    budget_s=30.0,
    seeds=3,
    task_budgets={
        "forecast-etth1": 30.0,
        "speech-fsdd": 20.0,  # half official, half leave-one-speaker-out
        "graph-chickenpox": 20.0,  # the recipe's 40 epochs take ~3 CPU s
        "graph-losloop": 30.0,
        "long-adding": 200.0,  # the curriculum T = 50..1000, shares T + 100: 13 s to 94 s per T
        "long-copy": 100.0,  # T = 50, 100, 200: 23, 31 and 46 s
        "generate-etth1": 20.0,
        "denoise-digits": 20.0,
        "denoise-etth1": 20.0,
    },
    ladders={
        "image-digits": Ladder((10.0, 40.0, 120.0), ("ddpm", "pixel-lstm")),
        "lm-shakespeare": Ladder((10.0, 30.0, 120.0), ("lstm", "mdlm-bigru")),
        "forecast-exchange": Ladder(
            (10.0, 30.0, 90.0), ("deepar", "diffusion-forecaster", "timegrad")
        ),
        "audio-fsdd": Ladder((10.0, 30.0, 90.0), ("audio-gru", "audio-diffusion")),
    },
    task_models={
        # the best cell of each family by BENCHMARKS.md (the others are the full suite's)
        "forecast-exchange": (
            "last-value",
            "seasonal-naive",
            "random-walk",
            "linear-ar",
            "deepar",
            "diffusion-forecaster",
            "timegrad",
        ),
        "forecast-etth1": (
            "last-value",
            "linear-ar",
            "lstm",
            "gru",
            "segrnn",
            "diffusion-forecaster",
        ),
        "lm-shakespeare": ("ngram", "lstm", "mdlm-bigru"),
        "image-digits": ("ddpm", "pixel-lstm"),
        "long-adding": ("memoryless", "rnn", "lstm", "gru", "mingru", "minlstm"),
        "long-copy": ("memoryless", "rnn", "lstm", "gru", "mingru", "minlstm"),
    },
    jobs=2,
    timeout_factor=4.0,
    evaluation_s={  # CPU s a unit spends beyond training, measured at these sizes, with margin
        "forecast-exchange": 30.0,  # diffusion forecaster 21 (forecast timed: warm-up + 3)
        "forecast-etth1": 130.0,  # diffusion forecaster: 8 windows x 3.5 CPU s, 4 times
        "lm-shakespeare": 90.0,
        "image-digits": 90.0,
        "speech-fsdd": 30.0,  # 10: features of the 3,000 recordings, leave-one-speaker-out
        "graph-chickenpox": 20.0,
        "graph-losloop": 20.0,
        "long-adding": 20.0,
        "long-copy": 20.0,
        "generate-etth1": 60.0,  # 19-32: the post-hoc discriminator and predictor
        "denoise-digits": 30.0,
        "denoise-etth1": 30.0,
        "audio-fsdd": 160.0,  # 11-28 + the judge, trained by a seed's first unit
    },
)

SUITES: dict[str, Suite] = {suite.name: suite for suite in (QUICK, FULL, REFERENCE)}

EVIDENCE_BUDGETS: dict[str, float] = {
    # training CPU seconds at and above which a task's verdicts count as evidence: where the
    # families' quality had separated in BENCHMARKS.md (to be read off the reference ladders)
    "image-digits": 120.0,  # 1000 steps (ddpm 91 CPU s, pixel LSTM 59): FD 4.9 vs 30.9
    "lm-shakespeare": 120.0,  # 120 s: LSTM 1.526 vs MDLM bi-GRU 2.129 nats/char (issue 15 recipes)
    "speech-fsdd": 20.0,  # the GRU's 97.3% after 18 CPU s against the majority's 10%
    "graph-chickenpox": 10.0,  # the recipe's 40 epochs take 2-3 CPU s; 5 seeds separate
    "forecast-exchange": 320.0,  # TimeGrad's paper recipe (2000 steps); below, spreads overlap
    "forecast-etth1": 300.0,  # the RNNs were still far from converged after 300 s
    "generate-etth1": 300.0,  # after 8 CPU s "no conclusion about the families"
    "graph-losloop": 600.0,  # the full suite's budget, one seed measured
    # the curriculum at 200 CPU s (seed 0): lstm, gru, mingru pass adding at every T to 1000,
    # the tanh RNN at none, its gradient underflowing to 0 at lags >= 199 (BENCHMARKS.md)
    "long-adding": 200.0,
    # at 100 CPU s no cell passes copy at any T (lstm 17% of the symbols at T = 50, minlstm 28%):
    # the reference's copy rows are not evidence; 300 s is not yet measured
    "long-copy": 300.0,
    "denoise-digits": 300.0,  # measured at 300 s over 2 seeds only
    "denoise-etth1": 300.0,
    # the diffusion model leads at 90 CPU s in every seed since issue 15's recipe (recognised
    # 0.62-0.78 vs the GRU's 0.19-0.27, reference run), but the GRU is still climbing there
    # (0.54 after 395 steps in BENCHMARKS.md's issue-8 run, its judge; ~105 CPU s at the reference's
    # 340 steps per 90 s): verdicts wait for 600 s
    "audio-fsdd": 600.0,
}
"""Per task, the training budget (CPU seconds) from which the scorecard gives verdicts; a task
absent here has none known yet (e.g. forecast-user, whose data is the user's)."""


@dataclass(frozen=True)
class UnitSpec:
    """One unit to run: a model on a task with a seed and a training budget.

    Attributes:
        timeout_s: seconds (CPU, see `time_limit_s`) after which the unit's process is killed
            and the unit recorded failed (None: `UNIT_TIMEOUT_FACTOR * budget_s +
            UNIT_TIMEOUT_SLACK_S`).
        ladder: the plan runs this (task, model, seed) at several budgets (a compute ladder),
            so each rung gets a directory of its own.
    """

    task: str
    model: str
    family: Family
    seed: int
    budget_s: float
    suite: SuiteName
    timeout_s: float | None = None
    ladder: bool = False

    @property
    def key(self) -> UnitKey:
        """(task, model, seed, budget_s): what identifies a unit in `results.jsonl`."""
        return (self.task, self.model, self.seed, float(self.budget_s))

    @property
    def time_limit_s(self) -> float:
        """Seconds the unit may run before it is killed: CPU seconds of its process where /proc
        tells them (a busy machine stretches wall time only), else wall seconds."""
        if self.timeout_s is not None:
            return self.timeout_s
        return UNIT_TIMEOUT_FACTOR * self.budget_s + UNIT_TIMEOUT_SLACK_S


def get_suite(name: str) -> Suite:
    """The suite called `name`, or a ConfigError listing the known ones."""
    if name not in SUITES:
        raise ConfigError(f"unknown suite {name!r}.", f"choose one of: {', '.join(SUITES)}.")
    return SUITES[name]


def selected_tasks(
    tasks: Sequence[str] | None,
    user_data: bool,
    user_tasks: Sequence[str] = ("forecast-user",),
) -> list[Task]:
    """The tasks named (checked), else the user's tasks with `--data` (`user_tasks`: those its
    kind of data and, for series, `--uses` make), else every other task."""
    registry = load_registry()
    if tasks:
        chosen = [get_task(name) for name in tasks]
        for task in chosen:
            if task.needs_user_data and not user_data:
                raise ConfigError(
                    f"task {task.name!r} is built from your own file.",
                    "pass it with --data FILE --horizon H."
                    if task.name == "forecast-user"
                    else "pass it with --data PATH.",
                )
            if task.needs_user_data and task.name not in user_tasks:
                made = ", ".join(repr(name) for name in user_tasks)
                raise ConfigError(
                    f"task {task.name!r} is not built from --data as given (that makes {made}).",
                    f"pass --tasks {','.join(user_tasks)}, or --kind to read --data as another "
                    "kind (series: --uses forecast,generate,denoise).",
                )
        return chosen
    if user_data:
        return [get_task(name) for name in user_tasks]
    return [task for task in registry.values() if not task.needs_user_data]


def _check_budget(budget_s: float, option: str) -> None:
    if not (math.isfinite(budget_s) and 0 < budget_s <= MAX_BUDGET_S):
        raise ConfigError(
            f"{option} must be positive seconds up to {MAX_BUDGET_S:.0f} (a week), got {budget_s}.",
            f"pass e.g. {option} 60.",
        )


def plan(
    suite: Suite,
    tasks: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    seeds: int | None = None,
    budget_s: float | None = None,
    user_data: bool = False,
    budgets: Sequence[float] | None = None,
    user_tasks: Sequence[str] = ("forecast-user",),
) -> list[UnitSpec]:
    """The units of `suite`, narrowed by the command line's options.

    Args:
        suite: the budgets and seeds to start from.
        tasks: task names (None: every task of the suite; with `user_data`, the user's task).
        models: model names; each must be registered on at least one chosen task.
        seeds: run seeds 0..seeds-1 (None: the suite's).
        budget_s: training budget per unit overriding the suite's.
        user_data: `--data` was given: default to the task built from the user's file.
        budgets: a compute ladder for every chosen task (`--budgets 30,120,480`): each unit runs
            once per budget. Overrides the suite's budgets and ladders; exclusive with `budget_s`.
        user_tasks: the tasks `--data` makes (by its kind of data and, for series, --uses).

    Returns:
        The units, ordered task by task, model by model, budget by budget (ascending), seed by
        seed. A unit of a task with several rungs has `ladder=True`, except the units of
        `UNTRAINED_FAMILIES`, which run at the top rung only.

    Raises:
        ConfigError: an unknown task or model name, or a non-positive or absurd count or budget.
    """
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(
            f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}.", "pass e.g. --seeds 3."
        )
    if budget_s is not None:
        if budgets is not None:
            raise ConfigError("--budget and --budgets exclude each other.", "pass one of them.")
        _check_budget(budget_s, "--budget")
    if budgets is not None:
        if not budgets or len(budgets) > MAX_RUNGS:
            raise ConfigError(
                f"--budgets takes 1 to {MAX_RUNGS} budgets, got {len(budgets)}.",
                "pass e.g. --budgets 30,120,480.",
            )
        for value in budgets:
            _check_budget(value, "--budgets")
    chosen = selected_tasks(tasks, user_data, user_tasks)
    if models:
        known = {name for task in chosen for name in (*task.models, *task.aliases)}
        unknown = [name for name in models if name not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "(none registered yet)"
            raise ConfigError(
                f"unknown model {unknown[0]!r} for the chosen tasks.", f"choose from: {listed}."
            )
    n_seeds = seeds if seeds is not None else suite.seeds
    units = []
    for task in chosen:
        if budgets is not None:
            ladder = Ladder(tuple(float(b) for b in budgets))
        elif budget_s is not None:
            ladder = Ladder((float(budget_s),))
        else:
            ladder = suite.ladder_for(task.name)
        chosen_models = models or suite.task_models.get(task.name)
        if chosen_models:
            chosen_models = [task.resolve(name) for name in chosen_models]
        for entry in task.models.values():
            if chosen_models and entry.name not in chosen_models:
                continue
            unit_rungs = ladder.rungs_for(entry.name)
            if entry.family in UNTRAINED_FAMILIES:
                unit_rungs = unit_rungs[-1:]
            units.extend(
                UnitSpec(
                    task.name,
                    entry.name,
                    entry.family,
                    seed,
                    budget,
                    suite.name,
                    timeout_s=suite.time_limit_s(task.name, budget),
                    ladder=len(unit_rungs) > 1,
                )
                for budget in unit_rungs
                for seed in range(n_seeds)
            )
    return units
