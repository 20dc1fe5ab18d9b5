"""Character-level text: Tiny Shakespeare, nanoGPT's 90/10 split, a sorted-character vocab."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffrnn.data import registry

TRAIN_FRACTION = 0.9  # nanoGPT's shakespeare_char/prepare.py


@dataclass(frozen=True, eq=False)
class CharCorpus:
    """A character corpus split in two, with its vocabulary (sorted unique characters).

    `train_ids` / `val_ids` are the splits encoded as int64 ids into `vocab`.
    """

    train_text: str
    val_text: str
    vocab: tuple[str, ...]
    train_ids: np.ndarray  # (T_train,) int64
    val_ids: np.ndarray  # (T_val,) int64

    @property
    def vocab_size(self) -> int:
        """Number of distinct characters."""
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of `text`, (len(text),) int64; unknown characters raise."""
        index = {ch: i for i, ch in enumerate(self.vocab)}
        try:
            return np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """The text of a sequence of ids."""
        return "".join(self.vocab[int(i)] for i in ids)


def load_tinyshakespeare() -> CharCorpus:
    """Tiny Shakespeare: first 90% train (1,003,854 chars), last 10% validation (111,540)."""
    path = registry.path("tinyshakespeare", "tinyshakespeare/input.txt")
    text = path.read_text(encoding="utf-8")
    vocab = tuple(sorted(set(text)))
    lookup = np.zeros(max(map(ord, vocab)) + 1, dtype=np.int64)
    lookup[[ord(ch) for ch in vocab]] = np.arange(len(vocab))
    ids = lookup[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]  # (T,)
    n_train = int(len(text) * TRAIN_FRACTION)
    return CharCorpus(
        train_text=text[:n_train],
        val_text=text[n_train:],
        vocab=vocab,
        train_ids=ids[:n_train],
        val_ids=ids[n_train:],
    )
