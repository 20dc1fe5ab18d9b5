"""Digits diffusion: tables for BENCHMARKS.md from one trained `image-digits` `ddpm` unit.

The unit itself measures the Frechet distance per sampler and step count with wall time per
image; this script reads its `result.json`, loads the trained model (the unit's `model` artefact,
or the EMA weights of its last Lightning checkpoint) and adds, on the same model:

- the variational bound on the 360 test digits (the pixel LSTM's split) term by term, plain and
  with x_0 snapped to the data levels at low noise;
- the Frechet distance of every sampler of the recipe over sampling seeds 1..N (`--fd-seeds N`),
  or of any samplers and diffusers options (`--sweep ddim:50:eta=1.0 dpmsolver++:10 ...`);
- denoise-digits PSNR of the learned prior (SDEdit start) beside the tuned Gaussian blur and
  Wiener floors, on the same noisy test digits.

    diffrnn train --task image-digits --model ddpm --suite full --max-steps 1000 --out runs/ddpm
    PYTHONPATH=src python benchmarks/digits_diffusion.py --run runs/ddpm
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.units.denoise_baselines import gaussian_blur_unit, wiener_unit
from diffrnn.bench.units.digits_diffusion import EVALUATION, denoise_psnr, test_bound
from diffrnn.diffusion.gaussian import GaussianDiffusion
from diffrnn.diffusion.unet import ddpm_digits


def load_model(run: Path, weights: str = "ema") -> GaussianDiffusion:
    """The unit's saved model, else the `weights` ("ema" or "raw") of its last checkpoint."""
    import diffrnn

    for saved in (run / "artefacts" / "model", run / "model"):
        if saved.is_dir() and weights == "ema":
            return diffrnn.load(saved)
    model = GaussianDiffusion(ddpm_digits("full"))
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    prefix = "ema.module." if weights == "ema" else "model."
    weights = {k[len(prefix) :]: v for k, v in state["state_dict"].items() if k.startswith(prefix)}
    model.load_state_dict(weights)
    return model.eval()


