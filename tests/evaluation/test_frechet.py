"""Frechet distance: closed forms on Gaussians, identity, shifts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm

from diffrnn.evaluation.frechet import frechet_distance, frechet_distance_from_moments


def test_diagonal_gaussians_closed_form() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    d1, d2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    got = frechet_distance_from_moments(mu1, np.diag(d1), mu2, np.diag(d2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_non_commuting_covariances_match_the_sqrtm_formula() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    expected = np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
    assert frechet_distance_from_moments(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(
        expected, rel=1e-8
    )


def test_set_with_itself_is_zero_and_a_shift_adds_its_squared_norm() -> None:
    x = np.random.default_rng(1).normal(size=(400, 6))
    shift = np.array([0.5, -1.0, 0.0, 2.0, 0.0, 0.1])
    assert abs(frechet_distance(x, x)) < 1e-9
    assert frechet_distance(x, x + shift) == pytest.approx(shift @ shift, rel=1e-9)


def test_sample_estimate_approaches_the_population_distance() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20_000, 3))
    y = rng.normal(size=(20_000, 3)) * 2.0 + 1.0
    assert frechet_distance(x, y) == pytest.approx(3 * 1.0 + 3 * (2.0 - 1.0) ** 2, rel=0.03)
