"""Learned units of the noise-reduction tasks run on the quick suite and beat the noisy input."""

from __future__ import annotations

import math

import pytest
import torch

from diffrnn.bench.registry import UnitContext, load_registry
from diffrnn.bench.units.denoising import bigru_digits_unit, bigru_etth1_unit, ddpm_etth1_unit


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_denoise_etth1_is_registered_with_its_units() -> None:
    task = load_registry()["denoise-etth1"]
    assert task.primary_metric == "psnr" and not task.lower_is_better
    assert {"bigru", "ddpm", "moving-average", "gaussian-smoothing", "savitzky-golay"} <= set(
        task.models
    )
    assert "bigru" in load_registry()["denoise-digits"].models


@pytest.mark.parametrize("unit", [bigru_etth1_unit, ddpm_etth1_unit, bigru_digits_unit])
def test_quick_unit_reports_psnr_by_noise_level_above_the_noisy_input(unit, tmp_path) -> None:
    out = unit(UnitContext(seed=0, budget_s=1.5, suite="quick", out_dir=tmp_path))
    by_sigma, noisy = out.metrics["psnr_by_sigma"], out.metrics["psnr_noisy_input"]
    assert set(by_sigma) == {"0.1", "0.3", "0.5"}
    assert out.metrics["psnr"] == pytest.approx(sum(by_sigma.values()) / 3)
    assert all(math.isfinite(v) for v in by_sigma.values())
    assert by_sigma["0.5"] > noisy["0.5"] + 2.0  # noise dominates there: any prior helps
    assert out.params > 0 and out.infer_seconds_per_sample > 0
