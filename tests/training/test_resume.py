"""A run SIGKILLed mid-epoch and resumed ends bit-identical to one that was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.errors import CheckpointError, UnsafeFileError
from diffrnn.training import OptimConfig, TrainConfig, fit
from diffrnn.training.resume import EpochSampler, resumable_loader

SRC = str(Path(__file__).resolve().parents[2] / "src")
STEPS, EVERY, KILL_AT = 40, 5, 17  # 6 batches per epoch: the checkpoint at 15 is mid-epoch 2


class NoisyRegressor(nn.Module):
    """Dropout and a noise draw in the loss: the random streams matter, as in diffusion models."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Tanh(), nn.Linear(16, 1))

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        noise = 0.1 * torch.randn_like(y)
        return ((self.net(x).squeeze(-1) - (y + noise)) ** 2).mean()


class _StopAt(L.Callback):
    """Announces step KILL_AT on stdout and waits there to be killed."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        if trainer.global_step == KILL_AT:
            print(f"step {KILL_AT}", flush=True)
            time.sleep(120)


def train(
    checkpoint_dir: str, resume: bool, hang: bool = False, every: int = EVERY
) -> tuple[dict, list[float]]:
    """The run under test; `hang` stops it at step KILL_AT (in a subprocess, to be killed)."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(11)
    x = torch.randn(96, 4, generator=g)
    y = torch.sin(x.sum(-1))
    train_loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=16)
    config = TrainConfig(
        max_steps=STEPS,
        seed=5,
        checkpoint_every_n_steps=every,
        val_every_n_steps=7,
        ema_decay=0.9,
        optim=OptimConfig(lr=0.01, warmup_steps=3, schedule="cosine", total_steps=STEPS),
    )
    torch.manual_seed(5)
    model = NoisyRegressor()
    if hang:
        from diffrnn.training import trainer

        original = trainer.make_trainer

        def with_stop(*args, **kwargs):  # type: ignore[no-untyped-def]
            built = original(*args, **kwargs)
            built.callbacks.insert(0, _StopAt())
            return built

        trainer.make_trainer = with_stop  # type: ignore[assignment]
    result = fit(model, train_loader, val_loader, config, checkpoint_dir, resume=resume)
    return result.model.state_dict(), result.val_losses


def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    killed_dir = tmp_path / "killed"
    script = (
        f"import runpy; runpy.run_path({__file__!r})['train']({str(killed_dir)!r}, False, True)"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    reference, reference_val = train(str(tmp_path / "reference"), resume=False)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == f"step {KILL_AT}".encode()
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    saved = torch.load(killed_dir / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 15 and saved["epoch"] == 2  # killed mid-epoch, after a save

    resumed, resumed_val = train(str(killed_dir), resume=True)
    assert reference.keys() == resumed.keys()
    for name in reference:
        assert torch.equal(reference[name], resumed[name]), name
    assert resumed_val == reference_val[-len(resumed_val) :]  # validations after the resume


def test_without_resume_a_run_starts_afresh(tmp_path: Path) -> None:
    first, _ = train(str(tmp_path), resume=False)
    again, _ = train(str(tmp_path), resume=False)
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_a_finished_run_leaves_its_final_weights_to_resume(tmp_path: Path) -> None:
    """STEPS is not a multiple of a larger save interval: the last periodic save lags, but a run
    killed after training (say while scoring) resumes to the final weights, not older ones."""
    every = 15
    assert STEPS % every != 0
    finished, _ = train(str(tmp_path), resume=False, every=every)
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert saved["global_step"] == STEPS
    resumed, _ = train(str(tmp_path), resume=True, every=every)  # nothing left to train
    assert all(torch.equal(finished[k], resumed[k]) for k in finished)


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    sampler = EpochSampler(10, shuffle=True, seed=3)
    sampler.set_epoch(4)
    first = list(sampler)
    assert sorted(first) == list(range(10)) and list(sampler) == first
    twin = EpochSampler(10, shuffle=True, seed=3)
    twin.set_epoch(4)
    assert list(twin) == first
    sampler.skip_once(4, 3)
    assert list(sampler) == first[3:] and list(sampler) == first  # the skip happens once
    sampler.set_epoch(5)
    assert list(sampler) != first
    g = torch.Generator().manual_seed(3 + 5)
    assert list(sampler) == torch.randperm(10, generator=g).tolist()  # DistributedSampler's order


def test_only_plain_in_process_loaders_are_rebuilt() -> None:
    data = TensorDataset(torch.arange(10.0))
    shuffled = resumable_loader(DataLoader(data, batch_size=4, shuffle=True), seed=0)
    assert isinstance(shuffled.sampler, EpochSampler) and shuffled.sampler.shuffle
    ordered = resumable_loader(DataLoader(data, batch_size=4), seed=0)
    assert [b[0].tolist() for b in ordered] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    workers = DataLoader(data, batch_size=4, num_workers=1)
    assert resumable_loader(workers, seed=0) is workers
    batches = [[0, 1], [2]]
    assert resumable_loader(batches, seed=0) is batches


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_a_crafted_checkpoint_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {}, "payload": _Evil(marker)}, tmp_path / "last.ckpt")
    with pytest.raises(UnsafeFileError, match="not unpickled"):
        train(str(tmp_path), resume=True)
    assert not marker.exists()


def test_a_torn_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    train(str(tmp_path / "intact"), resume=False)
    intact = (tmp_path / "intact" / "last.ckpt").read_bytes()
    for keep in (0, 40, len(intact) // 2):
        (tmp_path / "last.ckpt").write_bytes(intact[:keep])
        with pytest.raises(CheckpointError, match="corrupt or truncated"):
            train(str(tmp_path), resume=True)


@pytest.mark.parametrize("stop_at", [15, 17])  # on a periodic save and between two
def test_a_run_stopped_by_its_step_cap_resumes_exactly_with_a_larger_cap(
    tmp_path: Path, stop_at: int
) -> None:
    """`diffrnn train --max-steps 15`, then `--resume --max-steps 40`: the checkpoint written at
    the stop must leave Lightning mid-epoch, or the rest of epoch 2 would be skipped."""

    def run(directory: Path, steps: int, resume: bool) -> dict:
        g = torch.Generator().manual_seed(11)
        x = torch.randn(96, 4, generator=g)
        loader = DataLoader(TensorDataset(x, torch.sin(x.sum(-1))), batch_size=16, shuffle=True)
        config = TrainConfig(max_steps=steps, seed=5, checkpoint_every_n_steps=EVERY)
        torch.manual_seed(5)
        result = fit(NoisyRegressor(), loader, None, config, directory, resume=resume)
        return result.model.state_dict()

    reference = run(tmp_path / "reference", STEPS, resume=False)
    run(tmp_path / "stopped", stop_at, resume=False)
    saved = torch.load(tmp_path / "stopped" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == stop_at
    resumed = run(tmp_path / "stopped", STEPS, resume=True)
    for name in reference:
        assert torch.equal(reference[name], resumed[name]), name
