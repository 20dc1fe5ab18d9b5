"""Residual MLP denoiser: shapes, the three kinds of conditioning."""

from __future__ import annotations

import torch

from diffrnn.diffusion.denoisers import ResidualMLP, ResidualMLPConfig


def test_residual_mlp_shapes_and_conditioning() -> None:
    t = torch.tensor([0, 5, 99])
    x = torch.randn(3, 6)
    plain = ResidualMLP(ResidualMLPConfig(dim=6, hidden=16, depth=2))
    assert plain(x, t).shape == (3, 6)
    labelled = ResidualMLP(ResidualMLPConfig(dim=6, hidden=16, num_classes=4))
    # blocks start as identities (zero-initialised output layers), so perturb them first
    for p in labelled.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    assert not torch.allclose(
        labelled(x, t, torch.tensor([0, 1, 4])), labelled(x, t, torch.tensor([4, 4, 4]))
    )
    vector = ResidualMLP(ResidualMLPConfig(dim=6, hidden=16, cond_dim=5))
    assert vector(x, t, torch.randn(3, 5)).shape == (3, 6)
