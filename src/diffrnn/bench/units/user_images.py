"""Units of `image-user`: image synthesis on the user's own folder of images.

`ddpm` trains the digits' U-Net DDPM recipe (`units.digits_diffusion`) on the user's training
images at their size and channels; `ddpm-cond` (class folders only) trains the same U-Net with a
class embedding, labels dropped 10% of the time, and samples it with classifier-free guidance;
`pixel-lstm` trains the digits' pixel LSTM (`rnn.pixel_ar`) over the 256 levels of every value in
raster order (channel by channel for colour), keeping its best validation weights. All are
scored the same way: the Frechet distance of their samples to the held-out (validation and test)
images in the features of a judge trained on the user's training split (a classifier of the
user's classes, or an autoencoder without classes; `evaluation.image_features`), beside the
real-vs-real floor (training against held-out images, the same count); the nearest-neighbour
memorisation share; bits/dim over the 256 levels (exact for the pixel LSTM, the variational bound
for DDPM); and a grid of samples. The diffusion units sweep the samplers (FD and seconds per
image for each sampler and step count, the headline first; `digits_diffusion.sampler_sweep`);
`ddpm-cond` adds the judge's accuracy on the guided samples against the classes asked for. `ddpm`
also denoises the test images (denoise-digits' noise levels and protocol): the reverse process
from the matching noise level (SDEdit) and the one-evaluation posterior mean, beside the Gaussian
blur and Wiener filters tuned on the validation images (`units.denoise_baselines`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffrnn.baselines.denoise import Filter, gaussian_blur, wiener
from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
from diffrnn.bench.units.denoise_baselines import BLUR_SIGMAS, WIENER_WINDOWS, tuned_filter_unit
from diffrnn.bench.units.denoising import score_denoiser
from diffrnn.bench.units.digits_diffusion import (
    CONDITIONAL_SAMPLERS,
    EVALUATION,
    GUIDANCE_SCALE,
    QUICK_SAMPLERS,
    TIMING_IMAGES,
    ddpm_recipes,
    sampler_sweep,
    train_ddpm,
)
from diffrnn.bench.units.pixels import SAMPLES, pixel_recipes
from diffrnn.bench.user_images import NO_CLASSES as WHY_NO_CLASSES
from diffrnn.bench.user_images import TASK, UserImages, user_images

LEVELS = 256
BIN_WIDTH = 2.0 / (LEVELS - 1)
"""Spacing of the 8-bit levels on the [-1, 1] scale."""
QUICK_USER_SAMPLERS: tuple[tuple[str, int], ...] = (
    *QUICK_SAMPLERS,
    ("UniPCMultistepScheduler", 10),
    ("ddpm", 50),
)
"""The quick suite's sweep: image-digits' quick samplers, UniPC and ancestral DDPM on a 50-step
grid (DDPM-1000, the full suite's reference, costs ~40 CPU s on 100 8 x 8 images with the timing:
too much for a quick unit); the full and reference suites sweep image-digits' samplers."""
LONGEST_SWEEP_VALUES = 16 * 16
"""Values per image (C x S x S) up to which the full suite's sweep keeps DDPM-1000: on
image-digits' 500 samples it costs ~100 CPU s at 8 x 8 (BENCHMARKS.md) and at least linearly
more per value, so 32 x 32 RGB (48 times the values) would outrun the full suite's unit time
limit (3 x 600 + 90 CPU s); 16 x 16 greyscale stays near 400 s."""
NO_CLASSES = f"not run: {WHY_NO_CLASSES}."
"""The note of a `ddpm-cond` unit run without classes (a plan leaves it out: only a direct call)."""


