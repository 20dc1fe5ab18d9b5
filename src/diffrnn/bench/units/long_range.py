"""Long-range memory units: `long-adding` and `long-copy`, the memoryless floors and every cell.

Each unit trains a curriculum, as the papers do: the lengths T in increasing order, each length's
model warm-started from the previous length's trained weights (no weight depends on T), each
length with its own share of the unit's budget (`length_shares`: shares grow with T, as a step's
cost does). It scores every length on a fixed test set per T (the same for every seed and model),
and records the gradient diagnostic ||d loss_T / d x_t|| against the lag at the start of that
length's training (`grad_norm_vs_lag_init_T<T>`: the previous length's weights, or the
initialisation for the first length) and after it (`grad_norm_vs_lag_T<T>`).
Metrics are nested per T: {"mse": {"50": ..., "100": ...}, "passed": {"50": true, ...}}.

Solved means test MSE < 0.01 for adding (Hochreiter & Schmidhuber 1997; the memoryless floor is
1/6) and, for copy, at least `COPY_SOLVED_ACCURACY` (90%) of the remembered symbols reproduced
exactly (`accuracy`: the most probable token at each of the last 10 outputs; chance is 1/8);
copy also reports the cross-entropy, whose memoryless floor is 10 ln 8 / (T + 20).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from torch import Tensor

    from diffrnn.rnn.cells import CellType
    from diffrnn.rnn.long_range import LongRangeConfig, LongRangeTask

ADDING_LENGTHS = (50, 100, 200, 500, 1000)
COPY_LENGTHS = (50, 100, 200)
QUICK_LENGTH = 50
TEST_SEED = 12345  # the test sequences, shared by every model and seed
COPY_SOLVED_ACCURACY = 0.9  # copy counts as solved when this share of the symbols is exact
STEP_OVERHEAD_T = 100
"""The fixed part of a training step's cost, in units of T: one thread, H = 32, batch 32, a step
costs about a + b T, with a worth 15 (GRU) to 200 (minGRU) steps of T (LSTM about 85; BENCHMARKS.md,
long memory), so shares proportional to T + 100 give every length about the same number of
steps."""
CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")


N_TEST = {"quick": 256, "full": 1000}
"""Test sequences per length T."""
N_GRAD = {"quick": 16, "full": 64}
"""Test sequences averaged in the gradient diagnostic."""


def length_shares(lengths: tuple[int, ...]) -> tuple[float, ...]:
    """Each length's share of a unit's budget, proportional to T + `STEP_OVERHEAD_T` (its step's
    cost); they sum to 1 and grow with T. For (50, 100, 200, 500, 1000): 6.4%, 8.5%, 12.8%,
    25.5%, 46.8%; for (50, 100, 200): 23%, 31%, 46%."""
    weights = [t + STEP_OVERHEAD_T for t in lengths]
    return tuple(w / sum(weights) for w in weights)


def solved(task: str, score: float) -> bool:
    """Whether a length counts as solved: adding by its test MSE (`score` < 0.01), copy by the
    share of the remembered symbols exact (`score` >= `COPY_SOLVED_ACCURACY`)."""
    from diffrnn.data.long_range import ADDING_SOLVED_MSE

    if task == "adding":
        return score < ADDING_SOLVED_MSE
    return score >= COPY_SOLVED_ACCURACY


def copy_accuracy(predicted: Tensor, targets: Tensor) -> float:
    """The share of the remembered symbols reproduced exactly.

    Args:
        predicted: (B, T + 20) most probable output tokens (`LongRangeModel.predict`).
        targets: (B, T + 20) copy targets; the symbols are the last `COPY_LENGTH`.

    Returns:
        The fraction of the B x 10 symbol positions where `predicted` equals `targets`.
    """
    from diffrnn.data.long_range import COPY_LENGTH

    hits = predicted[:, -COPY_LENGTH:] == targets[:, -COPY_LENGTH:]  # (B, 10)
    return float(hits.float().mean())


def long_range_recipes(
    task: LongRangeTask, cell: CellType
) -> dict[RecipeSize, Recipe[LongRangeConfig]]:
    """The recipe of a `cell` on long-adding / long-copy (`task`) by suite size; each length T
    continues training the previous length's model.

    Both sizes train the "quick" model (H = 32) with batch 32 at lr 3e-3: the "full" model
    (H = 128, batch 64, lr 2e-3) at 8 CPU s per length solved nothing, while H = 32 let the LSTM
    solve adding at T = 200 in 120 CPU s from scratch (BENCHMARKS.md, long memory); the suites
    differ in their lengths and budgets."""
    from diffrnn.rnn.long_range import long_range
    from diffrnn.training import budgeted

    recipe = Recipe(long_range("quick", task, cell), budgeted(3e-3), batch_size=32)
    return {"quick": recipe, "full": recipe}


def _lengths(ctx: UnitContext, task: str) -> tuple[int, ...]:
    if "lengths" in ctx.options:  # the curriculum runs them shortest first
        return tuple(sorted(int(t) for t in ctx.options["lengths"]))
    if ctx.recipe == "quick":
        return (QUICK_LENGTH,)
    return ADDING_LENGTHS if task == "adding" else COPY_LENGTHS


def _test_set(task: str, length: int, n: int):  # type: ignore[no-untyped-def]
    import torch

    from diffrnn.data.long_range import adding_problem, copy_memory

    generator = torch.Generator().manual_seed(TEST_SEED + length)
    return (adding_problem if task == "adding" else copy_memory)(n, length, generator)


def _memoryless(ctx: UnitContext, task: str) -> UnitOutput:
    import torch
    import torch.nn.functional as F

    from diffrnn.data.long_range import copy_memoryless_log_probs

    metrics: dict[str, dict[str, float | bool]] = {}
    for length in _lengths(ctx, task):
        _, targets = _test_set(task, length, ctx.preset(N_TEST))
        if task == "adding":  # the best constant prediction is E[u1 + u2] = 1
            mse = float(F.mse_loss(torch.ones_like(targets), targets))
            scores = {"mse": mse, "passed": solved(task, mse)}
        else:
            log_probs = copy_memoryless_log_probs(length).expand(len(targets), -1, -1)
            accuracy = copy_accuracy(log_probs.argmax(-1), targets)  # always the first symbol
            scores = {
                "cross_entropy": float(F.nll_loss(log_probs.transpose(1, 2), targets)),
                "accuracy": accuracy,
                "passed": solved(task, accuracy),
            }
        for key, value in scores.items():
            metrics.setdefault(key, {})[str(length)] = value
    floor = "1/6" if task == "adding" else "10 ln 8 / (T + 20), accuracy 1/8"
    return UnitOutput(
        metrics=metrics,
        notes=[f"memoryless floor on the fixed test set; its expected value is {floor}"],
    )


def _train_cell(ctx: UnitContext, task: LongRangeTask, cell: CellType) -> UnitOutput:
    import math

    import torch
    from torch.utils.data import DataLoader

    from diffrnn.data.long_range import LongRangeStream
    from diffrnn.evaluation.gradients import grad_norm_vs_lag
    from diffrnn.rnn.long_range import LongRangeModel
    from diffrnn.training import FitResult
    from diffrnn.training.trainer import evaluate_loss

    recipe = ctx.preset(long_range_recipes(task, cell))
    n_test, n_grad = ctx.preset(N_TEST), ctx.preset(N_GRAD)
    lengths = _lengths(ctx, task)
    metrics: dict[str, dict[str, float | bool]] = {}
    curves: dict[str, list[float] | dict[str, list[float]]] = {}
    results: list[FitResult] = []
    notes: list[str] = []
    trained: LongRangeModel | None = None
    for length, share in zip(lengths, length_shares(lengths), strict=True):
        torch.manual_seed(ctx.seed)
        model = LongRangeModel(recipe.model)
        if trained is not None:  # the curriculum: start from the previous length's weights
            model.load_state_dict(trained.state_dict())
        inputs, targets = _test_set(task, length, n_test)

        def last_loss(x, model=model, probe_targets=targets[:n_grad]):  # type: ignore[no-untyped-def]
            return model.last_step_loss(x, probe_targets)

        probe = model.features(inputs[:n_grad]).detach()
        curves[f"grad_norm_vs_lag_init_T{length}"] = grad_norm_vs_lag(last_loss, probe).tolist()
        stream = LongRangeStream(task, length, recipe.batch_size, seed=ctx.seed)
        result = train_for_unit(
            model,
            DataLoader(stream, batch_size=None),
            ctx,
            recipe.train,
            name=f"T{length}",
            share=share,
        )
        results.append(result)
        trained = model = result.model
        probe = model.features(inputs[:n_grad]).detach()
        curves[f"grad_norm_vs_lag_T{length}"] = grad_norm_vs_lag(last_loss, probe).tolist()
        loss = evaluate_loss(model, [(inputs, targets)])
        if task == "adding":
            scores = {"mse": loss, "passed": solved(task, loss)}
        else:
            accuracy = copy_accuracy(model.predict(inputs), targets)
            scores = {
                "cross_entropy": loss,
                "accuracy": accuracy,
                "passed": solved(task, accuracy),
            }
        for key, value in scores.items():
            metrics.setdefault(key, {})[str(length)] = value
        notes.append(
            f"T={length}: {result.steps} steps of batch {recipe.batch_size} in "
            f"{result.cpu_seconds:.1f} CPU s ({share:.1%} of the budget)"
        )
        if not math.isfinite(loss):
            notes.append(f"T={length}: non-finite test loss")
    return fitted_output(results, metrics, curves=curves, notes=notes)


for _task in ("adding", "copy"):  # partials pickle into the harness's unit processes
    register_unit(
        f"long-{_task}",
        "memoryless",
        family="baseline",
        description="The best prediction that ignores the past: the closed-form floor.",
    )(partial(_memoryless, task=_task))
    for _cell in CELLS:
        register_unit(
            f"long-{_task}",
            _cell,
            family="rnn",
            description=f"A one-layer {_cell} with the {_task} read-out, trained on the lengths T "
            "in increasing order, each warm-started from the previous one.",
        )(partial(_train_cell, task=_task, cell=_cell))
