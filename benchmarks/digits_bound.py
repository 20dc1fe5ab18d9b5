"""The digits DDPM's bits/dim bound with fixed or learned variances (issue 15, item 4).

Runs the image-digits `ddpm` unit's code (`synthesis`: train within a CPU-second budget, then
FD per sampler and the variational bound on the 360 test digits) with today's recipe
(`--variance fixed_small`) or with improved DDPM's learned variances and hybrid loss
(`--variance learned_range`), and writes the unit's result (metrics, steps, CPU and wall
seconds) to OUT/result.json. Start one process per variant at once so they share the load:

    PYTHONPATH=src nice -n 10 python benchmarks/digits_bound.py --variance fixed_small \
        --seed 0 --budget 120 --out runs/bound-fixed-0 &
    PYTHONPATH=src nice -n 10 python benchmarks/digits_bound.py --variance learned_range \
        --seed 0 --budget 120 --out runs/bound-learned-0 &

`--rebound OUT` recomputes the bound of OUT's saved model (after a change to the bound alone) and
updates OUT/result.json, keeping the old figures under `before_rebound`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variance", choices=("fixed_small", "learned_range"))
    parser.add_argument("--rebound", type=Path, help="a finished run's OUT: its bound again")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=120.0, help="training CPU seconds")
    parser.add_argument("--suite", default="reference", choices=("quick", "full", "reference"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.rebound is not None:
        rebound(args.rebound, args.suite)
        return
    if args.variance is None or args.out is None:
        parser.error("--variance and --out are needed to train")

    from diffrnn.bench.registry import UnitContext
    from diffrnn.bench.units.digits_diffusion import ddpm_recipes, synthesis
    from diffrnn.bench.worker import run_unit

    ctx = UnitContext(seed=args.seed, budget_s=args.budget, suite=args.suite, out_dir=args.out)
    learned = args.variance == "learned_range"
    recipe = ctx.preset(ddpm_recipes(learned_variance=learned))
    result = run_unit(lambda c: synthesis(c, False, recipe), ctx)
    result.pop("curves", None)
    result.update(variance=args.variance, seed=args.seed, budget_s=args.budget, suite=args.suite)
    (args.out / "result.json").write_text(json.dumps(result, indent=1))
    metrics = result.get("metrics", {})
    keys = ("bits_per_dim", "bits_per_dim_snapped", "fd", "bits_per_dim_terms")
    print(json.dumps({k: metrics.get(k) for k in keys}))
    print(
        f"{args.variance} seed {args.seed}: steps {result.get('steps')}, train CPU s "
        f"{result.get('train_cpu_seconds', 0):.1f}, "
        f"train wall s {result.get('train_seconds', 0):.1f}, "
        f"unit CPU s {result['unit_cpu_seconds']:.1f}, wall s {result['unit_wall_seconds']:.1f}"
        + ("" if result["status"] == "ok" else f"; {result['error']}")
    )


def rebound(run: Path, suite: str) -> None:
    """The bound of `run`'s saved model by today's code, written into its result.json."""
    import torch

    import diffrnn
    from diffrnn.bench.units.digits_diffusion import EVALUATION, test_bound

    torch.set_num_threads(1)
    result = json.loads((run / "result.json").read_text())
    model = diffrnn.load(run / "model").eval()
    bound, snapped, _ = test_bound(model, EVALUATION[suite], conditional=False)
    metrics = result["metrics"]
    keys = ("bits_per_dim", "bits_per_dim_snapped")
    result.setdefault("before_rebound", {k: metrics[k] for k in keys})
    metrics.update(bits_per_dim=bound.bits_per_dim(), bits_per_dim_snapped=snapped.bits_per_dim())
    (run / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({"before": result["before_rebound"], "now": {k: metrics[k] for k in keys}}))


if __name__ == "__main__":
    main()
