"""DDP on CPU (2 processes, gloo) follows the single-process loss curve for the same global batch.

With per-process batch B on 2 processes and batch 2B on one, both see the same global batches
(`EpochSampler` draws `DistributedSampler`'s permutation), and DDP averages the two halves'
gradients, which is the gradient of the whole batch: the curves agree to float rounding
(all-reduce order), stated below as TOLERANCE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.training import OptimConfig, TrainConfig, fit

SRC = str(Path(__file__).resolve().parents[2] / "src")
STEPS, PER_RANK_BATCH, WORLD = 12, 8, 2
TOLERANCE = 1e-5  # absolute, on losses of order 1 and on the final weights


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return ((self.net(x).squeeze(-1) - y) ** 2).mean()


def run(devices: int, strategy: str, batch_size: int) -> tuple[list[float], dict]:
    """Train `Regressor` (seeded) for STEPS steps; this process's losses and final weights."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(128, 4, generator=g)
    loader = DataLoader(TensorDataset(x, torch.sin(x).sum(-1)), batch_size=batch_size, shuffle=True)
    config = TrainConfig(
        max_steps=STEPS,
        seed=7,
        devices=devices,
        strategy=strategy,
        accelerator="cpu",
        optim=OptimConfig(lr=0.02),
    )
    torch.manual_seed(7)
    result = fit(Regressor(), loader, config=config)
    return result.train_losses, result.model.state_dict()


def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path: Path) -> None:
    script = tmp_path / "ddp_run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, os, runpy, sys
            run = runpy.run_path({__file__!r})["run"]
            losses, weights = run({WORLD}, "ddp", {PER_RANK_BATCH})
            rank = os.environ.get("LOCAL_RANK", "0")
            record = {{"losses": losses, "weights": {{k: v.tolist() for k, v in weights.items()}}}}
            with open(os.path.join({str(tmp_path)!r}, f"rank{{rank}}.json"), "w") as f:
                json.dump(record, f)
            # leave together and skip interpreter teardown: on a loaded 2-core runner a rank
            # whose peer had already closed the gloo connection once aborted at exit
            # ("terminate called without an active exception", return code -6) after training
            import torch.distributed as dist
            dist.barrier()
            dist.destroy_process_group()
            os._exit(0)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE)
    single_losses, single_weights = run(1, "auto", WORLD * PER_RANK_BATCH)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()[-2000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    ddp_losses = torch.tensor([r["losses"] for r in ranks]).mean(0)  # the global-batch loss
    assert len(single_losses) == STEPS and ddp_losses.shape == (STEPS,)
    assert torch.allclose(ddp_losses, torch.tensor(single_losses), rtol=0, atol=TOLERANCE)
    assert single_losses[-1] < 0.5 * single_losses[0]  # it trained, so the match means something
    for name, value in single_weights.items():
        for rank in ranks:  # DDP keeps the replicas identical
            ddp_value = torch.tensor(rank["weights"][name])
            assert torch.allclose(ddp_value, value, rtol=0, atol=TOLERANCE), name
