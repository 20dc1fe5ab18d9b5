"""Tiny Shakespeare: nanoGPT's split sizes, a 65-symbol vocabulary, lossless encode/decode."""

from __future__ import annotations

import numpy as np

from diffrnn.data.text import load_tinyshakespeare


def test_split_sizes_and_vocab() -> None:
    corpus = load_tinyshakespeare()
    assert (len(corpus.train_text), len(corpus.val_text)) == (1_003_854, 111_540)
    assert corpus.vocab_size == 65 and corpus.vocab[0] == "\n" and corpus.vocab[1] == " "
    assert list(corpus.vocab) == sorted(corpus.vocab)
    assert corpus.train_ids.shape == (1_003_854,) and corpus.val_ids.dtype == np.int64
    assert corpus.train_text.startswith("First Citizen:")


def test_encode_decode_round_trip() -> None:
    corpus = load_tinyshakespeare()
    np.testing.assert_array_equal(corpus.encode(corpus.val_text), corpus.val_ids)
    assert corpus.decode(corpus.train_ids[:5000]) == corpus.train_text[:5000]
    assert corpus.encode("a") == corpus.vocab.index("a")
