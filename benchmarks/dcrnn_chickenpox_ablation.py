"""Does DCRNN use the chickenpox graph? K and the supports, over seeds, on the test split.

The harness's `dcrnn` (K = 2, dual random walk) and `gru-per-node` (K = 0) units train with the
recipe picked on a validation split; this script varies only K (0, 1, 2) and the supports (dual,
forward walk only, reverse walk only) with everything else fixed, and prints the test MSE mean
and spread over seeds beside the shared linear AR(4) (0.7044). It is an ablation read on the
test split, not a selection: the harness's choice does not change with it.

    PYTHONPATH=src python benchmarks/dcrnn_chickenpox_ablation.py --seeds 5
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.units.graph import _chickenpox, chickenpox_recipes, predict_windows, train_dcrnn
from diffrnn.evaluation.forecast import mse

VARIANTS = (
    (0, "dual_random_walk"),
    (1, "dual_random_walk"),
    (2, "dual_random_walk"),
    (2, "random_walk"),
    (2, "reverse_random_walk"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data, (x_train, y_train, x_test, y_test) = _chickenpox()
    n = data.fx.shape[1]
    adjacency = np.zeros((n, n))
    adjacency[data.edges[:, 0], data.edges[:, 1]] = 1.0
    print(f"PYTHONPATH=src python benchmarks/dcrnn_chickenpox_ablation.py --seeds {args.seeds}")
    print("| K | supports | test MSE mean | std | min | max |")
    print("|---|---|---|---|---|---|")
    for k, filter_type in VARIANTS:
        scores = []
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as out:
                ctx = UnitContext(seed=seed, budget_s=120.0, suite="full", out_dir=Path(out))
                recipe = chickenpox_recipes(n, k)["full"]
                model_config = dataclasses.replace(recipe.model, filter_type=filter_type)
                recipe = dataclasses.replace(recipe, model=model_config)
                model, _ = train_dcrnn(ctx, adjacency, x_train, y_train, recipe)
            forecast, _ = predict_windows(model, x_test)
            scores.append(mse(y_test, forecast))
        supports = "none" if k == 0 else filter_type
        print(
            f"| {k} | {supports} | {statistics.mean(scores):.4f} | {statistics.stdev(scores):.4f}"
            f" | {min(scores):.4f} | {max(scores):.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