def sampler_table(metrics: dict[str, Any]) -> list[str]:
    fd, seconds = metrics["fd_by_sampler"], metrics["seconds_per_image_by_sampler"]
    reference = fd.get("ddpm-1000")
    ref_seconds = seconds.get("ddpm-1000")
    rows = [
        "| sampler | steps | FD | FD / DDPM-1000 | ms per image | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for key, value in fd.items():
        name, steps = key.rsplit("-", 1)
        ratio = f"{value / reference:.3f}" if reference else "-"
        speed = f"{ref_seconds / seconds[key]:.0f}x" if ref_seconds else "-"
        rows.append(
            f"| {name} | {steps} | {value:.2f} | {ratio} | {seconds[key] * 1e3:.2f} | {speed} |"
        )
    return rows


def parse_sampler(spec: str) -> tuple[str, int, dict[str, Any]]:
    """ "dpmsolver++:10:lambda_min_clipped=-5.1,solver_order=3" -> (sampler, steps, options);
    values are read as JSON where they parse ("true", "3", "-5.1"), else kept as text."""
    name, steps, *rest = spec.split(":")
    options: dict[str, Any] = {}
    for item in ",".join(rest).split(","):
        if item:
            key, value = item.split("=", 1)
            try:
                options[key] = json.loads(value)
            except json.JSONDecodeError:
                options[key] = value
    return name, int(steps), options


def sweep(model: GaussianDiffusion, n: int, specs: list[str], seeds: list[int]) -> list[str]:
    """FD (mean, sd over `seeds`) and wall ms per image of every sampler spec, `n` samples."""
    import statistics

    from diffrnn.diffusion.sampling import sample
    from diffrnn.evaluation.digit_samples import fd_to_held_out

    rows = [
        f"FD over sampling seeds {seeds} ({n} samples each, snapped):",
        "| sampler | steps | options | FD per seed | mean | sd | ms per image |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)  # rows appear as they are measured
    for spec in specs:
        name, steps, options = parse_sampler(spec)
        values, seconds = [], 0.0
        shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "-"
        try:
            for seed in seeds:
                start = time.perf_counter()
                x = sample(
                    model,
                    (n, 1, 8, 8),
                    name,
                    steps,
                    torch.Generator().manual_seed(seed),
                    options=options,
                )
                seconds += time.perf_counter() - start
                values.append(fd_to_held_out(x))
        except (IndexError, ValueError) as error:  # a diffusers option that breaks on this grid
            rows.append(f"| {name} | {steps} | {shown} | fails: {type(error).__name__}: {error} |")
            print(rows[-1], flush=True)
            continue
        cells = ", ".join(f"{v:.2f}" for v in values)
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        rows.append(
            f"| {name} | {steps} | {shown} | {cells} | {statistics.mean(values):.2f} | "
            f"{sd:.2f} | {seconds / (n * len(seeds)) * 1e3:.2f} |"
        )
        print(rows[-1], flush=True)
    return rows


def retime(model: GaussianDiffusion, n: int, samplers: tuple[tuple[str, int], ...]) -> list[str]:
    """Wall ms per image of each sampler on a batch of `n` (one warm-up batch of 8 first)."""
    from diffrnn.diffusion.sampling import sample

    sample(model, (8, 1, 8, 8), "ddim", 5, torch.Generator().manual_seed(0))
    rows = ["| sampler | steps | ms per image |", "|---|---|---|"]
    for sampler, steps in samplers:
        start = time.perf_counter()
        sample(model, (n, 1, 8, 8), sampler, steps, torch.Generator().manual_seed(0))
        rows.append(f"| {sampler} | {steps} | {(time.perf_counter() - start) / n * 1e3:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="`diffrnn train` output directory")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--fd-seeds", type=int, default=0, help="FD of every recipe sampler over seeds 1..N"
    )
    parser.add_argument("--retime", action="store_true", help="only re-time every sampler")
    parser.add_argument(
        "--sweep",
        nargs="+",
        metavar="SAMPLER:STEPS[:KEY=VALUE,...]",
        help="only FD per sampling seed of these samplers, e.g. ddim:50:eta=1.0 "
        "dpmsolver++:10:lambda_min_clipped=-5.1 (options: scheduler or step() arguments)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.sweep:
        model = load_model(args.run, args.weights)
        sweep(model, EVALUATION["full"].samples, args.sweep, args.seeds)
        return
    lines: list[str] = []
    if (args.run / "result.json").is_file():  # absent while the unit is still sampling
        record = json.loads((args.run / "result.json").read_text())
        metrics = record["metrics"]
        lines.append(f"train: {record['train_seconds']:.0f} s wall, params {record['params']}")
        lines.append(f"real-vs-real FD floor: {metrics['fd_real_vs_real']:.2f}")
        lines += sampler_table(metrics)

    model = load_model(args.run)
    evaluation = EVALUATION["full"]
    if args.retime:
        print("\n".join(retime(model, evaluation.samples, evaluation.samplers)))
        return
    if args.fd_seeds:  # printed as measured, before the rest
        specs = [f"{name}:{steps}" for name, steps in evaluation.samplers]
        sweep(model, evaluation.samples, specs, list(range(1, args.fd_seeds + 1)))
    start = time.perf_counter()
    bound, snapped, snap_below = test_bound(model, evaluation, conditional=False)
    lines.append(f"bound ({time.perf_counter() - start:.0f} s), bits/dim on the test digits:")
    lines.append("| bound | total | prior | decoder | L_1..29 | L_30..998 | L_999 |")
    lines.append("|---|---|---|---|---|---|---|")
    for name, terms in (("DDPM L_vlb", bound), (f"snapped x0 below t={snap_below}", snapped)):
        lines.append(
            f"| {name} | {terms.bits_per_dim():.3f} | {float(terms.prior.mean()):.3f} | "
            f"{float(terms.decoder.mean()):.3f} | {terms.kl_sum(1, 30):.3f} | "
            f"{terms.kl_sum(30, 999):.3f} | {terms.kl_sum(999, 1000):.3f} |"
        )

    by_sigma, noisy, seconds = denoise_psnr(model, evaluation.denoise_steps, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = UnitContext(seed=0, budget_s=1.0, suite="full", out_dir=Path(tmp))
        blur, wien = gaussian_blur_unit(ctx).metrics, wiener_unit(ctx).metrics
    lines.append("denoise-digits PSNR (dB) on the 360 test digits:")
    lines.append("| model | sigma 0.1 | sigma 0.3 | sigma 0.5 | mean |")
    lines.append("|---|---|---|---|---|")
    for name, values in (
        ("noisy input", noisy),
        ("gaussian-blur (tuned)", blur["psnr_by_sigma"]),
        ("wiener (tuned)", wien["psnr_by_sigma"]),
        (f"ddpm, SDEdit start, DDIM ({seconds * 1e3:.1f} ms/image)", by_sigma),
    ):
        cells = " | ".join(f"{values[k]:.2f}" for k in ("0.1", "0.3", "0.5"))
        lines.append(f"| {name} | {cells} | {sum(values.values()) / 3:.2f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
