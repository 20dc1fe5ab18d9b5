"""Units of `image-user`: image synthesis on the user's own folder of images.

`ddpm` trains the digits' U-Net DDPM recipe (`units.digits_diffusion`) on the user's training
images at their size and channels and samples with the recipe's headline fast sampler;
`pixel-lstm` trains the digits' pixel LSTM (`rnn.pixel_ar`) over the 256 levels of every value in
raster order (channel by channel for colour), keeping its best validation weights. Both are
scored the same way: the Frechet distance of their samples to the held-out (validation and test)
images in the features of a judge trained on the user's training split (a classifier of the
user's classes, or an autoencoder without classes; `evaluation.image_features`), beside the
real-vs-real floor (training against held-out images, the same count); the nearest-neighbour
memorisation share; bits/dim over the 256 levels (exact for the pixel LSTM, the variational bound
for DDPM); and a grid of samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
from diffrnn.bench.units.digits_diffusion import (
    EVALUATION,
    TIMING_IMAGES,
    ddpm_recipes,
    train_ddpm,
)
from diffrnn.bench.units.pixels import SAMPLES, pixel_recipes
from diffrnn.bench.user_images import TASK, UserImages, user_images

LEVELS = 256
BIN_WIDTH = 2.0 / (LEVELS - 1)
"""Spacing of the 8-bit levels on the [-1, 1] scale."""


def _scores(data: UserImages, samples: Any, seed: int) -> tuple[dict[str, Any], list[str]]:
    """fd, its floor and the memorisation share of `samples` (B, C, S, S) in [-1, 1]."""
    import torch

    from diffrnn.evaluation.frechet import frechet_distance
    from diffrnn.evaluation.image_features import fit_judge, memorisation_share

    held = np.concatenate([data.val, data.test])
    train, held_out = data.unit_scale(data.train), data.unit_scale(held)
    labels = torch.from_numpy(data.labels)
    judge = fit_judge(
        train,
        labels[data.train] if data.classes else None,
        seed,
        (held_out, labels[held]) if data.classes else None,
    )
    snapped = torch.round((samples.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1  # on the 256 levels
    real = judge.features(held_out)
    rng = np.random.default_rng(seed)
    same = rng.choice(len(train), size=min(len(train), len(held)), replace=False)
    metrics = {
        "fd": frechet_distance(judge.features(snapped), real),
        "fd_real_vs_real": frechet_distance(judge.features(train[same]), real),
        "memorisation_share": memorisation_share(snapped, train, held_out),
    }
    note = (
        f"fd: {len(samples)} samples vs the {len(held)} held-out images in the features of "
        + (
            f"a classifier of your {len(data.classes)} classes (held-out accuracy "
            f"{judge.accuracy:.2f})"
            if judge.kind == "classifier"
            else "an autoencoder trained on the training images (no classes)"
        )
        + f"; fd_real_vs_real: {len(same)} training images against the same held-out set"
    )
    return metrics, [note]


def _grid(samples: Any, ctx: UnitContext) -> None:
    from diffrnn.evaluation.image_features import save_grid

    levels = torch_levels(samples)
    save_grid(levels.numpy().astype(np.uint8), ctx.out_dir / "samples.png")


def torch_levels(samples: Any) -> Any:
    """Samples in [-1, 1] -> their 8-bit levels (uint8 tensor)."""
    import torch

    return torch.round((samples.clamp(-1, 1) + 1) * 127.5).to(torch.uint8)


@register_unit(TASK, "ddpm", family="diffusion")
def ddpm_user_images(ctx: UnitContext) -> UnitOutput:
    """The digits' U-Net DDPM on your images; fd, bits/dim bound, memorisation."""
    import torch

    from diffrnn.diffusion.likelihood import variational_bound
    from diffrnn.evaluation.timing import seconds_per_call

    data = user_images(ctx.options)
    shape = data.images.shape[1:]
    recipe = ctx.preset(ddpm_recipes(sample_size=shape[-1], channels=shape[0]))
    evaluation = ctx.preset(EVALUATION)
    model, result = train_ddpm(ctx, recipe, images=data.unit_scale(data.train))
    sampler, steps = evaluation.samplers[0]
    n = evaluation.samples
    x = model.sample(
        n, generator=torch.Generator().manual_seed(ctx.seed), sampler=sampler, steps=steps
    )  # (n, C, S, S)
    probe = min(n, TIMING_IMAGES)

    def draw_probe() -> Any:
        generator = torch.Generator().manual_seed(ctx.seed)
        return model.sample(probe, generator=generator, sampler=sampler, steps=steps)

    seconds = seconds_per_call(draw_probe, warmup=0) / probe
    metrics, notes = _scores(data, x, ctx.seed)
    test = data.unit_scale(data.test[: evaluation.bound_images])
    bound = variational_bound(
        model,
        test,
        bin_width=BIN_WIDTH,
        stride=evaluation.bound_stride,
        generator=torch.Generator().manual_seed(0),
    )
    metrics["bits_per_dim"] = bound.bits_per_dim()
    _grid(x, ctx)
    notes.append(
        f"bits_per_dim: DDPM's variational bound (an upper bound on the NLL) on {len(test)} test "
        f"images over the 256 levels; samples drawn with {sampler} in {steps} steps"
    )
    return fitted_output(
        result,
        metrics,
        infer_seconds_per_sample=seconds,
        throughput=1.0 / seconds,
        throughput_unit="images/s",
        sampler_steps=steps,
        artefacts={"samples": "samples.png"},
        notes=notes,
    )


