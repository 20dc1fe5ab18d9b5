"""The 8x8 U-Net denoiser: shapes, class labels with a null class, save/load inside a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import diffrnn
from diffrnn.diffusion.gaussian import (
    GaussianDiffusion,
    GaussianDiffusionConfig,
    GaussianProcessConfig,
)
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


def test_learned_variance_digits_model_round_trips_through_json(tmp_path: Path) -> None:
    from diffrnn.diffusion.unet import ddpm_digits
    from diffrnn.modeling import config_from_dict, config_to_dict

    config = ddpm_digits("quick", learned_variance=True)
    assert config.process.variance == "learned_range" and config.process.bin_width == 0.125
    assert ddpm_digits("quick").process == GaussianProcessConfig(schedule="cosine")  # default off
    text = json.dumps(config_to_dict(config))
    assert config_from_dict(GaussianDiffusionConfig, json.loads(text), "config") == config
    torch.manual_seed(0)
    model = GaussianDiffusion(config).eval()
    x, t = torch.randn(3, 1, 8, 8), torch.tensor([0, 50, 900])
    with torch.no_grad():
        out = model(x, t)
    assert out.shape == (3, 2, 8, 8)  # the prediction and v
    model.save_pretrained(tmp_path / "iddpm")
    loaded = diffrnn.load(tmp_path / "iddpm")
    assert loaded.config == config
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t), out, rtol=0, atol=0)
    model.train()
    assert torch.isfinite(model.loss(x))
