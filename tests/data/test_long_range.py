"""The long-range generators: layout of every batch and the memoryless floors' closed forms."""

from __future__ import annotations

import math
from itertools import islice

import torch
import torch.nn.functional as F

from diffrnn.data.long_range import (
    ADDING_MEMORYLESS_MSE,
    BLANK,
    COPY_LENGTH,
    DELIMITER,
    LongRangeStream,
    adding_problem,
    copy_memory,
    copy_memoryless_cross_entropy,
    copy_memoryless_log_probs,
)


def test_adding_layout_target_is_the_marked_sum() -> None:
    inputs, target = adding_problem(64, 30, torch.Generator().manual_seed(0))
    assert inputs.shape == (64, 30, 2) and target.shape == (64,)
    markers = inputs[..., 1]
    assert torch.equal(markers.sum(1), torch.full((64,), 2.0))
    assert torch.equal(markers[:, :15].sum(1), torch.ones(64))  # one marker in each half
    torch.testing.assert_close((inputs[..., 0] * markers).sum(1), target)


def test_adding_memoryless_floor_is_one_sixth() -> None:
    """Predicting E[target] = 1 scores Var(u1 + u2) = 1/6 (Monte Carlo, 4 standard errors)."""
    _, target = adding_problem(200_000, 10, torch.Generator().manual_seed(1))
    squared = (target - 1.0) ** 2
    stderr = float(squared.std()) / math.sqrt(squared.numel())
    assert abs(float(target.mean()) - 1.0) < 4 * 0.4083 / math.sqrt(200_000)
    assert abs(float(squared.mean()) - ADDING_MEMORYLESS_MSE) < 4 * stderr


def test_copy_layout() -> None:
    delay = 7
    inputs, targets = copy_memory(5, delay, torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (5, delay + 20)
    symbols = inputs[:, :COPY_LENGTH]
    assert bool(((symbols >= 1) & (symbols <= 8)).all())
    assert torch.equal(targets[:, -COPY_LENGTH:], symbols)
    assert bool((targets[:, :-COPY_LENGTH] == BLANK).all())
    assert bool((inputs[:, delay + COPY_LENGTH - 1] == DELIMITER).all())
    assert int((inputs[:, COPY_LENGTH:] != BLANK).sum()) == 5  # only the delimiter after symbols


def test_copy_memoryless_floor_equals_closed_form() -> None:
    for delay in (1, 50, 200):
        _, targets = copy_memory(16, delay, torch.Generator().manual_seed(delay))
        log_probs = copy_memoryless_log_probs(delay).expand(16, -1, -1)  # (B, T + 20, V)
        ce = F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), targets.reshape(-1))
        assert math.isclose(float(ce), 10 * math.log(8) / (delay + 20), rel_tol=1e-6)
        assert math.isclose(float(ce), copy_memoryless_cross_entropy(delay), rel_tol=1e-6)


def test_generators_are_deterministic_under_a_seed() -> None:
    a = adding_problem(4, 12, torch.Generator().manual_seed(3))
    b = adding_problem(4, 12, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_a_sought_stream_starts_at_the_batch_an_unbroken_pass_reaches_there() -> None:
    """`seek(k)` drops the first k batches of the next pass only (a resumed run's stream)."""
    for task in ("adding", "copy"):
        stream = LongRangeStream(task, 12, 4, seed=3)
        unbroken = list(islice(iter(stream), 5))
        stream.seek(3)
        sought = list(islice(iter(stream), 2))
        again = next(iter(stream))
        for (x, y), (x_ref, y_ref) in zip(
            [*sought, again], [*unbroken[3:], unbroken[0]], strict=True
        ):
            assert torch.equal(x, x_ref) and torch.equal(y, y_ref)
