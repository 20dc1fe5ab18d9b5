"""Synthetic long-range memory tasks: the adding problem and copy memory, with their floors.

Both follow the protocols of Hochreiter & Schmidhuber (1997) and Arjovsky et al. (2016,
"Unitary Evolution Recurrent Neural Networks", section 4.1-4.2), drawn from a `torch.Generator` so a
seed fixes every batch.

Adding problem, length T: input channel 0 holds T values drawn from U(0, 1), channel 1 marks
exactly two positions, one in each half of the sequence; the target is the sum of the two marked
values. A memoryless model can only predict the mean E[u1 + u2] = 1, whose MSE is
Var(u1 + u2) = 2 / 12 = 1/6.

Copy memory, delay T: the input is 10 symbols drawn uniformly from {1..8}, then T - 1 blanks (0),
a delimiter (9), and 10 more blanks, T + 20 tokens in all; the target is T + 10 blanks followed by
the 10 symbols. A memoryless model predicts a blank for the first T + 10 outputs and a uniform guess
over the 8 symbols for the last 10, so its cross-entropy per output is 10 ln 8 / (T + 20).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import IterableDataset

COPY_SYMBOLS = 8
COPY_LENGTH = 10
BLANK = 0
DELIMITER = COPY_SYMBOLS + 1
COPY_VOCAB = COPY_SYMBOLS + 2  # blank, 8 symbols, delimiter
ADDING_MEMORYLESS_MSE = 1.0 / 6.0  # Var(u1 + u2), u ~ U(0, 1)
ADDING_SOLVED_MSE = 0.01


def adding_problem(
    batch_size: int, length: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """A batch of the adding problem.

    Args:
        batch_size: B.
        length: T, at least 2.
        generator: source of randomness.

    Returns:
        inputs (B, T, 2): values in channel 0, the two markers in channel 1;
        target (B,): the sum of the two marked values.
    """
    if length < 2:
        raise ValueError(f"length must be at least 2, got {length}")
    values = torch.rand(batch_size, length, generator=generator)  # (B, T)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)  # (B,)
    second = torch.randint(half, length, (batch_size,), generator=generator)  # (B,)
    markers = torch.zeros(batch_size, length)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]  # (B,)
    return torch.stack([values, markers], dim=-1), target  # (B, T, 2), (B,)


def copy_memory(batch_size: int, delay: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """A batch of copy memory with 8 symbols and 10 to copy.

    Args:
        batch_size: B.
        delay: T, the number of steps between the last symbol and the last copied output; >= 1.
        generator: source of randomness.

    Returns:
        inputs (B, T + 20) long: symbols, blanks, the delimiter, blanks;
        targets (B, T + 20) long: blanks, then the symbols in the last 10 positions.
    """
    if delay < 1:
        raise ValueError(f"delay must be at least 1, got {delay}")
    total = delay + 2 * COPY_LENGTH
    symbols = torch.randint(1, COPY_SYMBOLS + 1, (batch_size, COPY_LENGTH), generator=generator)
    inputs = torch.full((batch_size, total), BLANK, dtype=torch.long)
    inputs[:, :COPY_LENGTH] = symbols
    inputs[:, delay + COPY_LENGTH - 1] = DELIMITER
    targets = torch.full((batch_size, total), BLANK, dtype=torch.long)
    targets[:, -COPY_LENGTH:] = symbols
    return inputs, targets


def copy_memoryless_cross_entropy(delay: int) -> float:
    """Closed-form cross-entropy (nats per output) of the memoryless copy baseline."""
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (delay + 2 * COPY_LENGTH)


def copy_memoryless_log_probs(delay: int) -> Tensor:
    """The memoryless copy baseline's predictive distribution as log-probabilities.

    Returns:
        (T + 20, 10): blank with probability one for the first T + 10 outputs, uniform over the 8
        symbols for the last 10.
    """
    total = delay + 2 * COPY_LENGTH
    probs = torch.zeros(total, COPY_VOCAB)
    probs[: total - COPY_LENGTH, BLANK] = 1.0
    probs[total - COPY_LENGTH :, 1 : COPY_SYMBOLS + 1] = 1.0 / COPY_SYMBOLS
    return probs.log()


class LongRangeStream(IterableDataset):
    """An endless stream of adding or copy batches from one seeded generator.

    Wrap it as `DataLoader(stream, batch_size=None)`; each item is `(inputs, targets)`. Batch k is
    the k-th draw of a generator seeded with `seed`, so the stream is resumable: `seek(k)` makes
    the next pass start at batch k (a resumed run, at the step it stopped after).
    """

    def __init__(self, task: str, length: int, batch_size: int, seed: int) -> None:
        if task not in ("adding", "copy"):
            raise ValueError(f"task must be 'adding' or 'copy', got {task!r}")
        self.task, self.length, self.batch_size, self.seed = task, length, batch_size, seed
        self._start = 0  # the batch the next pass starts at (set by `seek`)

    def seek(self, batch: int) -> None:
        """Make the next pass start at batch `batch` (later passes start at 0).

        The batches before it are drawn and dropped, which keeps the stream the same as an
        unbroken run's; drawing costs far less than training on them.
        """
        if type(batch) is not int or batch < 0:
            raise ValueError(f"batch must be an int >= 0, got {batch!r}")
        self._start = batch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        start, self._start = self._start, 0
        generator = torch.Generator().manual_seed(self.seed)
        make = adding_problem if self.task == "adding" else copy_memory
        for _ in range(start):
            make(self.batch_size, self.length, generator)
        while True:
            yield make(self.batch_size, self.length, generator)