@dataclass(frozen=True, eq=False)
class Scoring:
    """What every set of samples of a unit is scored against: the judge trained on the user's
    training split, the training and held-out images (n, C, S, S) in [-1, 1], and the floor."""

    data: UserImages
    judge: Any
    train: Any
    held_out: Any
    fd_real_vs_real: float
    floor_images: int

    def fd(self, samples: Any) -> float:
        """Frechet distance of `samples` (B, C, S, S), snapped to the 256 levels, to the
        held-out images in the judge's features."""
        from diffrnn.evaluation.frechet import frechet_distance

        return frechet_distance(
            self.judge.features(snap(samples)), self.judge.features(self.held_out)
        )

    def metrics(self, samples: Any) -> dict[str, Any]:
        """fd, its floor and the memorisation share of `samples` (B, C, S, S) in [-1, 1]."""
        from diffrnn.evaluation.image_features import memorisation_share

        return {
            "fd": self.fd(samples),
            "fd_real_vs_real": self.fd_real_vs_real,
            "memorisation_share": memorisation_share(snap(samples), self.train, self.held_out),
        }

    def note(self, samples: int) -> str:
        """What the fd compares, for the report."""
        judge = (
            f"a classifier of your {len(self.data.classes)} classes (held-out accuracy "
            f"{self.judge.accuracy:.2f})"
            if self.judge.kind == "classifier"
            else "an autoencoder trained on the training images (no classes)"
        )
        return (
            f"fd: {samples} samples vs the {len(self.held_out)} held-out images in the features "
            f"of {judge}; fd_real_vs_real: {self.floor_images} training images against the same "
            "held-out set"
        )


def scoring(data: UserImages, seed: int) -> Scoring:
    """Train the judge on `data`'s training split and measure the real-vs-real floor."""
    import torch

    from diffrnn.evaluation.frechet import frechet_distance
    from diffrnn.evaluation.image_features import fit_judge

    held = np.concatenate([data.val, data.test])
    train, held_out = data.unit_scale(data.train), data.unit_scale(held)
    labels = torch.from_numpy(data.labels)
    judge = fit_judge(
        train,
        labels[data.train] if data.classes else None,
        seed,
        (held_out, labels[held]) if data.classes else None,
    )
    rng = np.random.default_rng(seed)
    same = rng.choice(len(train), size=min(len(train), len(held)), replace=False)
    floor = frechet_distance(judge.features(train[same]), judge.features(held_out))
    return Scoring(data, judge, train, held_out, floor, len(same))


def snap(samples: Any) -> Any:
    """Samples (B, C, S, S) in [-1, 1] -> the nearest of the 256 levels, in [-1, 1]."""
    return torch_levels(samples).float() / 127.5 - 1


def _grid(samples: Any, ctx: UnitContext) -> None:
    from diffrnn.evaluation.image_features import save_grid

    levels = torch_levels(samples)
    save_grid(levels.numpy().astype(np.uint8), ctx.out_dir / "samples.png")


def torch_levels(samples: Any) -> Any:
    """Samples in [-1, 1] -> their 8-bit levels (uint8 tensor)."""
    import torch

    return torch.round((samples.clamp(-1, 1) + 1) * 127.5).to(torch.uint8)


def per_channel(apply: Filter) -> Filter:
    """`apply`, a filter of (N, 1, S, S) images, run on each channel of (N, C, S, S) ones
    (scipy's Wiener filter reads one channel): the same signature, (N, C, S, S) out."""

    def run(images: np.ndarray, param: Any, noise_sigma: float) -> np.ndarray:
        n, c, h, w = images.shape
        return apply(images.reshape(n * c, 1, h, w), param, noise_sigma).reshape(n, c, h, w)

    return run


FILTERS: tuple[tuple[str, Filter, tuple[Any, ...], str], ...] = (
    ("gaussian_blur", gaussian_blur, BLUR_SIGMAS, "blur_sigma"),
    ("wiener", per_channel(wiener), tuple(float(w) for w in WIENER_WINDOWS), "wiener_window"),
)
"""denoise-digits' classical floors and grids: (metric suffix, filter, grid, parameter name)."""


