"""Frechet distance between two feature sets (Heusel et al. 2017, the FID formula).

    d^2 = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})

the 2-Wasserstein distance between the Gaussians fitted to each set. The trace of the matrix
square root is taken through symmetric eigendecompositions in float64 (tr (S_1 S_2)^{1/2} equals
tr (S_1^{1/2} S_2 S_1^{1/2})^{1/2}, whose argument is symmetric positive semi-definite), so no
complex parts or `sqrtm` iterations are involved.
"""

from __future__ import annotations

import numpy as np


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues -> 0)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance_from_moments(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Squared Frechet distance of N(mu1, sigma1) and N(mu2, sigma2); mu (F,), sigma (F, F)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def frechet_distance(features1: np.ndarray, features2: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets (N, F) and (M, F).

    Covariances use the unbiased (N - 1) normalisation, as pytorch-fid does. The estimate is
    biased upwards for finite N; compare only numbers computed with the same N.
    """
    a, b = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, F) and (M, F), got {a.shape} and {b.shape}")
    return frechet_distance_from_moments(
        a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False)
    )
