"""TimeGAN scores on designed data: separable sets score near 0.5, identical sets near 0; the
predictive score rewards synthetic data that carries the real dynamics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffrnn.evaluation.timegan import discriminative_score, predictive_score


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # tiny GRUs; a second thread only spins on a loaded CPU


def _lagged(rng: np.random.Generator, n: int, steps: int = 10) -> np.ndarray:
    """Windows whose last channel is channel 0 one step later (scaled to [0, 1])."""
    x = rng.random((n, steps + 1, 1))
    noise = rng.random((n, steps, 1))
    return np.concatenate([x[:, 1:], noise, x[:, :-1]], axis=-1).astype(np.float32)


def test_discriminative_score_separates_what_differs_and_not_what_is_equal() -> None:
    rng = np.random.default_rng(0)
    real = rng.random((200, 8, 3)).astype(np.float32)
    flat = np.full_like(real, 0.5)
    separable = discriminative_score(real, flat, hidden=8, iterations=60, lr=1e-2, seed=0)
    same = discriminative_score(real, real.copy(), hidden=8, iterations=60, lr=1e-2, seed=0)
    assert separable > 0.45
    assert same < 0.1


def test_predictive_score_rewards_the_real_dynamics() -> None:
    rng = np.random.default_rng(1)
    real, like_real = _lagged(rng, 300), _lagged(rng, 300)
    broken = like_real.copy()
    broken[..., -1] = rng.random(broken.shape[:2])  # last channel no longer follows channel 0
    good = predictive_score(real, like_real, hidden=8, iterations=150, lr=1e-2, seed=0)
    bad = predictive_score(real, broken, hidden=8, iterations=150, lr=1e-2, seed=0)
    assert good < 0.6 * bad
    assert bad == pytest.approx(0.25, abs=0.04)  # min_c E|U - c| = 1/4, at the median
