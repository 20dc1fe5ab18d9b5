"""Kneser-Ney n-gram: a proper distribution, and equal to the textbook recursion on a small text."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from diffrnn.baselines.ngram import FALLBACK_DISCOUNT, KneserNeyLM, NGramConfig


def _reference(
    tokens: list[int], order: int, vocab: int, context: tuple[int, ...], w: int
) -> float:
    """Chen & Goodman eq. (26) with dictionaries, straight from the definitions."""
    n = len(tokens)
    grams = {
        k: Counter(tuple(tokens[i : i + k]) for i in range(n - k + 1)) for k in range(1, order + 2)
    }
    prob = 1.0 / vocab
    for k in range(1, order + 1):
        if len(context) < k - 1:
            continue
        counts = grams[k] if k == order else Counter(g[1:] for g in grams[k + 1])
        values = list(counts.values())
        n1, n2 = values.count(1), values.count(2)
        discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else FALLBACK_DISCOUNT
        history = context[len(context) - (k - 1) :] if k > 1 else ()
        total = sum(c for g, c in counts.items() if g[:-1] == history)
        types = sum(1 for g in counts if g[:-1] == history)
        if total > 0:
            prob = (max(counts[(*history, w)] - discount, 0) + discount * types * prob) / total
    return prob


@pytest.mark.parametrize("order", [1, 2, 3])
def test_matches_the_reference_recursion(order: int) -> None:
    rng = np.random.default_rng(order)
    tokens = [int(t) for t in rng.integers(0, 4, 300)] + [0, 1, 2, 3] * 20
    model = KneserNeyLM(NGramConfig(order=order, vocab_size=5)).fit(np.array(tokens))
    for context in [(), (1,), (0, 1), (2, 3), (4, 4)]:
        p = model.distribution(np.array(context, dtype=np.int64))
        kept = context[len(context) - (order - 1) :] if order > 1 else ()
        expected = [_reference(tokens, order, 5, kept, w) for w in range(5)]
        np.testing.assert_allclose(p, expected, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 3, 5])
def test_probabilities_sum_to_one(order: int) -> None:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 7, 2000) * (rng.random(2000) < 0.7)  # skewed, with unseen n-grams
    model = KneserNeyLM(NGramConfig(order=order, vocab_size=8)).fit(tokens)  # id 7 never seen
    for context in ([], [3], [6, 6, 6, 6], list(rng.integers(0, 8, 4))):
        p = model.distribution(np.array(context, dtype=np.int64))
        assert p.shape == (8,) and bool((p > 0).all())
        assert abs(p.sum() - 1.0) < 1e-12


def test_nats_per_token_scores_each_position_with_its_context() -> None:
    tokens = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 1])
    model = KneserNeyLM(NGramConfig(order=3, vocab_size=3)).fit(tokens)
    expected = -np.mean([np.log(model.distribution(tokens[:i])[t]) for i, t in enumerate(tokens)])
    assert abs(model.nats_per_token(tokens) - expected) < 1e-12
    assert model.nats_per_token(tokens) < np.log(3)  # better than uniform on its training text


def test_sampling_is_deterministic_under_a_seed() -> None:
    model = KneserNeyLM(NGramConfig(order=2, vocab_size=3)).fit(np.array([0, 1, 2] * 10))
    a = model.sample(np.array([0]), 8, np.random.default_rng(5))
    b = model.sample(np.array([0]), 8, np.random.default_rng(5))
    assert a.shape == (8,) and np.array_equal(a, b)
