"""TBPTT chunks: rows continue one another across batches; reset only on the first batch."""

from __future__ import annotations

import itertools

import torch

from diffrnn.data.tbptt import TBPTTChunks


def test_rows_are_contiguous_across_batches() -> None:
    tokens = torch.arange(103)  # increasing integers: every position is checkable
    chunks = TBPTTChunks(tokens, batch_size=4, seq_len=5)
    batches = list(chunks)
    assert len(batches) == len(chunks) == (25 - 1) // 5
    for k, batch in enumerate(batches):
        assert batch["tokens"].shape == (4, 6)
        assert bool(batch["reset"]) == (k == 0)
        expected = torch.arange(4)[:, None] * 25 + k * 5 + torch.arange(6)  # row r starts at 25 r
        assert torch.equal(batch["tokens"], expected)
    for prev, nxt in itertools.pairwise(batches):  # the last target is the next input
        assert torch.equal(prev["tokens"][:, -1], nxt["tokens"][:, 0])
