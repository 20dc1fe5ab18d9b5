"""Pixel autoregressive model of the 8x8 digits (`image-digits`, model `pixel-lstm`).

Trains `diffrnn.rnn.pixel_ar.PixelAR` (unconditional, raster order, 17-way categorical per pixel)
on the training split, keeps the weights of its best validation NLL, and reports the exact test
bits/dim: -log2 p(x) / 64 with x the 17 grey levels 0..16, no dequantisation. Samples are
scored like every digits generator, by `diffrnn.evaluation.digit_samples`: Frechet distance to
held-out digits in the in-project classifier's features (100 samples in the quick suite, 500 in
the full one), with the real-vs-real floor, the memorisation share, and the first 64 drawn into
a grid PNG.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit
from diffrnn.bench.units.digits_diffusion import TIMING_IMAGES

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.rnn.pixel_ar import PixelARConfig


SAMPLES = {"quick": 100, "full": 500}
"""Generated images scored (the Frechet set)."""


def pixel_recipes(
    levels: int = 17, shape: tuple[int, ...] = (8, 8)
) -> dict[RecipeSize, Recipe[PixelARConfig]]:
    """The recipe of `pixel-lstm` on image-digits (and image-user: its `levels` and `shape`) by
    suite size: validation NLL every so many steps, the weights of the best kept (1,257
    training digits: the LSTM overfits within minutes)."""
    from diffrnn.rnn.pixel_ar import pixel_lstm
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(
            pixel_lstm("quick", levels=levels, shape=shape),
            budgeted(1e-2, val_every_n_steps=20, keep_best=True),
            batch_size=32,
        ),
        "full": Recipe(
            pixel_lstm("full", levels=levels, shape=shape),
            budgeted(2e-3, val_every_n_steps=50, keep_best=True),
            batch_size=32,
        ),
    }


@register_unit("image-digits", "pixel-lstm", family="rnn")
def pixel_lstm_unit(ctx: UnitContext) -> UnitOutput:
    """LSTM over the 64 pixels in raster order, 17-way softmax per pixel; exact bits/dim."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from diffrnn.data.images import levels_to_unit, load_digits
    from diffrnn.evaluation import digit_samples as scoring
    from diffrnn.evaluation.timing import seconds_per_call
    from diffrnn.rnn.pixel_ar import PixelAR

    digits = load_digits()
    recipe = ctx.preset(pixel_recipes(digits.levels + 1))
    n_samples = ctx.preset(SAMPLES)
    images = torch.from_numpy(digits.images)  # (N, 8, 8) levels 0..16
    labels = torch.from_numpy(digits.labels)
    train = torch.from_numpy(digits.train)
    torch.manual_seed(ctx.seed)
    model = PixelAR(recipe.model)
    loader = seeded_loader(TensorDataset(images[train], labels[train]), recipe.batch_size, ctx.seed)
    val = torch.from_numpy(digits.val)
    val_loader = DataLoader(TensorDataset(images[val], labels[val]), batch_size=len(val))
    result = train_for_unit(model, loader, ctx, recipe.train, val_loader)
    model = result.model
    test = torch.from_numpy(digits.test)
    bits = model.bits_per_dim(images[test])
    samples = model.sample(n_samples, generator=torch.Generator().manual_seed(ctx.seed))
    probe = min(n_samples, TIMING_IMAGES)  # timed as the DDPM units time theirs
    per_sample = (
        seconds_per_call(
            lambda: model.sample(probe, generator=torch.Generator().manual_seed(ctx.seed)),
            warmup=0,  # warmed by the scored batch
        )
        / probe
    )
    unit_scale = levels_to_unit(samples)[:, None]  # (N, 1, 8, 8) in [-1, 1]
    fd = scoring.fd_to_held_out(unit_scale, ctx.seed)
    scoring.save_digit_grid(unit_scale, ctx.out_dir / "samples.png")
    return fitted_output(
        result,
        {
            "fd": fd,
            "fd_real_vs_real": scoring.real_vs_real_fd(ctx.seed),
            "bits_per_dim": bits,
            "memorisation_share": scoring.memorisation_share(unit_scale),
        },
        infer_seconds_per_sample=per_sample,
        throughput=1.0 / per_sample,
        throughput_unit="images/s",
        sampler_steps=64,
        curves={"train_loss": result.train_losses},
        artefacts={"samples": "samples.png"},
        notes=[
            "bits/dim = -log2 p(x) / 64 over the 17 grey levels 0..16 (exact, discrete, "
            f"no dequantisation) on the {len(test)} test digits; uniform scores log2 17 = 4.09",
            f"fd: {n_samples} samples (already on the 17 levels) vs "
            f"{scoring.REFERENCE} held-out digits, classifier features; fd_real_vs_real is "
            "the floor (training vs held-out digits)",
            f"weights of the lowest validation NLL (step {result.best_step} of {result.steps}; "
            f"validated every {recipe.train.val_every_n_steps} steps on the {len(val)} validation "
            "digits): the LSTM overfits 1,257 training digits within minutes",
        ],
    )
