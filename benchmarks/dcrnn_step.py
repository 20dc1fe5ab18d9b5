"""DCRNN (K = 2) vs the per-node GRU (the same model, K = 0): one training step, one thread.

    PYTHONPATH=src nice -n 10 python benchmarks/dcrnn_step.py --repeats 15

Shapes are the graph-losloop "full" recipe (bench/units/graph.py): batch 32, 1 x 16 DCGRU,
12 steps in and 12 out, the directed METR-LA graph (207 sensors, dual random walk), masked-MAE
loss on the first training windows. A step is forward + backward + gradient clipping (5.0) +
AdamW, what `fit` does per batch. The two models alternate (GRU, DCRNN, GRU, ...) after one
warm-up each, so contention falls on both; the table gives the median wall and CPU seconds of
each (and the fastest wall time, the least disturbed on a loaded machine) and the ratio of the
medians, measured in the same run. `--sparse` uses sparse CSR supports (the recipe's)
instead of dense ones. `--save-data FILE.npz` writes the graph and the batch;
`--data FILE.npz` reads them, to time on a machine without the data cache. `--baseline-src DIR`
adds the same two models from another checkout's `src` (e.g. main before a change), interleaved
in the same run, for a before/after that contention cannot skew.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

import diffrnn.hybrid.dcrnn

BATCH_SIZE, HIDDEN_SIZE, NUM_LAYERS, LR = 32, 16, 1, 1e-2  # losloop_recipes(...)["full"]


def losloop_batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The METR-LA adjacency (N, N) and the first training windows x, y (B, 12, N)."""
    from diffrnn.bench.units.graph import losloop_recipes, losloop_windows
    from diffrnn.data.graph import load_metr_la_graph

    adjacency = load_metr_la_graph().adjacency
    recipe = losloop_recipes(adjacency.shape[0], 2)["full"]
    model, lr = recipe.model, recipe.train.optim.lr
    assert (recipe.batch_size, model.hidden_size, model.num_layers, lr) == (
        BATCH_SIZE,
        HIDDEN_SIZE,
        NUM_LAYERS,
        LR,
    ), "the graph-losloop recipe changed: update the benchmark's constants"
    data = losloop_windows()
    return adjacency, data["x_train"][:BATCH_SIZE], data["y_train"][:BATCH_SIZE]


def baseline_module(src: str) -> ModuleType:
    """hybrid/dcrnn.py of another checkout's `src`, imported under another name."""
    path = Path(src) / "diffrnn" / "hybrid" / "dcrnn.py"
    spec = importlib.util.spec_from_file_location("baseline_dcrnn", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def training_step(
    dcrnn: ModuleType,
    k: int,
    adjacency: torch.Tensor,
    batch: dict[str, torch.Tensor],
    sparse: bool,
) -> Callable[[], None]:
    """A closure running one training step of `dcrnn`.DCRNN with K = `k` on `batch`."""
    torch.manual_seed(0)
    config = dcrnn.DCRNNConfig(
        num_nodes=batch["x"].shape[2],
        horizon=batch["y"].shape[1],
        hidden_size=HIDDEN_SIZE,
        num_layers=NUM_LAYERS,
        max_diffusion_step=k,
        use_sparse=sparse,
        loss="masked_mae",
    )
    model = dcrnn.DCRNN(config, adjacency)
    observed = batch["x"][batch["x"] != 0]
    model.set_standardisation(observed.mean().reshape(1), observed.std().reshape(1))
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=LR)

    def step() -> None:
        optimiser.zero_grad()
        model.loss(batch).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()

    return step


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--sparse", action="store_true", help="torch sparse supports (the recipe's; dense without)"
    )
    parser.add_argument("--data", help="read adjacency, x, y from this .npz")
    parser.add_argument("--save-data", help="write adjacency, x, y to this .npz and stop")
    parser.add_argument("--baseline-src", help="also time hybrid/dcrnn.py of this src folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.data:
        with np.load(args.data) as f:
            adjacency_np, x_np, y_np = f["adjacency"], f["x"], f["y"]
    else:
        adjacency_np, x_np, y_np = losloop_batch()
    if args.save_data:
        np.savez(args.save_data, adjacency=adjacency_np, x=x_np, y=y_np)
        return
    adjacency = torch.tensor(adjacency_np, dtype=torch.float32)  # (N, N)
    x = torch.tensor(x_np, dtype=torch.float32)[..., None]
    y = torch.tensor(y_np, dtype=torch.float32)[..., None]
    batch = {"x": x, "y": y}  # (B, 12, N, 1) each
    modules = {"": diffrnn.hybrid.dcrnn}
    if args.baseline_src:
        modules[" baseline"] = baseline_module(args.baseline_src)
    steps = {}
    for tag, module in modules.items():
        steps[f"gru-per-node (K=0){tag}"] = training_step(module, 0, adjacency, batch, args.sparse)
        steps[f"dcrnn (K=2){tag}"] = training_step(module, 2, adjacency, batch, args.sparse)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    for fn in steps.values():
        fn()  # warm-up
    for _ in range(args.repeats):
        for name, fn in steps.items():
            times[name].append(timed(fn))
    print(f"command: PYTHONPATH=src python benchmarks/dcrnn_step.py {' '.join(sys.argv[1:])}")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"B = {BATCH_SIZE}, {NUM_LAYERS} x {HIDDEN_SIZE} DCGRU, T_in = T_out = 12, N = "
        f"{x.shape[2]}, {'sparse' if args.sparse else 'dense'} supports, 1 thread, "
        f"median of {args.repeats}"
    )
    print("| model | step wall s | step CPU s | fastest step wall s |")
    print("|---|---|---|---|")
    medians = {}
    for name, pairs in times.items():
        wall = statistics.median(p[0] for p in pairs)
        cpu = statistics.median(p[1] for p in pairs)
        medians[name] = (wall, cpu)
        fastest = min(p[0] for p in pairs)
        print(f"| {name} | {wall:.4f} | {cpu:.4f} | {fastest:.4f} |")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs")
    for tag in modules:
        (gru_wall, gru_cpu) = medians[f"gru-per-node (K=0){tag}"]
        (dc_wall, dc_cpu) = medians[f"dcrnn (K=2){tag}"]
        print(
            f"ratio dcrnn / gru{tag}: {dc_wall / gru_wall:.2f}x wall, {dc_cpu / gru_cpu:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
