"""Gaussian diffusion on 8x8 digits: image-digits `ddpm` / `ddpm-cond`, denoise-digits `ddpm`.

One recipe trains a small UNet2DModel (cosine schedule, epsilon prediction, EMA) on the training
split within the unit's budget. Image synthesis is scored by `diffrnn.evaluation.digit_samples`
(Frechet distance to held-out images, memorisation share, classifier accuracy for the
class-conditional model) for each sampler and step count, with wall time per image, and by the
variational bound in bits/dim (`diffrnn.diffusion.likelihood`). Noise reduction starts the reverse
process at the timestep whose noise level matches the observation's (SDEdit, Meng et al. 2022).
The full-size unconditional `ddpm` learns its variances (improved DDPM's hybrid loss,
`ddpm_recipes(learned_variance=True)`), which lowers the bound (BENCHMARKS.md, issue 15 item 4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.diffusion.gaussian import GaussianDiffusionConfig

FULL_SAMPLERS: tuple[tuple[str, int], ...] = (
    ("ddpm", 1000),
    ("ddpm", 50),
    ("ddim", 50),
    ("ddim", 20),
    ("ddim", 10),
    ("dpmsolver++", 20),
    ("dpmsolver++", 10),
    ("dpmsolver++", 5),
    ("sde-dpmsolver++", 20),
    ("sde-dpmsolver++", 10),
    ("sde-dpmsolver++", 5),
    ("UniPCMultistepScheduler", 10),
    ("UniPCMultistepScheduler", 5),
)
"""DDPM-1000 (the headline) and the issue's fast samplers, with the stochastic ones at few steps
(DDPM on a 50-step grid, SDE-DPM-Solver++) and UniPC: on the 1000-step model (16 sampling seeds,
BENCHMARKS.md) the probability-flow ODE itself sits ~15% above DDPM-1000 at any step count, so
the ODE solvers (DDIM, DPM-Solver++) cannot come within 5% of it; SDE-DPM-Solver++ at 10 steps
does, and UniPC reaches the ODE's own distance at 5 steps. Trained 4000 steps, the ODE's gap
closes (DPM-Solver++ 10: 1.02 of DDPM-1000 over 8 seeds)."""

REFERENCE_SAMPLERS: tuple[tuple[str, int], ...] = (
    ("dpmsolver++", 10),
    ("ddpm", 50),
    ("ddim", 10),
    ("sde-dpmsolver++", 10),
    ("UniPCMultistepScheduler", 5),
)
"""The reference suite's samplers, headline DPM-Solver++ 10 (0.91 of DDPM-1000's distance on the
300 s models, 90x faster per image, BENCHMARKS.md): DDPM-1000 alone costs ~100 CPU s for 500
images, and a ladder runs the unit nine times."""
QUICK_SAMPLERS: tuple[tuple[str, int], ...] = (("dpmsolver++", 10), ("ddim", 10))
CONDITIONAL_SAMPLERS: tuple[tuple[str, int], ...] = (("dpmsolver++", 10), ("dpmsolver++", 20))
"""The class-conditional unit's samplers in the full suite (guidance doubles every step's cost;
the sampler-against-steps curve is the unconditional unit's)."""
TIMING_IMAGES = 50
"""Images per timed sampling call: after the scored batch (the warm-up), each sampler's seconds
per image are the median of 3 calls on this many (a full repeat of DDPM-1000 would double the
unit's evaluation)."""
SAMPLER_ORDER = ("ddpm", "ddim", "dpmsolver++", "sde-dpmsolver++", "UniPCMultistepScheduler")
"""The order of the samplers' FD-against-steps curves."""
GUIDANCE_SCALE = 2.0
SNAP_NOISE = 1.0 / 32
"""The snapped bound snaps x_0 estimates where the noise sigma_t = s_t / a_t is below a quarter
of the 2/16 bin (there the nearest level is almost surely the right one)."""


