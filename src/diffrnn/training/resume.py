"""Exact resumption: a run killed after any checkpoint continues as if it had never stopped.

Lightning restores weights, optimiser, scheduler and step counters from `last.ckpt`. Three more
things decide what the next steps compute, and this module makes each of them resumable:

- the data order: `EpochSampler` draws epoch `e`'s permutation from `seed + e` alone (the same
  permutation `DistributedSampler` draws, so one process and N DDP processes see the same global
  batches), and skips the batches already trained on when a run resumes mid-epoch;
- the random streams (dropout, diffusion noise): `ResumeState` stores the torch / NumPy / Python
  generator states in the checkpoint and puts them back before the first resumed step;
- the file itself: `DurableCheckpointIO` writes through `diffrnn.fileio.atomic_open` (temporary
  file, fsync, rename), so a kill or power cut during a save leaves the previous checkpoint, and
  reads with `weights_only=True`, turning a crafted or torn file into a one-line error.
"""

from __future__ import annotations

import pickle
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler

from diffrnn.errors import CheckpointError, UnsafeFileError
from diffrnn.fileio import atomic_open


class EpochSampler(Sampler[int]):
    """Indices of a map-style dataset in an order fixed by `(seed, epoch)` alone.

    Args:
        size: number of items in the dataset.
        shuffle: permute each epoch (`torch.randperm` seeded with `seed + epoch`) or keep 0..size-1.
        seed: base seed of the permutations.
    """

    def __init__(self, size: int, shuffle: bool, seed: int) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self._skip: tuple[int, int] | None = None  # (epoch, items) to skip once

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def skip_once(self, epoch: int, items: int) -> None:
        """Make the next pass over `epoch` start after its first `items` indices."""
        self._skip = (epoch, items)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        skip = 0
        if self._skip is not None and self._skip[0] == self.epoch:
            skip = self._skip[1]
            self._skip = None
        return iter(order[skip:])

    def __len__(self) -> int:
        return self.size


def resumable_loader(loader: Any, seed: int) -> Any:
    """`loader` rebuilt around an `EpochSampler`, when that keeps its meaning; else `loader`.

    Applies to a `DataLoader` over a map-style dataset with the default sampler (shuffled or
    sequential) and no worker processes; any other iterable is returned unchanged (it trains the
    same, but a mid-epoch resume restarts its epoch).
    """
    if not isinstance(loader, DataLoader) or loader.num_workers != 0:
        return loader
    batch_sampler = loader.batch_sampler
    if type(batch_sampler) is not BatchSampler or loader.batch_size is None:
        return loader
    sampler = batch_sampler.sampler
    if type(sampler) is RandomSampler:
        if sampler.replacement or sampler._num_samples is not None:
            return loader
        shuffle = True
    elif type(sampler) is SequentialSampler:
        shuffle = False
    else:
        return loader
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=EpochSampler(len(loader.dataset), shuffle, seed),  # type: ignore[arg-type]
        drop_last=loader.drop_last,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        generator=torch.Generator().manual_seed(seed),  # keeps the global RNG untouched
    )


def _epoch_sampler(trainer: L.Trainer) -> EpochSampler | None:
    loader = trainer.train_dataloader
    sampler = getattr(loader, "sampler", None)
    return sampler if isinstance(sampler, EpochSampler) else None


class ResumeState(L.Callback):
    """Saves the position in the epoch and the random generators' states with each checkpoint.

    On resume, the `EpochSampler` skips the batches already seen and the generators are restored
    at `on_train_start`, i.e. after Lightning has built the data iterator and before the first
    batch is drawn, the same point of the random streams the killed run was at.

    Under DDP the data order is Lightning's `DistributedSampler`'s, which restarts an interrupted
    epoch from its beginning, and every rank takes rank zero's generator states: a DDP run
    resumes correctly but not bit for bit.
    """

    def __init__(self) -> None:
        self._epoch = 0
        self._batches_done = 0
        self._pending: dict[str, Any] | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        self._epoch, self._batches_done = trainer.current_epoch, idx + 1

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "epoch": self._epoch,
            "batches_done": self._batches_done,
            "torch": torch.get_rng_state(),
            "numpy": _numpy_state_to_tensors(np.random.get_state()),
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        sampler = _epoch_sampler(trainer)
        if sampler is not None and state["batches_done"] < trainer.num_training_batches:
            batch_size = trainer.train_dataloader.batch_size  # type: ignore[union-attr]
            sampler.skip_once(state["epoch"], state["batches_done"] * batch_size)
        torch.set_rng_state(state["torch"])
        np.random.set_state(_numpy_state_from_tensors(state["numpy"]))
        random.setstate(state["python"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def _numpy_state_to_tensors(state: tuple[Any, ...]) -> dict[str, Any]:
    """NumPy's generator state in types `torch.load(weights_only=True)` accepts."""
    name, keys, pos, has_gauss, cached = state
    return {
        "name": name,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _numpy_state_from_tensors(state: dict[str, Any]) -> tuple[Any, ...]:
    keys = state["keys"].numpy().astype(np.uint32)
    return (state["name"], keys, state["pos"], state["has_gauss"], state["cached"])


NEWLINE = "\n"


class DurableCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, writing local files through `atomic_open` (fsync + rename).

    Loading refuses anything but plain tensors and containers (`weights_only=True`): a crafted
    pickle is an `UnsafeFileError` and is never executed; a torn file is a `CheckpointError`.
    """

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs["weights_only"] = True
        try:
            return super().load_checkpoint(path, *args, **kwargs)
        except pickle.UnpicklingError:
            raise UnsafeFileError(
                f"{path} holds objects other than tensors and plain containers; it was not "
                "unpickled.",
                "delete it and train again; diffrnn never runs code from a checkpoint.",
            ) from None
        except (RuntimeError, EOFError, OSError, struct.error, ValueError) as exc:
            raise CheckpointError(
                f"{path} is corrupt or truncated ({type(exc).__name__}: "
                f"{str(exc).strip().partition(NEWLINE)[0][:120]}).",
                "delete it to start afresh, or resume from an intact copy.",
            ) from None

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        with atomic_open(Path(path), "wb") as handle:
            torch.save(checkpoint, handle)
