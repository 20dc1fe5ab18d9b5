"""minGRU / minLSTM vs torch's fused nn.GRU / nn.LSTM: training (forward + backward) and inference.

    nice -n 10 env PYTHONPATH=src python benchmarks/mingru_speed.py
    nice -n 10 env PYTHONPATH=/path/to/other/src python benchmarks/mingru_speed.py   # another tree
    nice -n 10 env PYTHONPATH=src python benchmarks/mingru_speed.py --against /path/to/other/src
    nice -n 10 env PYTHONPATH=src THP_MEM_ALLOC_ENABLE=1 python benchmarks/mingru_speed.py

`--against` adds the minGRU of another tree's layers.py to the training table, in the same run.
THP_MEM_ALLOC_ENABLE=1 (read by torch once, at import) puts tensors of 2 MiB and more on
transparent huge pages: a fresh (8, 4096, 256) float32 buffer costs ~14 ms of page faults on
4 KiB pages, about 5x the arithmetic of one elementwise pass over it, and every model here
allocates several per step.

One thread. Each timing warms up once, then the models take turns for `--repeats` rounds (so a
change of load hits them alike) and the median wall and CPU seconds are reported; the speed-ups
are ratios inside this run. Tables:

1. Training step, B = 8, input = hidden = 256: forward + backward of `out.square().mean()` with
   gradients for the input and the weights. "products" is minGRU's three matrix products alone
   (its input projection forward, and the input and weight gradients backward, into fresh
   tensors as in the real step): no minGRU can be faster, so gru / products bounds its speed-up
   (nn.GRU does 3x those FLOPs, in B-row products inside its time loop).
2. Inference, parallel form (`torch.no_grad()`): a prompt / context / scored window is one
   forward; the ETTh1 row is the point forecaster scoring 64 windows x 7 channels (B = 448,
   T = 96, D = 1, H = 64).
3. Inference, step form: `rnn.step` per generated step (DeepAR, TimeGrad, char LM, pixel and
   AR samplers): B = 8 x H = 256 x 1 layer, and DeepAR's exchange shape, 8 series x 100 paths,
   2 layers of 40.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import diffrnn.rnn.layers
from diffrnn.rnn.layers import make_rnn


def race(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall s, CPU s) of each function; one warm-up each, then they take turns."""
    for fn in fns.values():
        fn()
    walls: dict[str, list[float]] = {name: [] for name in fns}
    cpus: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in fns}


def training_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        x.grad = None
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out  # (B, T, H)
        out.square().mean().backward()

    return step


def products(x: torch.Tensor, weight: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.no_grad():
            y = x @ weight.T  # (B, T, 2H), the projection
            y @ weight  # (B, T, D), as dL/dx from dL/dy
            y.flatten(0, 1).T @ x.flatten(0, 1)  # (2H, D), as dL/dW

    return step


def inference(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    @torch.no_grad()
    def forward() -> None:
        model(x)

    return forward


def sampling(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    @torch.no_grad()
    def steps() -> None:
        state = None
        for t in range(x.shape[1]):
            _, state = model.step(x[:, t], state)

    return steps


def row(label: str, times: dict[str, tuple[float, float]], baselines: dict[str, str]) -> str:
    """One markdown row: wall / CPU seconds per model, then baseline / model ratios (wall, CPU)."""
    cells = [f"{wall:.4f} / {cpu:.4f}" for wall, cpu in times.values()]
    for model, base in baselines.items():
        wall = times[base][0] / times[model][0]
        cpu = times[base][1] / times[model][1]
        cells.append(f"{wall:.2f}x / {cpu:.2f}x")
    return f"| {label} | " + " | ".join(cells) + " |"


def header(first: str, names: list[str], baselines: dict[str, str]) -> str:
    ratios = [f"{base} / {model}" for model, base in baselines.items()]
    columns = [first, *(f"{n} s (wall / CPU)" for n in names), *ratios]
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def other_layers(src: str) -> Any:
    """Another tree's diffrnn/rnn/layers.py as a module of its own (its other imports resolve
    in this tree)."""
    spec = importlib.util.spec_from_file_location(
        "layers_against", os.path.join(src, "diffrnn", "rnn", "layers.py")
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"--against {src}: no diffrnn/rnn/layers.py there")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=64, help="steps per step-form timing")
    parser.add_argument("--against", help="another src/ whose minGRU joins the training table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    source = os.path.dirname(diffrnn.rnn.layers.__file__)
    commit = subprocess.run(
        ["git", "-C", source, "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    print(f"command: python benchmarks/mingru_speed.py {' '.join(sys.argv[1:])}")
    print(f"layers: {source} at {commit[:72]}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}; 1 thread; median of {args.repeats}")
    print(f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', '')}")

    batch, size = 8, 256
    models = {cell: make_rnn(cell, size, size) for cell in ("gru", "mingru", "minlstm", "lstm")}
    versus = {"mingru": "gru", "minlstm": "lstm"}

    print("\nTraining step (forward + backward), B = 8, D = H = 256")
    names = ["gru", "mingru", "products", "lstm", "minlstm"]
    baselines = {**versus, "products": "gru"}
    if args.against:
        print(f"mingru-against: {args.against}/diffrnn/rnn/layers.py")
        models["mingru-against"] = other_layers(args.against).make_rnn("mingru", size, size)
        models["mingru-against"].load_state_dict(models["mingru"].state_dict())
        names.append("mingru-against")
        baselines["mingru-against"] = "gru"
    print(header("T", names, baselines))
    for length in args.lengths:
        x = torch.randn(batch, length, size, requires_grad=True)
        fns = {n: training_step(models[n], x) for n in ("gru", "mingru")}
        fns["products"] = products(x, torch.randn(2 * size, size))
        fns.update({n: training_step(models[n], x) for n in names[3:]})
        print(row(str(length), race(fns, args.repeats), baselines))

    print("\nInference, parallel form (no grad)")
    names = ["gru", "mingru", "lstm", "minlstm"]
    print(header("shape", names, versus))
    shapes = [(batch, length, size, size) for length in args.lengths] + [(448, 96, 1, 64)]
    for b, length, d, h in shapes:
        x = torch.randn(b, length, d)
        fns = {n: inference(make_rnn(n, d, h), x) for n in names}
        print(row(f"B {b} T {length} D {d} H {h}", race(fns, args.repeats), versus))

    print(f"\nInference, step form: {args.steps} steps from a zero state (no grad)")
    print(header("shape", names, versus))
    for b, h, layers in [(batch, size, 1), (800, 40, 2)]:
        x = torch.randn(b, args.steps, h)
        fns = {n: sampling(make_rnn(n, h, h, num_layers=layers), x) for n in names}
        print(row(f"B {b} H {h} L {layers}", race(fns, args.repeats), versus))


if __name__ == "__main__":
    main()