@dataclass(frozen=True)
class Evaluation:
    """How the digits diffusion units evaluate in one suite (the task's protocol, not the
    model's: the recipe is `ddpm_recipes`).

    Attributes:
        samples: generated images scored (the Frechet sets).
        bound_images: held-out images in the bits/dim estimate.
        bound_stride: L_t evaluated at every t < 50 and every stride-th t above.
        denoise_steps: DDIM grid (trailing) on which the partial reverse process runs.
        samplers: (sampler, steps) scored; the first is the headline.
    """

    samples: int
    bound_images: int
    bound_stride: int
    denoise_steps: int
    samplers: tuple[tuple[str, int], ...] = FULL_SAMPLERS


EVALUATION = {
    "quick": Evaluation(100, 32, 100, 20, QUICK_SAMPLERS),
    "full": Evaluation(500, 360, 10, 100),
    "reference": Evaluation(500, 360, 10, 100, REFERENCE_SAMPLERS),
}


def ddpm_recipes(
    conditional: bool = False,
    sample_size: int = 8,
    channels: int = 1,
    learned_variance: bool = False,
) -> dict[RecipeSize, Recipe[GaussianDiffusionConfig]]:
    """The recipe of the U-Net DDPM on the digits (and image-user: its `sample_size` and
    `channels`) by suite size: EMA weights, a 100-step warm-up; `learned_variance`: improved
    DDPM's learned variances and hybrid loss (`diffrnn.diffusion.unet.ddpm_digits`)."""
    from diffrnn.diffusion.unet import ddpm_digits
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(
            ddpm_digits(
                "quick", conditional, sample_size, channels, learned_variance=learned_variance
            ),
            budgeted(2e-3, 100, ema_decay=0.99),
            batch_size=64,
        ),
        "full": Recipe(
            ddpm_digits(
                "full", conditional, sample_size, channels, learned_variance=learned_variance
            ),
            budgeted(2e-3, 100, ema_decay=0.995),
            batch_size=128,
        ),
    }


