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

from diffrnn.bench.units.forecasting import _calendar, exchange_problem
from diffrnn.bench.units.timegrad import TIMEGRAD_RECIPES, forecast_paths, timegrad_config_for
from diffrnn.data.windows import MultivariateWindows
from diffrnn.hybrid.timegrad import TimeGrad

SAMPLERS = (("ddpm", None), ("ddim", 10), ("dpmsolver++", 10), ("dpmsolver++", 25))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    problem = exchange_problem()
    recipe = TIMEGRAD_RECIPES["full"]
    config = timegrad_config_for(problem, recipe, "gru")
    calendar = _calendar(problem)
    windows = MultivariateWindows(
        problem.train, config.window_length, calendar[: problem.train_end]
    )
    loader = iter(DataLoader(windows, batch_size=recipe.batch_size, shuffle=True))
    model = TimeGrad(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.lr)
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
        _, wall = forecast_paths(model, problem, calendar, sampler, steps, seed=0)
        print(
            f"forecast 5 windows x 100 paths, {sampler} {steps or config.num_diffusion_steps} "
            f"steps: CPU {time.process_time() - cpu:.1f} s, wall {wall:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
