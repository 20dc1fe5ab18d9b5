"""The classical floors of denoise-digits beat the noisy input where noise dominates."""

from __future__ import annotations

import numpy as np

from diffrnn.bench.units.denoise_baselines import gaussian_blur, wiener
from diffrnn.evaluation.digit_samples import noisy_digits
from diffrnn.evaluation.psnr import psnr


def test_blur_and_wiener_raise_psnr_at_sigma_half() -> None:
    import torch

    clean, noisy = noisy_digits("val", 0.5, seed=0)
    before = psnr(noisy.clamp(-1, 1), clean, 2.0)
    for out in (gaussian_blur(noisy.numpy(), 1.0), wiener(noisy.numpy(), 3, 1.0)):
        assert out.shape == noisy.shape and np.isfinite(out).all()
        assert psnr(torch.as_tensor(out).clamp(-1, 1), clean, 2.0) > before + 1.0
    # a blur of width ~0 changes nothing
    assert np.allclose(gaussian_blur(noisy.numpy(), 1e-3), noisy.numpy(), atol=1e-6)
