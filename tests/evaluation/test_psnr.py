"""PSNR against its definition."""

from __future__ import annotations

import math

import pytest
import torch

from diffrnn.evaluation.psnr import psnr


def test_psnr_of_a_constant_error() -> None:
    clean = torch.zeros(4, 1, 8, 8)
    # MSE 0.01 on a peak-to-peak range of 2: 10 log10(4 / 0.01) = 26.02 dB
    assert psnr(clean + 0.1, clean, 2.0) == pytest.approx(10 * math.log10(400.0))
    assert psnr(clean + 0.2, clean, 2.0) == pytest.approx(
        psnr(clean + 0.1, clean, 2.0) - 20 * math.log10(2)
    )
