"""image-user's diffusion units: the guided class-conditional DDPM, the sampler sweep and the
denoising use on the test images, each run end to end on a tiny folder in seconds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from diffrnn.baselines.denoise import wiener
from diffrnn.bench.registry import UnitContext, load_registry
from diffrnn.bench.units import user_images as units
from diffrnn.bench.units.digits_diffusion import Evaluation
from diffrnn.bench.user_images import prepare_user_images, user_images
from diffrnn.data.noisy_inputs import NOISE_FRACTIONS

TINY = Evaluation(samples=16, bound_images=2, bound_stride=100, denoise_steps=5)
SWEEP = (("dpmsolver++", 5), ("ddim", 5), ("ddim", 3))


@pytest.fixture(autouse=True)
def _tiny(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    monkeypatch.setenv("DIFFRNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(units, "EVALUATION", {"quick": TINY})
    monkeypatch.setattr(units, "QUICK_USER_SAMPLERS", SWEEP)


def _folder(root: Path, classes: dict[str, int] | None, side: int = 8) -> Path:
    """Dark and light noisy squares, in class folders (or loose when `classes` is None)."""
    rng = np.random.default_rng(0)
    for k, (name, n) in enumerate((classes or {"": 15, "l": 15}).items()):
        folder = root / name if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = np.clip(rng.normal(60 + 120 * k, 20, (side, side)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8), "L").save(folder / f"{name}{i}.png")
    return root


def _ctx(folder: Path, out: Path) -> UnitContext:
    out.mkdir()
    return UnitContext(
        seed=0, budget_s=1.0, suite="quick", out_dir=out, options=prepare_user_images(folder)
    )


def test_the_diffusion_models_are_registered_on_image_user() -> None:
    task = load_registry()["image-user"]
    assert task.models["ddpm-cond"].family == task.models["ddpm"].family == "diffusion"


def test_ddpm_sweeps_the_samplers_and_denoises_the_test_images(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "pics", {"dark": 15, "light": 15})
    out = units.ddpm_user_images(_ctx(folder, tmp_path / "u"))
    m = out.metrics
    assert list(m["fd_by_sampler"]) == ["dpmsolver++-5", "ddim-5", "ddim-3"]
    assert m["fd"] == m["fd_by_sampler"]["dpmsolver++-5"]  # the headline is the first
    assert all(s > 0 for s in m["seconds_per_image_by_sampler"].values())
    assert out.infer_seconds_per_sample == m["seconds_per_image_by_sampler"]["dpmsolver++-5"]
    # a curve only where a sampler ran at two step counts
    assert out.curves["fd_vs_steps_ddim"]["x"] == [3, 5]
    assert "fd_vs_steps_dpmsolver++" not in out.curves
    assert m["bits_per_dim"] > 0 and m["fd_real_vs_real"] >= 0
    by_sigma, noisy = m["psnr_by_sigma"], m["psnr_noisy_input"]
    assert list(by_sigma) == [str(f) for f in NOISE_FRACTIONS]
    assert m["psnr"] == pytest.approx(sum(by_sigma.values()) / len(by_sigma))
    assert all(math.isfinite(v) for v in [*by_sigma.values(), m["psnr_posterior_mean"]])
    # the tuned filters see the same noisy test images: at sd 0.5 any smoothing helps
    for name in ("psnr_gaussian_blur", "psnr_wiener"):
        assert m[name] > sum(noisy.values()) / len(noisy) + 2.0, name
    assert "accuracy" not in m and out.steps and out.steps > 0  # 24 images: under a batch
    assert any("gaussian_blur" in n and "wiener" in n for n in out.notes)
    assert (tmp_path / "u" / "samples.png").stat().st_size > 0


def test_ddpm_cond_is_guided_and_scored_against_the_classes_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a 1000-step sampler is left out of the sweep on images over LONGEST_SWEEP_VALUES
    monkeypatch.setattr(units, "QUICK_USER_SAMPLERS", (*SWEEP, ("ddim", 1000)))
    monkeypatch.setattr(units, "LONGEST_SWEEP_VALUES", 8 * 8 - 1)
    folder = _folder(tmp_path / "pics", {"a": 12, "b": 12, "c": 12})
    out = units.ddpm_cond_user_images(_ctx(folder, tmp_path / "u"))
    m = out.metrics
    assert 0.0 <= m["accuracy"] <= 1.0
    assert list(m["fd_by_sampler"]) == ["dpmsolver++-5", "ddim-5", "ddim-3"]
    assert m["fd"] == m["fd_by_sampler"]["dpmsolver++-5"] and m["bits_per_dim"] > 0
    assert "psnr" not in m  # the denoising use is the unconditional model's
    assert out.steps and out.steps > 0
    assert any("asking for the 3 classes in turn" in n for n in out.notes)
    assert any("left out: ddim-1000 (64 values per image, over the 63" in n for n in out.notes)


def test_ddpm_cond_without_classes_says_why_in_one_line_and_trains_nothing(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path / "pics", None)
    out = units.ddpm_cond_user_images(_ctx(folder, tmp_path / "u"))
    assert out.metrics == {} and out.steps is None and out.train_seconds == 0
    assert out.notes == [units.NO_CLASSES]


def test_noisy_images_are_the_held_out_splits_with_fixed_noise(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "pics", {"dark": 20, "light": 20})
    data = user_images(prepare_user_images(folder))
    noisy = data.noisy()
    clean, y = noisy.noisy("test", 0.5, 3)
    assert torch.equal(clean, data.unit_scale(data.test)) and y.shape == clean.shape
    assert torch.equal(y, noisy.noisy("test", 0.5, 3)[1])  # the same for every denoiser
    assert not torch.equal(y, noisy.noisy("val", 0.5, 3)[1][: len(y)])
    assert float((y - clean).std()) == pytest.approx(1.0, rel=0.25)  # sd 0.5 of range 2
    assert torch.equal(noisy.train(), data.unit_scale(data.train))
    with pytest.raises(ValueError, match="split must be one of"):
        noisy.noisy("train", 0.5, 3)


def test_per_channel_runs_a_one_channel_filter_on_each_colour() -> None:
    images = np.random.default_rng(0).normal(size=(2, 3, 8, 8))
    out = units.per_channel(wiener)(images, 3.0, 0.2)
    assert out.shape == images.shape
    for c in range(3):
        np.testing.assert_array_equal(out[:, c : c + 1], wiener(images[:, c : c + 1], 3.0, 0.2))
