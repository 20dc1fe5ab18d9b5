"""Tiny fake tasks and units for the harness's tests (imported by them, and by unit processes).

Their metrics are closed forms of the seed, so a test knows every number in advance: the
"quality" of model m at seed s is `QUALITY[m] + s / 100`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from diffrnn.bench.registry import Task, UnitContext, UnitOutput, define_task, register_unit

FAKE_TASK = "fake-forecast"
FAKE_LONG = "fake-long"
QUALITY = {"fake-baseline": 0.5, "fake-rnn": 0.2, "fake-diffusion": 0.1}
INFER_S = {"fake-baseline": 1e-5, "fake-rnn": 1e-3, "fake-diffusion": 1e-1}
CALLS_FILE = "calls.txt"

define_task(
    Task(
        name=FAKE_TASK,
        dataset="synthetic",
        description="a fake forecasting task",
        metrics=("mse", "mae"),
        primary_metric="mse",
    )
)
define_task(
    Task(
        name=FAKE_LONG,
        dataset="synthetic",
        description="a fake long-range task",
        metrics=("mse", "passed"),
        primary_metric="mse",
    )
)


def expected_mse(model: str, seed: int) -> float:
    """The mse a fake model reports at `seed`."""
    return QUALITY[model] + seed / 100


def _count_call(ctx: UnitContext) -> None:
    with (ctx.out_dir / CALLS_FILE).open("a") as f:
        f.write(f"{ctx.seed}\n")


def _quality_unit(model: str, ctx: UnitContext) -> UnitOutput:
    import torch

    _count_call(ctx)
    mse = expected_mse(model, ctx.seed)
    (ctx.out_dir / "sample.txt").write_text(f"threads={torch.get_num_threads()}\n")
    return UnitOutput(
        metrics={"mse": torch.tensor(mse, dtype=torch.float64), "mae": mse**0.5},
        params=1000 * len(model),
        train_seconds=0.01,
        train_cpu_seconds=0.01,
        infer_seconds_per_sample=INFER_S[model],
        throughput=1 / INFER_S[model],
        curves={"train_loss": [1.0 / (i + 1) for i in range(5)]},
        artefacts={"sample": "sample.txt"},
        notes=[f"fake {model}"],
    )


@register_unit(FAKE_TASK, "fake-baseline", family="baseline")
def fake_baseline(ctx: UnitContext) -> UnitOutput:
    """A baseline with a closed-form score."""
    return _quality_unit("fake-baseline", ctx)


@register_unit(FAKE_TASK, "fake-rnn", family="rnn")
def fake_rnn(ctx: UnitContext) -> UnitOutput:
    """An 'RNN' with a closed-form score."""
    return _quality_unit("fake-rnn", ctx)


@register_unit(FAKE_TASK, "fake-diffusion", family="diffusion")
def fake_diffusion(ctx: UnitContext) -> UnitOutput:
    """A 'diffusion model' with a closed-form score."""
    return _quality_unit("fake-diffusion", ctx)


@register_unit(FAKE_TASK, "fake-broken", family="hybrid")
def fake_broken(ctx: UnitContext) -> UnitOutput:
    """Raises: the suite must record it and go on."""
    _count_call(ctx)
    raise RuntimeError("the fake hybrid diverged")


@register_unit(FAKE_LONG, "fake-gated", family="rnn")
def fake_gated(ctx: UnitContext) -> UnitOutput:
    """Passes the short length only, as the long-range units report it (per T)."""
    return UnitOutput(
        metrics={"mse": {"50": 0.001, "100": 0.2}, "passed": {"50": True, "100": False}}
    )


# Not registered (a test that runs registered units in its own process must survive them):
# the runner's tests hand these over with `resolve`.


def fake_crash(ctx: UnitContext) -> UnitOutput:
    """Dies without a word, as an out-of-memory kill would."""
    print("about to crash", flush=True)
    os._exit(3)


def fake_hang(ctx: UnitContext) -> UnitOutput:
    """Never returns in time."""
    time.sleep(60)
    return UnitOutput(metrics={})


def fake_spin(ctx: UnitContext) -> UnitOutput:
    """Computes for ever: uses up a CPU-second time limit."""
    while True:
        sum(range(10_000))


def fake_memory_hog(ctx: UnitContext) -> UnitOutput:
    """Holds about 200 MB, so its peak resident memory stands out (not registered)."""
    block = bytearray(200 * 1024 * 1024)
    block[::4096] = b"\x01" * len(block[::4096])
    Path(ctx.out_dir / "done").write_text("yes")
    return UnitOutput(metrics={"mse": float(len(block) > 0)})


STEPS, CHECKPOINT_EVERY = 30, 5
"""`fake_steps`: a step budget (its metrics do not depend on the machine's load)."""
STEP_SLEEP_FILE = "step_sleep_s"
"""In a run directory: seconds `fake_steps` sleeps per step (so a test can kill it mid-run)."""


def fake_steps(ctx: UnitContext) -> UnitOutput:
    """Trains a small noisy regressor (dropout, a noise draw per step) for STEPS optimiser steps,
    checkpointing every CHECKPOINT_EVERY, through the harness's own `train_for_unit`: its
    metrics are the final loss and weights, bit-identical for a run killed and resumed."""
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset

    from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit
    from diffrnn.training import TrainConfig

    pause = ctx.out_dir.parents[3] / STEP_SLEEP_FILE  # run/units/<task>/<model>/seed<k>
    sleep_s = float(pause.read_text()) if pause.exists() else 0.0

    class Noisy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Tanh(), nn.Linear(8, 1))

        def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
            time.sleep(sleep_s)
            x, y = batch
            noise = 0.1 * torch.randn_like(y)
            return ((self.net(x).squeeze(-1) - (y + noise)) ** 2).mean()

    torch.manual_seed(ctx.seed)
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(7))
    y = torch.sin(x.sum(-1))
    loader = seeded_loader(TensorDataset(x, y), 16, ctx.seed)
    config = TrainConfig(max_steps=STEPS, checkpoint_every_n_steps=CHECKPOINT_EVERY)
    result = train_for_unit(Noisy(), loader, ctx, config)
    model = result.model.eval()
    with torch.no_grad():
        mse = float(((model.net(x).squeeze(-1) - y) ** 2).mean())
    weights = [float(w) for w in model.net[0].weight.flatten()]
    return fitted_output(result, {"mse": mse, "w": weights}, notes=[f"resume={ctx.resume}"])
