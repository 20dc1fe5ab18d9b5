"""Can a regularised DCRNN beat the shared linear AR(4) on chickenpox? Chosen on validation.

    PYTHONPATH=src python benchmarks/dcrnn_chickenpox_regularised.py --seeds 3

The protocol of graph-chickenpox (4 weekly lags -> next week, 103 training snapshots, 414 test,
MSE on the z-scored counts) and its recipe (1 x 16 DCGRU, 40 epochs of batch 16, AdamW lr 3e-3,
gradient clipping 5). The county graph is symmetric, so one random walk ("random_walk") carries
all of it; the dual walk only doubles the graph's parameters. Grid: K x weight decay x dropout
(DCRNNConfig.dropout, before the projection). Each setting is trained on the first 80% of the
training snapshots and scored on the last 20% (validation), mean over seeds; the best setting
overall, and the best per K (read, not selected), are retrained on all 103 snapshots and scored
on the test beside the linear AR(4) fitted on the same rows. Prototype of a recipe for
bench/units/graph.py; it prints its table, command and CPU seconds.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, StackDataset

from diffrnn.baselines.forecast import LinearAR
from diffrnn.data.graph import load_chickenpox
from diffrnn.evaluation.forecast import mse
from diffrnn.hybrid.dcrnn import DCRNN, DCRNNConfig
from diffrnn.training import OptimConfig, TrainConfig, fit

HIDDEN_SIZE, EPOCHS, BATCH_SIZE, LR, GRAD_CLIP = 16, 40, 16, 3e-3, 5.0  # CHICKENPOX_RECIPES
VALIDATION_SHARE = 0.2  # the last 20% of the training snapshots, as the harness's selection
KS = (0, 1, 2)
WEIGHT_DECAYS = (0.0, 0.1, 1.0)  # AdamW's decoupled decay: lr * wd per step, 280 steps
DROPOUTS = (0.0, 0.3)


def train_and_score(
    adjacency: np.ndarray,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    k: int,
    weight_decay: float,
    dropout: float,
    seed: int,
) -> float:
    """Train DCRNN (one random walk, K = `k`) on windows x (W, 4, N), y (W, 1, N); test MSE."""
    xs = torch.tensor(train[0], dtype=torch.float32)[..., None]  # (W, T_in, N, 1)
    ys = torch.tensor(train[1], dtype=torch.float32)[..., None]  # (W, 1, N, 1)
    config = DCRNNConfig(
        num_nodes=adjacency.shape[0],
        horizon=1,
        hidden_size=HIDDEN_SIZE,
        num_layers=1,
        max_diffusion_step=k,
        filter_type="random_walk",
        dropout=dropout,
        loss="mse",
    )
    torch.manual_seed(seed)
    model = DCRNN(config, torch.as_tensor(adjacency, dtype=torch.float32))
    model.set_standardisation(xs.mean().reshape(1), xs.std().reshape(1))
    loader = DataLoader(
        StackDataset(x=xs, y=ys),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    train_config = TrainConfig(
        max_steps=-1,
        max_epochs=EPOCHS,
        seed=seed,
        grad_clip=GRAD_CLIP,
        optim=OptimConfig(lr=LR, weight_decay=weight_decay),
    )
    model = fit(model, loader, config=train_config).model
    x_test = torch.tensor(test[0], dtype=torch.float32)[..., None]
    forecast = model.predict(x_test)[..., 0].double().numpy()  # (W, 1, N)
    return mse(test[1], forecast)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cpu = time.process_time()
    data = load_chickenpox()
    (x_train, y_train), (x_test, y_test) = data.train_test_split()  # x (S, N, lags), y (S, N)
    x_train, x_test = x_train.transpose(0, 2, 1), x_test.transpose(0, 2, 1)  # (S, lags, N)
    y_train, y_test = y_train[:, None], y_test[:, None]  # (S, 1, N)
    n = data.fx.shape[1]
    adjacency = np.zeros((n, n))
    adjacency[data.edges[:, 0], data.edges[:, 1]] = 1.0
    assert np.array_equal(adjacency, adjacency.T), "the county graph should be symmetric"
    cut = len(x_train) - round(VALIDATION_SHARE * len(x_train))
    fit_part, val_part = (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])
    seeds = range(args.seeds)

    command = "PYTHONPATH=src python benchmarks/dcrnn_chickenpox_regularised.py"
    print(f"command: {command} {' '.join(sys.argv[1:])}")
    print(f"validation: {cut} fit / {len(x_train) - cut} scored snapshots, {args.seeds} seeds")
    print("| K | weight decay | dropout | validation MSE mean | std |")
    print("|---|---|---|---|---|")
    validation = {}
    for k, wd, p in itertools.product(KS, WEIGHT_DECAYS, DROPOUTS):
        scores = [train_and_score(adjacency, fit_part, val_part, k, wd, p, s) for s in seeds]
        validation[k, wd, p] = statistics.mean(scores)
        print(f"| {k} | {wd} | {p} | {validation[k, wd, p]:.4f} | {statistics.stdev(scores):.4f} |")
    train_rows = data.fx[: len(x_train) + x_train.shape[1]]  # the rows the training windows cover
    linear_val = LinearAR.fit(data.fx[: cut + x_train.shape[1]], x_train.shape[1], shared=True)
    print(f"linear AR(4) on validation: {mse(val_part[1], linear_val.predict(val_part[0], 1)):.4f}")

    best = min(validation, key=validation.get)
    per_k = {k: min((key for key in validation if key[0] == k), key=validation.get) for k in KS}
    print("\n| setting (K, weight decay, dropout) | chosen by | test MSE mean +- std, seeds |")
    print("|---|---|---|")
    linear = LinearAR.fit(train_rows, x_train.shape[1], shared=True)
    print(f"| linear AR(4), shared | - | {mse(y_test, linear.predict(x_test, 1)):.4f} |")
    for setting in [best] + [s for s in per_k.values() if s != best]:
        scores = [
            train_and_score(adjacency, (x_train, y_train), (x_test, y_test), *setting, s)
            for s in seeds
        ]
        chosen = "validation, overall" if setting == best else f"validation, best K = {setting[0]}"
        print(
            f"| {setting} | {chosen} | {statistics.mean(scores):.4f} +- "
            f"{statistics.stdev(scores):.4f} ({', '.join(f'{v:.4f}' for v in scores)}) |"
        )
    print(f"\nCPU seconds, whole script: {time.process_time() - cpu:.0f}")


if __name__ == "__main__":
    main()