def _denoising(
    ctx: UnitContext, data: UserImages, model: Any, steps: int
) -> tuple[dict[str, Any], list[str]]:
    """PSNR of the DDPM prior on the noisy test images (SDEdit and the posterior mean) and of the
    tuned filters; the metrics and their notes."""
    import torch

    from diffrnn.diffusion.sdedit import denoise, posterior_mean

    noisy = data.noisy()

    def sdedit(y: torch.Tensor, fraction: float, sigma: float) -> torch.Tensor:
        generator = torch.Generator().manual_seed(ctx.seed)  # each (timed) call draws the same
        return denoise(model, y, sigma, steps, generator)

    by_sigma, noisy_psnr, seconds = score_denoiser(ctx, noisy, sdedit)
    mean_by_sigma, _, _ = score_denoiser(
        ctx, noisy, lambda y, _, sigma: posterior_mean(model, y, sigma), timed=False
    )
    metrics = {
        "psnr": sum(by_sigma.values()) / len(by_sigma),
        "psnr_by_sigma": by_sigma,
        "psnr_noisy_input": noisy_psnr,
        "psnr_posterior_mean": sum(mean_by_sigma.values()) / len(mean_by_sigma),
    }
    filtered = []
    for name, apply, grid, parameter in FILTERS:
        out = tuned_filter_unit(ctx, noisy, apply, grid, parameter)
        metrics[f"psnr_{name}"] = out.metrics["psnr"]
        filtered.append(
            f"{name} "
            + ", ".join(f"{v:.2f}" for v in out.metrics["psnr_by_sigma"].values())
            + f" ({parameter} "
            + ", ".join(str(v) for v in out.metrics[f"{parameter}_by_sigma"].values())
            + ")"
        )
    levels = "/".join(by_sigma)
    notes = [
        f"psnr: denoising the {len(data.test)} test images with Gaussian noise of sd "
        f"{levels} of the data range (PSNR in dB, peak-to-peak 2, mean over the levels): the "
        f"reverse process (DDIM, {steps}-step trailing grid) from the matching noise level "
        f"(SDEdit), {seconds * 1e3:.1f} ms per image; psnr_posterior_mean: the model's x_0 "
        "prediction there (Tweedie's formula, one network evaluation), by level "
        + ", ".join(f"{v:.2f}" for v in mean_by_sigma.values())
        + "; the classical floors with their parameter tuned on the validation images per "
        "level (PSNR by level): " + "; ".join(filtered),
    ]
    return metrics, notes


