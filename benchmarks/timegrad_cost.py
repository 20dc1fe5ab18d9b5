"""TimeGrad's compute cost on exchange_rate_nips: a training step and a full forecast.

Wall and process-CPU seconds (one thread) of one optimiser step (batch 64, the unit's full
recipe) and of forecasting the 5 test windows x 100 paths with each sampler; the cost does not
depend on the weights, so a freshly initialised model is timed. On a contended machine the CPU
seconds are the better measure (wall is printed beside them).

    PYTHONPATH=src python benchmarks/timegrad_cost.py --train-steps 20
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader

from diffrnn.bench.units.forecasting import _calendar_windows, exchange_problem
from diffrnn.evaluation.timing import timed_call
from diffrnn.forecast_specs import timegrad_recipe
from diffrnn.hybrid.timegrad import TimeGrad

SAMPLERS = (("ddpm", None), ("ddim", 10), ("dpmsolver++", 10), ("dpmsolver++", 25))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    problem = exchange_problem()
    recipe = timegrad_recipe(problem, "full")
    config = recipe.model
    model = TimeGrad(config)
    windows = model.training_data(problem)
    loader = iter(DataLoader(windows, batch_size=recipe.batch_size, shuffle=True))
    optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.train.optim.lr)
    history, _ = problem.test_windows(history=config.history_length)  # (W, L, N)
    history_t = torch.as_tensor(history, dtype=torch.float32)
    calendar = torch.as_tensor(_calendar_windows(problem), dtype=torch.float32)  # (W, C + H, F)
    walls, cpus = [], []
    for _ in range(args.train_steps):
        batch = next(loader)
        wall, cpu = time.perf_counter(), time.process_time()
        optimiser.zero_grad()
        model.loss(batch).backward()
        optimiser.step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"PYTHONPATH=src python benchmarks/timegrad_cost.py --train-steps {args.train_steps}")
    print(
        f"train step (batch {recipe.batch_size}): median CPU {statistics.median(cpus):.3f} s, "
        f"wall {statistics.median(walls):.3f} s; 2000 steps = "
        f"{2000 * statistics.median(cpus) / 60:.1f} CPU min"
    )
    model.eval()
    for sampler, steps in SAMPLERS:
        cpu = time.process_time()
        with torch.no_grad():
            _, wall = timed_call(
                lambda sampler=sampler, steps=steps: model.sample_paths(
                    history_t,
                    calendar,
                    100,
                    torch.Generator().manual_seed(0),
                    sampler,
                    steps,
                )
            )
        print(
            f"forecast 5 windows x 100 paths, {sampler} {steps or config.num_diffusion_steps} "
            f"steps: CPU {time.process_time() - cpu:.1f} s, wall {wall:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
