"""The 8x8 U-Net denoiser: shapes, class labels with a null class, save/load inside a model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import diffrnn
from diffrnn.diffusion.gaussian import GaussianDiffusion, GaussianProcessConfig
from diffrnn.diffusion.unet import UNet, UNetConfig


def test_unet_maps_images_to_images_and_uses_labels() -> None:
    net = UNet(UNetConfig(block_out_channels=(16, 32), num_classes=10)).eval()
    x, t = torch.randn(4, 1, 8, 8), torch.tensor([0, 10, 500, 999])
    with torch.no_grad():
        a = net(x, t, torch.tensor([0, 1, 2, 3]))
        b = net(x, t, torch.tensor([10, 10, 10, 10]))  # the null class is a valid label
    assert a.shape == (4, 1, 8, 8) and torch.isfinite(b).all()
    assert not torch.allclose(a, b)


def test_gaussian_diffusion_with_unet_round_trips(tmp_path: Path) -> None:
    model = GaussianDiffusion.around(
        UNet,
        UNetConfig(block_out_channels=(16, 32), num_classes=10),
        process=GaussianProcessConfig(schedule="cosine"),
        num_classes=10,
        cond_drop_prob=0.1,
    ).eval()
    model.save_pretrained(tmp_path / "ddpm")
    loaded = diffrnn.load(tmp_path / "ddpm")
    assert loaded.config == model.config
    x, t, y = torch.randn(3, 1, 8, 8), torch.tensor([1, 50, 900]), torch.tensor([1, 2, 10])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, y), model(x, t, y), rtol=0, atol=0)


def test_ddpm_digits_takes_the_number_of_classes_and_keeps_the_digits_ten() -> None:
    from diffrnn.diffusion.unet import ddpm_digits

    assert ddpm_digits("quick", conditional=True) == ddpm_digits("quick", True, 8, 1, 10)
    three = ddpm_digits("quick", True, 16, 3, classes=3)
    assert three.num_classes == 3 and three.denoiser_config["num_classes"] == 3
    net = GaussianDiffusion(three).denoiser.net
    assert net.class_embedding.num_embeddings == 4  # three classes and the null one
    assert ddpm_digits("quick", classes=3).num_classes is None  # unconditional: ignored
    with pytest.raises(ValueError, match="classes must be at least 2"):
        ddpm_digits("quick", True, classes=1)