def train_ddpm(
    ctx: UnitContext,
    recipe: Recipe[GaussianDiffusionConfig],
    images: Any = None,
    labels: Any = None,
) -> Any:
    """Train the U-Net DDPM on the training digits (with their labels when the recipe's model
    is class-conditional), or on `images` (N, C, S, S) in [-1, 1] (with `labels` (N,) for a
    class-conditional model); returns (model, FitResult)."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.data.images import levels_to_unit, load_digits
    from diffrnn.diffusion.gaussian import GaussianDiffusion

    conditional = recipe.model.num_classes is not None
    if images is None:
        digits = load_digits()
        x = levels_to_unit(torch.as_tensor(digits.images[digits.train]))[:, None]  # (N, 1, 8, 8)
        tensors = (x, torch.as_tensor(digits.labels[digits.train])) if conditional else (x,)
    else:
        tensors = (images,) if labels is None else (images, labels)
    torch.manual_seed(ctx.seed)
    model = GaussianDiffusion(recipe.model)
    loader = seeded_loader(TensorDataset(*tensors), recipe.batch_size, ctx.seed, drop_last=True)
    result = train_for_unit(model, loader, ctx, recipe.train)
    return result.model, result


def test_bound(model: Any, evaluation: Evaluation, conditional: bool) -> tuple[Any, Any, int]:
    """The bound on the first `evaluation.bound_images` test digits (the pixel LSTM's split):
    plain, and snapped below the timestep where the noise falls under `SNAP_NOISE`."""
    import torch

    from diffrnn.data.images import levels_to_unit, load_digits
    from diffrnn.diffusion.likelihood import variational_bound

    digits = load_digits()
    index = digits.test[: evaluation.bound_images]
    x0 = levels_to_unit(torch.as_tensor(digits.images[index]))[:, None]  # (B, 1, 8, 8)
    cond = torch.as_tensor(digits.labels[index]) if conditional else None
    sigma_of_t = (1.0 - model.process.alphas_cumprod).sqrt() / model.process.sqrt_alphas_cumprod
    snap_below = int((sigma_of_t < SNAP_NOISE).sum())
    bounds = [
        variational_bound(
            model,
            x0,
            stride=evaluation.bound_stride,
            cond=cond,
            generator=torch.Generator().manual_seed(0),
            snap_below=snap,
        )
        for snap in (0, snap_below)
    ]
    return bounds[0], bounds[1], snap_below


@dataclass
class Sweep:
    """Samples, their score and the wall seconds per image of each (sampler, steps), keyed
    "sampler-steps" in the order swept (the first is the headline)."""

    fd: dict[str, float]
    seconds: dict[str, float]
    samples: dict[str, Any]

    @property
    def headline(self) -> str:
        """The first key swept."""
        return next(iter(self.fd))

    def curves(self) -> dict[str, Any]:
        """`fd_vs_steps_<sampler>`: the score against the step count, one curve per sampler."""
        curves: dict[str, Any] = {}
        by_sampler: dict[str, list[tuple[int, float]]] = {}
        for key, value in self.fd.items():
            sampler, _, steps = key.rpartition("-")
            by_sampler.setdefault(sampler, []).append((int(steps), value))
        for sampler in sorted(by_sampler, key=_sampler_rank):
            points = sorted(by_sampler[sampler])
            curves[f"fd_vs_steps_{sampler}"] = {
                "x": [p[0] for p in points],
                "y": [p[1] for p in points],
            }
        return curves


def _sampler_rank(sampler: str) -> tuple[int, str]:
    known = sampler in SAMPLER_ORDER
    return (SAMPLER_ORDER.index(sampler) if known else len(SAMPLER_ORDER), sampler)


def sampler_sweep(
    model: Any,
    samplers: tuple[tuple[str, int], ...],
    n: int,
    seed: int,
    score: Callable[[Any], float],
    labels: Any = None,
    guidance: float = 1.0,
) -> Sweep:
    """Draw `n` samples with each (sampler, steps) from one seed and score them.

    Args:
        model: a trained `GaussianDiffusion`.
        samplers: (sampler, steps) pairs, the headline first.
        n: samples per sampler (all from `seed`'s generator).
        seed: seeds every draw.
        score: (n, C, H, W) samples -> a Frechet distance (lower is better).
        labels: (n,) class labels for a class-conditional model, else None.
        guidance: classifier-free guidance scale (1: none).

    Returns:
        The `Sweep`; seconds per image are the median of 3 draws of `TIMING_IMAGES` (at most
        `n`) after the scored batch, which warms up.
    """
    import torch

    from diffrnn.evaluation.timing import seconds_per_call

    probe = min(n, TIMING_IMAGES)
    probe_labels = None if labels is None else labels[:probe]
    sweep = Sweep({}, {}, {})
    for sampler, steps in samplers:
        key = f"{sampler}-{steps}"
        generator = torch.Generator().manual_seed(seed)
        options = {"sampler": sampler, "steps": steps, "guidance_scale": guidance}
        x = model.sample(n, generator=generator, cond=labels, **options)

        def draw_probe(options: dict[str, Any] = options) -> Any:
            generator = torch.Generator().manual_seed(seed)
            return model.sample(probe, generator=generator, cond=probe_labels, **options)

        sweep.seconds[key] = seconds_per_call(draw_probe, warmup=0) / probe  # warmed by the batch
        sweep.fd[key] = score(x)
        sweep.samples[key] = x
    return sweep


def synthesis_recipe(ctx: UnitContext, conditional: bool) -> Recipe[GaussianDiffusionConfig]:
    """image-digits' DDPM recipe for `ctx`'s suite: the unconditional full-size model learns its
    variances (issue 15 item 4: bound 3.51 -> 3.24 bits/dim, FD 7.38 -> 7.11 at 120 CPU s over 3
    seeds); the guided model and the quick suite's keep fixed ones (not measured there)."""
    learned = not conditional and ctx.recipe == "full"
    return ctx.preset(ddpm_recipes(conditional, learned_variance=learned))


def synthesis(
    ctx: UnitContext, conditional: bool, recipe: Recipe[GaussianDiffusionConfig] | None = None
) -> UnitOutput:
    """Train the digits DDPM (`recipe`, default this suite's `ddpm_recipes`) and score its
    samples and bound: the image-digits `ddpm` / `ddpm-cond` units (and benchmarks' variants)."""
    import torch

    from diffrnn.evaluation import digit_samples as scoring
    from diffrnn.evaluation.digits_classifier import digits_classifier

    recipe = recipe or synthesis_recipe(ctx, conditional)
    evaluation = ctx.preset(EVALUATION)
    if conditional and ctx.recipe == "full":
        evaluation = dataclasses.replace(evaluation, samplers=CONDITIONAL_SAMPLERS)
    digits_classifier(ctx.seed)  # train or load the evaluator before the clock starts
    model, result = train_ddpm(ctx, recipe)

    n = evaluation.samples
    labels = torch.arange(n) % 10 if conditional else None
    guidance = GUIDANCE_SCALE if conditional else 1.0
    sweep = sampler_sweep(
        model,
        evaluation.samplers,
        n,
        ctx.seed,
        lambda x: scoring.fd_to_held_out(x, ctx.seed),
        labels,
        guidance,
    )
    fd, seconds = sweep.fd, sweep.seconds
    headline = evaluation.samplers[0]
    head_key = sweep.headline
    probe = min(n, TIMING_IMAGES)
    x = sweep.samples[head_key]
    scoring.save_digit_grid(x, ctx.out_dir / "samples.png")

    bound, snapped, snap_below = test_bound(model, evaluation, conditional)
    model.save_pretrained(ctx.out_dir / "model")
    floor = scoring.real_vs_real_fd(ctx.seed)
    metrics: dict[str, Any] = {
        "fd": fd[head_key],
        "fd_real_vs_real": floor,
        "bits_per_dim": bound.bits_per_dim(),
        "bits_per_dim_terms": {
            "prior": float(bound.prior.mean()),
            "decoder": float(bound.decoder.mean()),
            "kl_t_1_to_29": bound.kl_sum(1, 30),
            "kl_t_30_to_998": bound.kl_sum(30, 999),
            "kl_t_999": bound.kl_sum(999, 1000),
        },
        "bits_per_dim_snapped": snapped.bits_per_dim(),
        "memorisation_share": scoring.memorisation_share(x),
        "fd_by_sampler": fd,
        "seconds_per_image_by_sampler": seconds,
    }
    if labels is not None:
        metrics["accuracy"] = scoring.class_accuracy(x, labels, ctx.seed)
    curves: dict[str, Any] = {"train_loss": result.train_losses, **sweep.curves()}
    notes = [
        f"fd: {n} samples ({head_key}, snapped to the 17 grey levels) vs "
        f"{scoring.REFERENCE} held-out digits, features of the in-project digits classifier; "
        f"real-vs-real floor (500 training vs 500 held-out) {floor:.2f}.",
        "fd / seconds per image by sampler: "
        + ", ".join(f"{k} {fd[k]:.1f} ({seconds[k] * 1e3:.1f} ms)" for k in fd)
        + f"; scored batch of {n}, timed on {probe} (median of 3), {ctx.threads} thread(s).",
        f"bits_per_dim: DDPM's variational bound on {bound.prior.shape[0]} test digits "
        f"(17 levels, bin 2/16; L_t at every t < 50 and every {evaluation.bound_stride}th t "
        "above); an upper bound on the NLL, unlike the pixel LSTM's exact NLL. "
        "bits_per_dim_snapped: "
        f"the same bound for the reverse model that snaps its x_0 estimate to the nearest level "
        f"at t < {snap_below} (noise below a quarter bin).",
    ]
    if recipe.model.process.variance == "learned_range":
        notes.append(
            "learned variances and the hybrid loss (improved DDPM, lambda "
            f"{recipe.model.process.vlb_weight:g}): the bound's L_t and decoder use the "
            "model's variances, DDPM sampling draws from them; the ODE samplers use the mean."
        )
    if conditional:
        notes.append(f"class-conditional, classifier-free guidance w = {GUIDANCE_SCALE}.")
    return fitted_output(
        result,
        metrics,
        infer_seconds_per_sample=seconds[head_key],
        throughput=1.0 / seconds[head_key],
        throughput_unit="images/s",
        sampler_steps=headline[1],
        curves=curves,
        artefacts={"samples": "samples.png", "model": "model"},
        notes=notes,
    )


@register_unit("image-digits", "ddpm", family="diffusion")
def ddpm_digits_unit(ctx: UnitContext) -> UnitOutput:
    """Unconditional U-Net DDPM; FD per sampler and steps, bits/dim bound, memorisation."""
    return synthesis(ctx, conditional=False)


@register_unit("image-digits", "ddpm-cond", family="diffusion")
def ddpm_cond_digits_unit(ctx: UnitContext) -> UnitOutput:
    """Class-conditional U-Net DDPM with classifier-free guidance; adds class accuracy."""
    return synthesis(ctx, conditional=True)


def denoise_psnr(
    model: Any, steps: int, seed: int
) -> tuple[dict[str, float], dict[str, float], float]:
    """PSNR (dB) of the learned-prior denoiser on the noisy test digits, per noise level.

    The reverse process (DDIM on a `steps`-step trailing grid) starts at the grid timestep whose
    noise level sqrt((1 - alpha_bar) / alpha_bar) is nearest the observation's, from
    sqrt(alpha_bar) * noisy image (`diffrnn.diffusion.sdedit.denoise`). Returns (psnr by level,
    psnr of the noisy input by level, seconds per image: `timed_call` per level).
    """
    import torch

    from diffrnn.data.noisy_inputs import NOISE_FRACTIONS, noisy_digits
    from diffrnn.diffusion.sdedit import denoise
    from diffrnn.evaluation.psnr import psnr
    from diffrnn.evaluation.timing import timed_call

    by_sigma: dict[str, float] = {}
    noisy_psnr: dict[str, float] = {}
    images = 0
    seconds = 0.0
    for fraction in NOISE_FRACTIONS:
        clean, y = noisy_digits("test", fraction, seed)  # (B, 1, 8, 8) each

        def run(y: Any = y, fraction: float = fraction) -> Any:
            generator = torch.Generator().manual_seed(seed)  # every timed call draws the same
            return denoise(model, y, 2.0 * fraction, steps, generator)  # data range 2 in [-1, 1]

        x0, wall = timed_call(run)
        seconds += wall
        by_sigma[str(fraction)] = psnr(x0, clean, 2.0)
        noisy_psnr[str(fraction)] = psnr(y.clamp(-1, 1), clean, 2.0)
        images += clean.shape[0]
    return by_sigma, noisy_psnr, seconds / images


def posterior_mean_psnr(model: Any, seed: int) -> dict[str, float]:
    """PSNR (dB) by noise level of the model's one-evaluation posterior mean E[x_0 | y]
    (`diffrnn.diffusion.sdedit.posterior_mean`) on the same noisy test digits."""
    from diffrnn.data.noisy_inputs import NOISE_FRACTIONS, noisy_digits
    from diffrnn.diffusion.sdedit import posterior_mean
    from diffrnn.evaluation.psnr import psnr

    by_sigma: dict[str, float] = {}
    for fraction in NOISE_FRACTIONS:
        clean, y = noisy_digits("test", fraction, seed)  # (B, 1, 8, 8) each
        by_sigma[str(fraction)] = psnr(posterior_mean(model, y, 2.0 * fraction), clean, 2.0)
    return by_sigma


@register_unit("denoise-digits", "ddpm", family="diffusion")
def ddpm_denoise_unit(ctx: UnitContext) -> UnitOutput:
    """Noise reduction with the learned prior: the reverse process from the matching noise level."""
    model, result = train_ddpm(ctx, ctx.preset(ddpm_recipes()))
    steps = ctx.preset(EVALUATION).denoise_steps
    by_sigma, noisy_psnr, seconds = denoise_psnr(model, steps, ctx.seed)
    mean_by_sigma = posterior_mean_psnr(model, ctx.seed)
    from diffrnn.bench.units.denoising import diffusion_denoiser_output

    return diffusion_denoiser_output(
        result,
        (by_sigma, noisy_psnr, seconds),
        mean_by_sigma,
        steps,
        "image",
        "psnr: mean over sigma = 0.1/0.3/0.5 of the data range of PSNR (dB, peak-to-peak 2) "
        "on the 360 test digits",
        "sigma",
    )
