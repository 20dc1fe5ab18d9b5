"""Contiguous chunks of one token stream for stateful truncated backpropagation through time.

The stream is cut into B equal rows (row r is the r-th contiguous slice of the text), and batch k
holds columns [k T, (k + 1) T] of every row: T inputs and, shifted by one, T targets. Row r of batch
k + 1 therefore continues exactly where row r of batch k stopped, so a model may carry its hidden
state from one batch to the next (detached), seeing far more than T characters of context while
backpropagating through only T steps (Williams & Peng 1990; Sutskever 2013, section 2.8.6).

The chunks are resumable (the `state_dict` / `load_state_dict` protocol Lightning saves with a
checkpoint): a run resumed mid-pass continues at the batch after the last one trained on.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import IterableDataset

from diffrnn.errors import CheckpointError


class TBPTTChunks(IterableDataset):
    """Batches `{"tokens": (B, T + 1) long, "reset": () bool}` of contiguous rows.

    `reset` is true on the first batch of each pass, where a carried state must be dropped.

    Args:
        tokens: (N,) long, the token stream.
        batch_size: B, the number of parallel rows.
        seq_len: T, the truncation length.
    """

    def __init__(self, tokens: Tensor, batch_size: int, seq_len: int) -> None:
        row_len = len(tokens) // batch_size
        if row_len < seq_len + 1:
            raise ValueError(
                f"{len(tokens)} tokens are too few for batch_size={batch_size}, seq_len={seq_len}"
            )
        self.rows = tokens[: batch_size * row_len].reshape(batch_size, row_len)  # (B, N // B)
        self.seq_len = seq_len
        self._next = 0  # the chunk the next batch holds (within a pass)
        self._resume_at = 0  # where the next pass starts (set by `load_state_dict`)

    def __len__(self) -> int:
        return (self.rows.shape[1] - 1) // self.seq_len

    def state_dict(self) -> dict[str, int]:
        """The position in the current pass: batches already handed out (0 after a full pass)."""
        return {"next_chunk": self._next % len(self)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Make the next pass start at `state["next_chunk"]` (later passes start at 0).

        Raises:
            CheckpointError: the position is not a chunk of this stream.
        """
        position = state.get("next_chunk") if isinstance(state, dict) else None
        if type(position) is not int or not 0 <= position < len(self):
            raise CheckpointError(
                f"the checkpoint's text position {position!r} is not a chunk of this stream "
                f"(0 to {len(self) - 1}).",
                "delete the checkpoints folder to start afresh.",
            )
        self._resume_at = position

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        first, self._resume_at = self._resume_at, 0
        for k in range(first, len(self)):
            self._next = k + 1  # while batch k is trained on, a checkpoint resumes after it
            start = k * self.seq_len
            yield {
                "tokens": self.rows[:, start : start + self.seq_len + 1],  # (B, T + 1)
                "reset": torch.tensor(k == 0),
            }
