"""The digits diffusion units' sampler sweep, shared with image-user."""

from __future__ import annotations

import torch

from diffrnn.bench.units.digits_diffusion import Sweep, sampler_sweep
from diffrnn.diffusion.gaussian import GaussianDiffusion
from diffrnn.diffusion.unet import ddpm_digits


def test_sweep_curves_are_fd_against_steps_per_sampler_in_a_fixed_order() -> None:
    fd = {"dpmsolver++-10": 3.0, "ddim-10": 5.0, "sde-dpmsolver++-20": 1.0, "ddim-5": 7.0}
    sweep = Sweep(fd, dict.fromkeys(fd, 0.1), {})
    assert sweep.headline == "dpmsolver++-10"
    curves = sweep.curves()
    assert list(curves) == [
        "fd_vs_steps_ddim",
        "fd_vs_steps_dpmsolver++",
        "fd_vs_steps_sde-dpmsolver++",
    ]
    assert curves["fd_vs_steps_ddim"] == {"x": [5, 10], "y": [7.0, 5.0]}


def test_sampler_sweep_scores_each_sampler_on_the_draws_of_one_seed() -> None:
    torch.manual_seed(0)
    model = GaussianDiffusion(ddpm_digits("quick", True, classes=3)).eval()
    labels = torch.tensor([0, 1, 2, 0])
    sweep = sampler_sweep(
        model, (("ddim", 3), ("dpmsolver++", 2)), 4, 7, lambda x: float(x.mean()), labels, 2.0
    )
    again = model.sample(
        4,
        generator=torch.Generator().manual_seed(7),
        sampler="ddim",
        steps=3,
        cond=labels,
        guidance_scale=2.0,
    )
    assert torch.equal(sweep.samples["ddim-3"], again)
    assert sweep.fd["ddim-3"] == float(again.mean())
    assert list(sweep.seconds) == ["ddim-3", "dpmsolver++-2"]
    assert all(s > 0 for s in sweep.seconds.values())