@register_unit(TASK, "pixel-lstm", family="rnn")
def pixel_lstm_user_images(ctx: UnitContext) -> UnitOutput:
    """The digits' pixel LSTM over your images' 256 levels, raster order; exact bits/dim."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from diffrnn.evaluation.timing import seconds_per_call
    from diffrnn.rnn.pixel_ar import PixelAR

    data = user_images(ctx.options)
    channels, size = data.images.shape[1], data.images.shape[2]
    shape = (size, size) if channels == 1 else (size, size, channels)
    recipe = ctx.preset(pixel_recipes(LEVELS, shape))
    n_samples = ctx.preset(SAMPLES)

    def raster(index: np.ndarray) -> Any:  # (n, C, S, S) uint8 -> (n, *shape) long
        x = torch.from_numpy(data.images[index]).long()
        return x[:, 0] if channels == 1 else x.permute(0, 2, 3, 1)

    def unraster(levels: Any) -> Any:  # (n, *shape) long -> (n, C, S, S) in [-1, 1]
        x = levels[:, None] if channels == 1 else levels.permute(0, 3, 1, 2)
        return x.float() / 127.5 - 1.0

    torch.manual_seed(ctx.seed)
    model = PixelAR(recipe.model)
    zeros = lambda index: torch.zeros(len(index), dtype=torch.long)  # noqa: E731 (no classes)
    loader = seeded_loader(
        TensorDataset(raster(data.train), zeros(data.train)), recipe.batch_size, ctx.seed
    )
    val_loader = DataLoader(
        TensorDataset(raster(data.val), zeros(data.val)), batch_size=min(len(data.val), 256)
    )
    result = train_for_unit(model, loader, ctx, recipe.train, val_loader)
    model = result.model
    bits = model.bits_per_dim(raster(data.test))
    drawn = model.sample(n_samples, generator=torch.Generator().manual_seed(ctx.seed))
    probe = min(n_samples, TIMING_IMAGES)
    per_sample = (
        seconds_per_call(
            lambda: model.sample(probe, generator=torch.Generator().manual_seed(ctx.seed)),
            warmup=0,
        )
        / probe
    )
    samples = unraster(drawn)
    metrics, notes = _scores(data, samples, ctx.seed)
    metrics["bits_per_dim"] = bits
    _grid(samples, ctx)
    notes += [
        f"bits/dim = -log2 p(x) / {model.config.num_pixels} over the 256 levels (exact, "
        f"discrete) on the {len(data.test)} test images; uniform scores 8",
        f"weights of the lowest validation NLL (step {result.best_step} of {result.steps})",
    ]
    return fitted_output(
        result,
        metrics,
        infer_seconds_per_sample=per_sample,
        throughput=1.0 / per_sample,
        throughput_unit="images/s",
        sampler_steps=model.config.num_pixels,
        artefacts={"samples": "samples.png"},
        notes=notes,
    )