def _diffusion(ctx: UnitContext, conditional: bool) -> UnitOutput:
    """`ddpm` (unconditional, and the denoising use) or `ddpm-cond` (guided) on the user's
    images."""
    import torch

    from diffrnn.diffusion.likelihood import variational_bound
    from diffrnn.diffusion.unet import ddpm_digits

    data = user_images(ctx.options)
    if conditional and not data.classes:
        return UnitOutput(metrics={}, notes=[NO_CLASSES])
    channels, size = data.images.shape[1], data.images.shape[2]
    recipe = ctx.preset(ddpm_recipes(conditional, size, channels))
    recipe = dataclasses.replace(
        recipe,
        model=ddpm_digits(ctx.recipe, conditional, size, channels, max(len(data.classes), 2)),
        # the loader drops the last partial batch: a folder under a batch would train nothing
        batch_size=min(recipe.batch_size, len(data.train)),
    )
    evaluation = ctx.preset(EVALUATION)
    samplers = QUICK_USER_SAMPLERS if ctx.recipe == "quick" else evaluation.samplers
    if conditional and ctx.recipe == "full":
        samplers = CONDITIONAL_SAMPLERS  # guidance doubles the cost of every step
    values = int(np.prod(data.images.shape[1:]))
    left_out = [s for s in samplers if s[1] >= 1000 and values > LONGEST_SWEEP_VALUES]
    samplers = tuple(s for s in samplers if s not in left_out)
    score = scoring(data, ctx.seed)
    labels = torch.from_numpy(data.labels)
    model, result = train_ddpm(
        ctx,
        recipe,
        images=score.train,
        labels=labels[data.train] if conditional else None,
    )
    n = evaluation.samples
    asked = torch.arange(n) % len(data.classes) if conditional else None  # balanced classes
    sweep = sampler_sweep(
        model,
        samplers,
        n,
        ctx.seed,
        score.fd,
        asked,
        GUIDANCE_SCALE if conditional else 1.0,
    )
    head = sweep.headline
    x = sweep.samples[head]
    metrics = score.metrics(x)
    notes = [score.note(n)]
    if conditional:
        metrics["accuracy"] = float((score.judge.classify(snap(x)) == asked).float().mean())
        notes.append(
            f"class-conditional, classifier-free guidance w = {GUIDANCE_SCALE}, the {n} samples "
            f"asking for the {len(data.classes)} classes in turn; accuracy: the judge's class of "
            "each sample against the class asked for (its own held-out accuracy is the ceiling)"
        )
    index = data.test[: evaluation.bound_images]
    bound = variational_bound(
        model,
        data.unit_scale(index),
        bin_width=BIN_WIDTH,
        stride=evaluation.bound_stride,
        cond=labels[index] if conditional else None,
        generator=torch.Generator().manual_seed(0),
    )
    metrics["bits_per_dim"] = bound.bits_per_dim()
    metrics["fd_by_sampler"] = sweep.fd
    metrics["seconds_per_image_by_sampler"] = sweep.seconds
    _grid(x, ctx)
    notes += [
        f"bits_per_dim: DDPM's variational bound (an upper bound on the NLL) on {len(index)} test "
        f"images over the 256 levels; samples drawn with {samplers[0][0]} in {samplers[0][1]} "
        "steps",
        "fd / seconds per image by sampler: "
        + ", ".join(f"{k} {sweep.fd[k]:.2f} ({sweep.seconds[k] * 1e3:.1f} ms)" for k in sweep.fd)
        + f"; scored batch of {n}, timed on {min(n, TIMING_IMAGES)} (median of 3), "
        f"{ctx.threads} thread(s)"
        + (
            f"; left out: {', '.join(f'{m}-{k}' for m, k in left_out)} ({values} values per "
            f"image, over the {LONGEST_SWEEP_VALUES} it fits the unit's time at)"
            if left_out
            else ""
        ),
    ]
    if not conditional:
        denoised, denoise_notes = _denoising(ctx, data, model, evaluation.denoise_steps)
        metrics.update(denoised)
        notes += denoise_notes
    return fitted_output(
        result,
        metrics,
        infer_seconds_per_sample=sweep.seconds[head],
        throughput=1.0 / sweep.seconds[head],
        throughput_unit="images/s",
        sampler_steps=samplers[0][1],
        curves={"train_loss": result.train_losses, **_steps_curves(sweep)},
        artefacts={"samples": "samples.png"},
        notes=notes,
    )


def _steps_curves(sweep: Any) -> dict[str, Any]:
    """The sweep's FD-against-steps curves of the samplers run at two step counts or more (the
    others are the rows of `fd_by_sampler`)."""
    return {name: c for name, c in sweep.curves().items() if len(c["x"]) > 1}


@register_unit(TASK, "ddpm", family="diffusion")
def ddpm_user_images(ctx: UnitContext) -> UnitOutput:
    """The digits' U-Net DDPM on your images; fd by sampler, bits/dim bound, memorisation,
    denoising PSNR beside the tuned filters."""
    return _diffusion(ctx, conditional=False)


@register_unit(TASK, "ddpm-cond", family="diffusion")
def ddpm_cond_user_images(ctx: UnitContext) -> UnitOutput:
    """The class-conditional U-Net DDPM with classifier-free guidance (class folders only);
    adds the judge's accuracy on the samples against the classes asked for."""
    return _diffusion(ctx, conditional=True)


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
    score = scoring(data, ctx.seed)
    metrics = score.metrics(samples)
    notes = [score.note(len(samples))]
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
