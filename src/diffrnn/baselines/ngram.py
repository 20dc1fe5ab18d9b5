"""Interpolated Kneser-Ney n-gram model over token ids: the floor a character LM must beat.

Chen & Goodman (1998), "An Empirical Study of Smoothing Techniques for Language Modeling", eq. (26)
with one absolute discount per order. For the highest order n and a context h of n - 1 tokens,

    P(w | h) = max(c(h w) - D_n, 0) / c(h .) + D_n N1+(h .) / c(h .) * P(w | h')

where h' drops the oldest token, c are raw counts at the highest order and continuation counts
N1+(. h w) (the number of distinct tokens seen before h w) at lower orders, N1+(h .) is the number
of distinct tokens seen after h, and D_n = n1 / (n1 + 2 n2) from the count-of-counts. A context
never seen backs off to P(w | h') entirely. The recursion ends in the uniform distribution 1 / V.

N-grams are packed into int64 keys (base V) and looked up with `np.searchsorted`, so fitting on a
million characters and scoring a hundred thousand takes a second or two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FALLBACK_DISCOUNT = 0.5  # when no n-gram of an order occurs once or twice (tiny corpora)


@dataclass(frozen=True)
class NGramConfig:
    """Args:
    order: n, the longest n-gram (context of n - 1 tokens).
    vocab_size: V, token ids are 0..V-1.
    """

    order: int = 5
    vocab_size: int = 65

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ValueError(f"order must be at least 1, got {self.order}")
        if self.vocab_size**self.order >= 2**62:
            raise ValueError(
                f"vocab_size**order must fit in int64, got {self.vocab_size}**{self.order}"
            )


@dataclass
class _Level:
    """Counts of one order: sorted n-gram keys with their (raw or continuation) counts, and per
    context its total count and number of distinct followers."""

    keys: np.ndarray
    counts: np.ndarray
    context_keys: np.ndarray
    context_totals: np.ndarray
    context_types: np.ndarray
    discount: float


def _windows(tokens: np.ndarray, n: int, vocab: int) -> np.ndarray:
    """Keys of every n-gram of `tokens`, (N - n + 1,) int64."""
    keys = np.zeros(len(tokens) - n + 1, dtype=np.int64)
    for offset in range(n):
        keys = keys * vocab + tokens[offset : len(tokens) - n + 1 + offset]
    return keys


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[i] where sorted_keys[i] == query, else 0."""
    if len(sorted_keys) == 0:
        return np.zeros(len(queries), dtype=values.dtype)
    idx = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    return np.where(sorted_keys[idx] == queries, values[idx], 0)


def _level(keys: np.ndarray, counts: np.ndarray, vocab: int) -> _Level:
    contexts = keys // vocab
    context_keys, first = np.unique(contexts, return_index=True)
    context_totals = np.add.reduceat(counts, first) if len(counts) else counts
    context_types = np.diff(np.append(first, len(keys)))
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else FALLBACK_DISCOUNT
    return _Level(keys, counts, context_keys, context_totals, context_types, discount)


class KneserNeyLM:
    """Interpolated Kneser-Ney n-gram model; `fit` it on a token array, then score or sample."""

    def __init__(self, config: NGramConfig) -> None:
        self.config = config
        self.levels: list[_Level] = []

    def fit(self, tokens: np.ndarray) -> KneserNeyLM:
        """Count n-grams of every order in `tokens` (N,) int; returns self."""
        tokens = np.asarray(tokens, dtype=np.int64)
        vocab, order = self.config.vocab_size, self.config.order
        if tokens.min() < 0 or tokens.max() >= vocab:
            raise ValueError(
                f"token ids must lie in [0, {vocab}), got [{tokens.min()}, {tokens.max()}]"
            )
        self.levels = []
        for n in range(1, order + 1):
            if n == order:
                keys, counts = np.unique(_windows(tokens, n, vocab), return_counts=True)
            else:  # continuation counts: distinct (n+1)-grams ending in each n-gram
                longer = np.unique(_windows(tokens, n + 1, vocab))
                keys, counts = np.unique(longer % vocab**n, return_counts=True)
            self.levels.append(_level(keys, counts, vocab))
        return self

    def log_prob_next(
        self, contexts: np.ndarray, context_lengths: np.ndarray, nexts: np.ndarray
    ) -> np.ndarray:
        """Natural-log probability of each next token given its context.

        Args:
            contexts: (M, order - 1) int, the preceding tokens, oldest first (right-aligned).
            context_lengths: (M,) int, how many of the rightmost context tokens are real
                (fewer at the start of a text).
            nexts: (M,) int, the token to score.

        Returns:
            (M,) float64 log-probabilities.
        """
        vocab = self.config.vocab_size
        prob = np.full(len(nexts), 1.0 / vocab)
        for n, level in enumerate(self.levels, start=1):
            history = np.zeros(len(nexts), dtype=np.int64)
            for j in range(n - 1):  # the n - 1 most recent context tokens
                history = history * vocab + contexts[:, contexts.shape[1] - (n - 1) + j]
            keys = history * vocab + nexts
            count = _lookup(level.keys, level.counts, keys)
            total = _lookup(level.context_keys, level.context_totals, history)
            types = _lookup(level.context_keys, level.context_types, history)
            seen = (total > 0) & (context_lengths >= n - 1)
            safe_total = np.where(seen, total, 1)
            interpolated = (
                np.maximum(count - level.discount, 0.0) + level.discount * types * prob
            ) / safe_total
            prob = np.where(seen, interpolated, prob)
        return np.log(prob)

    def _context_matrix(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Right-aligned contexts (N, order - 1) of each position of `tokens`, and their lengths."""
        width = self.config.order - 1
        padded = np.concatenate([np.zeros(width, dtype=np.int64), tokens])
        contexts = np.stack([padded[j : j + len(tokens)] for j in range(width)], axis=1)
        lengths = np.minimum(np.arange(len(tokens)), width)
        return contexts.reshape(len(tokens), width), lengths

    def nats_per_token(self, tokens: np.ndarray) -> float:
        """Mean negative log-likelihood of `tokens` (N,) in nats, scored left to right."""
        tokens = np.asarray(tokens, dtype=np.int64)
        contexts, lengths = self._context_matrix(tokens)
        return float(-self.log_prob_next(contexts, lengths, tokens).mean())

    def distribution(self, context: np.ndarray) -> np.ndarray:
        """P(. | context) over the whole vocabulary, (V,), for a context of any length."""
        width = self.config.order - 1
        context = np.asarray(context, dtype=np.int64)[-width:] if width else np.zeros(0, np.int64)
        row = np.concatenate([np.zeros(width - len(context), dtype=np.int64), context])
        vocab = self.config.vocab_size
        contexts = np.broadcast_to(row, (vocab, width))
        lengths = np.full(vocab, len(context))
        return np.exp(self.log_prob_next(contexts, lengths, np.arange(vocab)))

    def sample(self, prompt: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
        """Draw `length` tokens after `prompt` (P,) int; returns (length,) int."""
        history = list(np.asarray(prompt, dtype=np.int64))
        for _ in range(length):
            p = self.distribution(np.array(history, dtype=np.int64))
            history.append(int(rng.choice(len(p), p=p / p.sum())))
        return np.array(history[len(prompt) :], dtype=np.int64)
