"""The classical denoising filters keep what they should and beat the noisy input where noise
dominates."""

from __future__ import annotations

import numpy as np

from diffrnn.baselines.denoise import gaussian_blur, wiener
from diffrnn.data.noisy_inputs import noisy_digits
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


def test_time_filters_keep_what_they_should_and_reduce_noise_on_etth1() -> None:
    import torch

    from diffrnn.baselines.denoise import (
        gaussian_smoothing,
        moving_average,
        savitzky_golay,
    )
    from diffrnn.data.noisy_inputs import noisy_etth1

    t = np.arange(24.0)
    quadratic = np.stack([0.2 + 0.01 * t, 0.5 - 0.001 * (t - 12) ** 2], axis=1)[None]  # (1, 24, 2)
    np.testing.assert_allclose(savitzky_golay(quadratic, (9, 2)), quadratic, atol=1e-12)
    constant = np.full((2, 24, 3), 0.4)
    np.testing.assert_allclose(moving_average(constant, 7), constant)
    np.testing.assert_allclose(gaussian_smoothing(constant, 2.0), constant)
    noisy_windows = np.random.default_rng(0).random((2, 24, 3))
    np.testing.assert_allclose(moving_average(noisy_windows, 1), noisy_windows)  # width 1: none
    # the filters act along time only: a window constant in time but not across channels stays
    ramp = np.broadcast_to(np.array([0.1, 0.5, 0.9]), (1, 24, 3)).copy()
    np.testing.assert_allclose(moving_average(ramp, 5), ramp)

    clean, noisy = noisy_etth1("val", 0.5, seed=0)
    before = psnr(noisy.clamp(0, 1), clean, 1.0)
    for out in (
        moving_average(noisy.numpy(), 9),
        gaussian_smoothing(noisy.numpy(), 3.0),
        savitzky_golay(noisy.numpy(), (23, 2)),
    ):
        assert out.shape == noisy.shape
        assert psnr(torch.as_tensor(out).clamp(0, 1), clean, 1.0) > before + 3.0
