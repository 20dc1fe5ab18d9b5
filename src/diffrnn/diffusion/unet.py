"""A small 2-D U-Net denoiser for 8x8 images: diffusers' `UNet2DModel`, configured small.

`eps_model(x_t (B, C, H, W), t (B,), cond) -> (B, C_out, H, W)`, C_out = C unless set (2C for a
model that learns its variances, improved DDPM). With `num_classes` set, `cond` is a
(B,) label added to the time embedding through the U-Net's class embedding, which has one extra
row: index `num_classes` is the null class of classifier-free guidance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffrnn.data.images import DIGITS_LEVELS
from diffrnn.diffusion.gaussian import GaussianDiffusionConfig, GaussianProcessConfig
from diffrnn.modeling import config_to_dict
from diffrnn.presets import Size, pick


@dataclass(frozen=True)
class UNetConfig:
    """Args:
    sample_size: H = W of the images.
    channels: C, image channels.
    block_out_channels: channels per resolution (len(...) resolutions, halving H each time).
    attention: whether each resolution's blocks use self-attention.
    layers_per_block: ResNet blocks per resolution.
    norm_num_groups: GroupNorm groups (must divide every block's channels).
    num_classes: if set, class-conditional with a null class at index `num_classes`.
    dropout: dropout inside the ResNet blocks.
    out_channels: channels of the output (None: `channels`; 2 x channels for learned variances).
    """

    sample_size: int = 8
    channels: int = 1
    block_out_channels: tuple[int, ...] = (32, 64)
    attention: tuple[bool, ...] = (False, True)
    layers_per_block: int = 1
    norm_num_groups: int = 8
    num_classes: int | None = None
    dropout: float = 0.0
    out_channels: int | None = None


class UNet(nn.Module):
    """diffusers' UNet2DModel behind the `(x_t, t, cond)` denoiser signature."""

    config_class = UNetConfig

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        from diffusers import UNet2DModel

        if len(config.attention) != len(config.block_out_channels):
            raise ValueError("attention needs one flag per entry of block_out_channels")
        self.config = config
        self.net = UNet2DModel(
            sample_size=config.sample_size,
            in_channels=config.channels,
            out_channels=config.out_channels or config.channels,
            block_out_channels=config.block_out_channels,
            down_block_types=tuple(
                "AttnDownBlock2D" if a else "DownBlock2D" for a in config.attention
            ),
            up_block_types=tuple(
                "AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(config.attention)
            ),
            layers_per_block=config.layers_per_block,
            norm_num_groups=config.norm_num_groups,
            attention_head_dim=None,
            dropout=config.dropout,
            num_class_embeds=None if config.num_classes is None else config.num_classes + 1,
        )

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image, for `GaussianDiffusion.sample`."""
        return (self.config.channels, self.config.sample_size, self.config.sample_size)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """x_t: (B, C, H, W), t: (B,), cond: (B,) labels or None -> (B, C_out, H, W)."""
        return self.net(x_t, t, class_labels=cond).sample


def ddpm_digits(
    size: Size = "full",
    conditional: bool = False,
    sample_size: int = 8,
    channels: int = 1,
    classes: int = 10,
    learned_variance: bool = False,
) -> GaussianDiffusionConfig:
    """The digits DDPM presets (`GaussianDiffusion(config)`): this U-Net with channels (16, 32),
    a cosine schedule and epsilon prediction; "full" has self-attention at the 4 x 4 resolution,
    "quick" none. Class-conditional: `classes` labels (the digits' 10), dropped 10% of the time
    for classifier-free guidance. `sample_size` and `channels` are the images'. With
    `learned_variance`, improved DDPM's learned variances and hybrid loss (lambda 0.001; the
    decoder over the digits' 17 levels, bins of 2/16): the U-Net outputs 2 x `channels`."""
    if conditional and classes < 2:
        raise ValueError(f"classes must be at least 2 for a class-conditional model, got {classes}")
    attention = pick(size, {"quick": (False, False), "full": (False, True)})
    num_classes = classes if conditional else None
    unet = UNetConfig(
        sample_size=sample_size,
        channels=channels,
        block_out_channels=(16, 32),
        attention=attention,
        num_classes=num_classes,
        out_channels=2 * channels if learned_variance else None,
    )
    variance: dict[str, Any] = (
        {"variance": "learned_range", "bin_width": 2.0 / DIGITS_LEVELS} if learned_variance else {}
    )
    return GaussianDiffusionConfig(
        process=GaussianProcessConfig(schedule="cosine", prediction="epsilon", **variance),
        denoiser=f"{UNet.__module__}.{UNet.__qualname__}",
        denoiser_config=config_to_dict(unet),
        num_classes=num_classes,
        cond_drop_prob=0.1 if conditional else 0.0,
    )
