"""Long-range memory units: `long-adding` and `long-copy`, the memoryless floors and every cell.

Each unit trains one model per length T (the unit's budget split evenly across the lengths) on an
endless seeded stream, scores it on a fixed test set per T (the same for every seed and model), and
records the gradient diagnostic ||d loss_T / d x_t|| against the lag, before and after training.
Metrics are nested per T: {"mse": {"50": ..., "100": ...}, "passed": {"50": true, ...}}.

Solved means MSE < 0.01 for adding (Hochreiter & Schmidhuber 1997) and, for copy, a cross-entropy
below a tenth of the memoryless floor 10 ln 8 / (T + 20).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.rnn.cells import CellType
    from diffrnn.rnn.long_range import LongRangeConfig, LongRangeTask

ADDING_LENGTHS = (50, 100, 200, 400, 1000)
COPY_LENGTHS = (50, 100, 200)
QUICK_LENGTH = 50
TEST_SEED = 12345  # the test sequences, shared by every model and seed
COPY_SOLVED_FRACTION = 0.1  # copy counts as solved below this fraction of the memoryless floor
CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")


N_TEST = {"quick": 256, "full": 1000}
"""Test sequences per length T."""
N_GRAD = {"quick": 16, "full": 64}
"""Test sequences averaged in the gradient diagnostic."""


def long_range_recipes(
    task: LongRangeTask, cell: CellType
) -> dict[RecipeSize, Recipe[LongRangeConfig]]:
    """The recipe of a `cell` on long-adding / long-copy (`task`) by suite size; each length T
    trains a model of its own."""
    from diffrnn.rnn.long_range import long_range
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(long_range("quick", task, cell), budgeted(3e-3), batch_size=32),
        "full": Recipe(long_range("full", task, cell), budgeted(2e-3), batch_size=64),
    }


def _lengths(ctx: UnitContext, task: str) -> tuple[int, ...]:
    if "lengths" in ctx.options:
        return tuple(int(t) for t in ctx.options["lengths"])
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

    from diffrnn.data.long_range import ADDING_SOLVED_MSE, copy_memoryless_log_probs

    key = "mse" if task == "adding" else "cross_entropy"
    scores, passed = {}, {}
    for length in _lengths(ctx, task):
        _, targets = _test_set(task, length, ctx.preset(N_TEST))
        if task == "adding":  # the best constant prediction is E[u1 + u2] = 1
            score = float(F.mse_loss(torch.ones_like(targets), targets))
            passed[str(length)] = score < ADDING_SOLVED_MSE
        else:
            log_probs = copy_memoryless_log_probs(length).expand(len(targets), -1, -1)
            score = float(F.nll_loss(log_probs.transpose(1, 2), targets))
            passed[str(length)] = False
        scores[str(length)] = score
    floor = "1/6" if task == "adding" else "10 ln 8 / (T + 20)"
    return UnitOutput(
        metrics={key: scores, "passed": passed},
        notes=[f"memoryless floor on the fixed test set; its expected value is {floor}"],
    )


def _train_cell(ctx: UnitContext, task: LongRangeTask, cell: CellType) -> UnitOutput:
    import math

    import torch
    from torch.utils.data import DataLoader

    from diffrnn.data.long_range import (
        ADDING_SOLVED_MSE,
        LongRangeStream,
        copy_memoryless_cross_entropy,
    )
    from diffrnn.evaluation.gradients import grad_norm_vs_lag
    from diffrnn.rnn.long_range import LongRangeModel
    from diffrnn.training import FitResult
    from diffrnn.training.trainer import evaluate_loss

    recipe = ctx.preset(long_range_recipes(task, cell))
    n_test, n_grad = ctx.preset(N_TEST), ctx.preset(N_GRAD)
    lengths = _lengths(ctx, task)
    key = "mse" if task == "adding" else "cross_entropy"
    scores, passed, curves = {}, {}, {}
    results: list[FitResult] = []
    notes: list[str] = []
    for length in lengths:
        torch.manual_seed(ctx.seed)
        model = LongRangeModel(recipe.model)
        inputs, targets = _test_set(task, length, n_test)
        probe = model.features(inputs[:n_grad]).detach()

        def last_loss(x, model=model, probe_targets=targets[:n_grad]):  # type: ignore[no-untyped-def]
            return model.last_step_loss(x, probe_targets)

        curves[f"grad_norm_vs_lag_init_T{length}"] = grad_norm_vs_lag(last_loss, probe).tolist()
        stream = LongRangeStream(task, length, recipe.batch_size, seed=ctx.seed)
        result = train_for_unit(
            model,
            DataLoader(stream, batch_size=None),
            ctx,
            recipe.train,
            name=f"T{length}",
            share=1 / len(lengths),
        )
        results.append(result)
        model = result.model
        probe = model.features(inputs[:n_grad]).detach()
        curves[f"grad_norm_vs_lag_T{length}"] = grad_norm_vs_lag(last_loss, probe).tolist()
        score = evaluate_loss(model, [(inputs, targets)])
        scores[str(length)] = score
        if task == "adding":
            passed[str(length)] = score < ADDING_SOLVED_MSE
        else:
            passed[str(length)] = score < COPY_SOLVED_FRACTION * copy_memoryless_cross_entropy(
                length
            )
        notes.append(f"T={length}: {result.steps} steps of batch {recipe.batch_size}")
        if not math.isfinite(score):
            notes.append(f"T={length}: non-finite test loss")
    return fitted_output(results, {key: scores, "passed": passed}, curves=curves, notes=notes)


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
            description=f"A one-layer {_cell} with the {_task} read-out, one model per length T.",
        )(partial(_train_cell, task=_task, cell=_cell))
