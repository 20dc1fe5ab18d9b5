"""TBPTT chunks: rows continue one another across batches; reset only on the first batch."""

from __future__ import annotations

import itertools

import pytest
import torch

from diffrnn.data.tbptt import TBPTTChunks
from diffrnn.errors import CheckpointError


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


def test_a_resumed_pass_continues_after_the_last_batch_handed_out() -> None:
    """Lightning saves `state_dict()` with a checkpoint taken while batch k trains, and calls
    `load_state_dict` on a fresh stream before the resumed run draws: it must get batch k + 1."""
    tokens = torch.arange(200)
    chunks = TBPTTChunks(tokens, batch_size=2, seq_len=9)  # 11 batches a pass
    reference = [batch["tokens"] for batch in chunks]
    stream = iter(chunks)
    for _ in range(4):
        next(stream)  # batch 3 is being trained on
    state = chunks.state_dict()
    fresh = TBPTTChunks(tokens, batch_size=2, seq_len=9)
    fresh.load_state_dict(state)
    resumed = list(fresh)
    assert len(resumed) == 7 and not bool(resumed[0]["reset"])
    assert all(torch.equal(a["tokens"], b) for a, b in zip(resumed, reference[4:], strict=True))
    assert torch.equal(next(iter(fresh))["tokens"], reference[0])  # the next pass starts afresh
    assert chunks.state_dict() == {"next_chunk": 4}
    for _ in stream:
        pass
    assert chunks.state_dict() == {"next_chunk": 0}  # after a whole pass: the next one's start
    for bad in ({"next_chunk": 11}, {"next_chunk": -1}, {"next_chunk": "3"}, {}):
        with pytest.raises(CheckpointError, match="text position"):
            fresh.load_state_dict(bad)
