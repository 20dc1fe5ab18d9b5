"""Every diffusers scheduler `sample()` accepts, on one briefly trained digits DDPM: FD and range.

Trains the quick `image-digits` `ddpm` recipe (cosine schedule, epsilon prediction, EMA) for a
step budget, then draws the same batch with every scheduler class diffusers exports (20 steps,
one seed) and reports the value range of the raw samples and the Frechet distance of the
snapped samples to the held-out digits (the project's digits evaluator), or the refusal.

    PYTHONPATH=src python benchmarks/digits_schedulers.py --steps 300 --samples 200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def scheduler_names() -> list[str]:
    """Every SchedulerMixin subclass in diffusers' namespace (what `sample` looks names up in)."""
    import diffusers
    from diffusers import SchedulerMixin

    names = []
    for name in sorted(n for n in dir(diffusers) if n.endswith("Scheduler")):
        try:
            found = getattr(diffusers, name)
        except Exception:
            names.append(name)
            continue
        if isinstance(found, type) and issubclass(found, SchedulerMixin):
            names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--sampler-steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    import tempfile

    from diffrnn.bench.registry import UnitContext
    from diffrnn.bench.units.digits_diffusion import ddpm_recipes, train_ddpm
    from diffrnn.diffusion.sampling import sample
    from diffrnn.errors import DiffrnnError
    from diffrnn.evaluation import digit_samples as scoring
    from diffrnn.training.overrides import TrainOverrides, train_overrides

    with tempfile.TemporaryDirectory() as tmp:
        ctx = UnitContext(seed=args.seed, budget_s=1e9, suite="quick", out_dir=Path(tmp))
        cpu, wall = time.process_time(), time.perf_counter()
        with train_overrides(TrainOverrides(max_steps=args.steps)):
            model, _ = train_ddpm(ctx, ddpm_recipes()["quick"])
        print(
            f"trained {args.steps} steps in {time.process_time() - cpu:.0f} CPU s "
            f"({time.perf_counter() - wall:.0f} s wall)"
        )
    print("| scheduler | FD | min | max | note |")
    print("|---|---:|---:|---:|---|")
    for name in scheduler_names():
        generator = torch.Generator().manual_seed(args.seed)
        try:
            x = sample(model, (args.samples, 1, 8, 8), name, args.sampler_steps, generator)
        except DiffrnnError as exc:
            print(f"| {name} | | | | refused: {exc.problem[:90]} |")
            continue
        except Exception as exc:
            print(f"| {name} | | | | raised {type(exc).__name__}: {str(exc)[:80]} |")
            continue
        finite = bool(torch.isfinite(x).all())
        fd = scoring.fd_to_held_out(x.clamp(-1, 1), args.seed) if finite else float("nan")
        lo, hi = (float(x.min()), float(x.max())) if finite else (float("nan"),) * 2
        print(f"| {name} | {fd:.1f} | {lo:.3g} | {hi:.3g} | {'' if finite else 'non-finite'} |")


if __name__ == "__main__":
    main()
