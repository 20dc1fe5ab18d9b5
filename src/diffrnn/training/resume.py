"""Exact resumption: a run killed after any checkpoint continues as if it had never stopped.

Lightning restores weights, optimiser, scheduler and step counters from `last.ckpt`. Three more
things decide what the next steps compute, and this module makes each of them resumable:

- the data order: `EpochSampler` draws epoch `e`'s permutation from `seed + e` alone (the same
  permutation `DistributedSampler` draws, so one process and N DDP processes see the same global
  batches), and skips the batches already trained on when a run resumes mid-epoch; an iterable
  dataset that keeps its own position (`state_dict` / `load_state_dict`, as the TBPTT text
  chunks do) is handed to Lightning as a `StatefulLoader`, whose position Lightning saves in
  the checkpoint and restores before the first resumed batch; an endless stream whose batch k
  its seed fixes (`seek(k)`, as `LongRangeStream` has) is started at the checkpoint's global
  step (not at a position it counts itself: Lightning reads an unsized loader one batch ahead);
- the random streams (dropout, diffusion noise): `ResumeState` stores the torch / NumPy / Python
  generator states in the checkpoint and puts them back before the first resumed step;
- the file itself: `DurableCheckpointIO` writes through `diffrnn.fileio.atomic_open` (temporary
  file, fsync, rename), so a kill or power cut during a save leaves the previous checkpoint, and
  reads only regular files, with `weights_only=True`, turning a crafted or torn file into a
  one-line error.

Before anything is restored, `check_checkpoint` compares the checkpoint with what this run would
write: the same tensors (names, shapes, dtypes, all finite), optimiser and scheduler states of the
same layout, loop counters and generator states of the right types. Another model's checkpoint, a
tampered or incomplete one is a `CheckpointError` naming the first difference.
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
import random
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

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


class StatefulLoader(DataLoader):
    """A `DataLoader` over an iterable dataset that keeps its own position: Lightning saves
    `state_dict()` with each checkpoint and calls `load_state_dict` before a resumed run draws
    its first batch (its "stateful dataloader" protocol)."""

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()  # type: ignore[attr-defined]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dataset.load_state_dict(state)  # type: ignore[attr-defined]


def seekable_stream(loader: Any) -> Any | None:
    """The endless iterable dataset under `loader` that can `seek(batch)`, else None."""
    stream = getattr(loader, "dataset", None)
    if isinstance(stream, IterableDataset) and callable(getattr(stream, "seek", None)):
        return stream
    return None


def resumable_loader(loader: Any, seed: int) -> Any:
    """`loader` rebuilt so that a mid-epoch resume continues where it stopped, else `loader`.

    A `DataLoader` (no worker processes) over a map-style dataset with the default sampler
    (shuffled or sequential) is rebuilt around an `EpochSampler`; one over an iterable dataset
    with `state_dict` / `load_state_dict` becomes a `StatefulLoader`. Any other iterable is
    returned unchanged (it trains the same, but a mid-epoch resume restarts its epoch).
    """
    if not isinstance(loader, DataLoader) or loader.num_workers != 0:
        return loader
    if isinstance(loader.dataset, IterableDataset):
        keeps_position = all(
            callable(getattr(loader.dataset, name, None))
            for name in ("state_dict", "load_state_dict")
        )
        if not keeps_position or type(loader) is not DataLoader:
            return loader
        return StatefulLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            drop_last=loader.drop_last,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
        )
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

    An endless stream set as `stream` (see `seekable_stream`) is sought to the checkpoint's
    global step as soon as the checkpoint is loaded, before Lightning draws (and reads ahead) the
    first resumed batch: it hands out one batch per optimiser step.

    Under DDP the data order is Lightning's `DistributedSampler`'s, which restarts an interrupted
    epoch from its beginning, and every rank takes rank zero's generator states: a DDP run
    resumes correctly but not bit for bit.
    """

    def __init__(self) -> None:
        self.stream: Any | None = None  # an endless stream with `seek(batch)`, set by `fit`
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
        self._pending = _checked_resume_state(state_dict)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self.stream is None:
            return
        step = checkpoint["global_step"]  # an int (`DurableCheckpointIO` checked)
        if step < 0:
            raise CheckpointError(f"the checkpoint's global step {step} is negative.", _FIX_RESUME)
        self.stream.seek(step)

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


MT19937_WORDS = 624
"""Words of the Mersenne Twister's state: NumPy's position in it lies in [0, 624]."""


def _checked_resume_state(state: Any) -> dict[str, Any]:
    """`state` if every generator state in it can be set (tried on throwaway generators)."""
    try:
        assert isinstance(state, dict)
        assert all(type(state[key]) is int and state[key] >= 0 for key in ("epoch", "batches_done"))
        torch.Generator().set_state(state["torch"])
        numpy_state = _numpy_state_from_tensors(state["numpy"])
        assert 0 <= int(numpy_state[2]) <= MT19937_WORDS  # NumPy accepts any position silently
        np.random.RandomState().set_state(numpy_state)
        random.Random().setstate(state["python"])
        if "cuda" in state:
            assert isinstance(state["cuda"], list | tuple)
            assert all(
                isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in state["cuda"]
            )
    except (AssertionError, KeyError, TypeError, ValueError, RuntimeError, AttributeError):
        raise CheckpointError(
            "the checkpoint's resume state (epoch position, random generators) is damaged.",
            _FIX_RESUME,
        ) from None
    return state


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
_FIX_RESUME = "delete the checkpoints folder to start afresh, or resume from an intact copy."
REQUIRED_KEYS = {
    "state_dict": dict,
    "optimizer_states": list,
    "lr_schedulers": list,
    "loops": dict,
    "callbacks": dict,
    "epoch": int,
    "global_step": int,
    "pytorch-lightning_version": str,
}
"""What every checkpoint `fit` writes holds; Lightning needs each of them to resume."""


def check_checkpoint_file(path: str | Path) -> None:
    """Refuse a checkpoint path that is not a regular file: a symbolic link (`last.ckpt` linked
    to /etc/passwd), a FIFO, a device or a folder."""
    target = Path(path)
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        raise CheckpointError(f"{target} is missing.", _FIX_RESUME) from None
    if stat.S_ISLNK(mode):
        raise CheckpointError(
            f"{target} is a symbolic link (to {os.readlink(target)}); diffrnn resumes only from "
            "the checkpoint files it wrote.",
            _FIX_RESUME,
        )
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{target} is not a regular file.", _FIX_RESUME)


def check_checkpoint(
    checkpoint: dict[str, Any],
    module_state: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler_states: list[dict[str, Any]],
    fit_loop_state: dict[str, Any],
    eval_state: dict[str, torch.Tensor],
    callback_states: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Refuse a checkpoint this run did not write: compare it with what this run would write.

    Args:
        checkpoint: the loaded checkpoint (its top-level keys checked by `DurableCheckpointIO`).
        module_state: the LightningModule's `state_dict()`; the saved one must have the same
            names, shapes and dtypes, and finite values.
        optimizer: a freshly configured optimiser over the same parameters; the saved state's
            parameter groups must list the same parameters and its moments have their shapes.
        scheduler_states: the fresh schedulers' `state_dict()`s (same keys and value types).
        fit_loop_state: the trainer's fresh `fit_loop.state_dict()` (same keys, counters >= 0).
        eval_state: the weights `keep_best` would store (`best_weights`, when present).
        callback_states: the trainer's callbacks' fresh `state_dict()`s by `state_key`; a saved
            one must hold their keys, with strings, containers and tensors where they have them
            and counts or seconds (finite, >= 0) where they have numbers.

    Raises:
        CheckpointError: naming the first difference (another model's or suite's checkpoint, a
            tensor dropped, tampered or non-finite).
    """
    _same_layout(checkpoint["state_dict"], module_state, "state_dict", names_model=True)
    saved_optimizers = checkpoint["optimizer_states"]
    if len(saved_optimizers) != 1 or not isinstance(saved_optimizers[0], dict):
        raise CheckpointError("the checkpoint does not hold one optimiser state.", _FIX_RESUME)
    _check_optimizer_state(saved_optimizers[0], optimizer)
    _same_layout(checkpoint["lr_schedulers"], scheduler_states, "lr_schedulers")
    for saved, fresh in zip(checkpoint["lr_schedulers"], scheduler_states, strict=True):
        if saved.get("base_lrs") != fresh.get("base_lrs"):  # a 1e38 base lr overflowed AdamW
            raise CheckpointError(
                f"the checkpoint's learning-rate schedule starts from {saved.get('base_lrs')}, "
                f"this run's from {fresh.get('base_lrs')}.",
                _FIX_RESUME,
            )
    for key, fresh_state in (callback_states or {}).items():  # ResumeState checks its own
        if key in checkpoint["callbacks"] and key != ResumeState.__qualname__:
            _same_kinds(checkpoint["callbacks"][key], fresh_state, f"callbacks[{key[:40]!r}]")
    saved_loop = checkpoint["loops"].get("fit_loop")
    if isinstance(saved_loop, dict) and isinstance(saved_loop.get("state_dict"), dict):
        # the positions of stateful loaders (checked by their `load_state_dict`), which a fresh
        # fit loop cannot list before its loader is built
        loop_state = dict(saved_loop["state_dict"])
        loaders = loop_state.pop("combined_loader", [])
        if not isinstance(loaders, list) or not all(isinstance(s, dict) for s in loaders):
            raise CheckpointError("the checkpoint's data loader position is damaged.", _FIX_RESUME)
        saved_loop = {**saved_loop, "state_dict": loop_state}
    _same_layout(saved_loop, fit_loop_state, "loops.fit_loop")
    if ResumeState.__qualname__ not in checkpoint["callbacks"]:
        raise CheckpointError(
            "the checkpoint lacks the resume state (epoch position, random generators).",
            _FIX_RESUME,
        )
    best = checkpoint.get("best_weights")
    if best is not None:
        _same_layout(
            best, {"step": 0, "loss": 0.0, "state": eval_state}, "best_weights", names_model=True
        )


def _check_optimizer_state(saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
    """Same parameter groups as `optimizer`'s, moments of the parameters' shapes, all finite."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    fresh = optimizer.state_dict()
    _same_layout(saved.get("param_groups"), fresh["param_groups"], "optimizer param_groups")
    for saved_group, fresh_group in zip(saved["param_groups"], fresh["param_groups"], strict=True):
        if saved_group["params"] != fresh_group["params"]:
            raise CheckpointError(
                "the checkpoint's optimiser state is for other parameters.", _FIX_RESUME
            )
        for key, value in fresh_group.items():  # the settings this run chose (lr follows a
            if key not in ("params", "lr") and saved_group[key] != value:  # schedule)
                raise CheckpointError(
                    f"the checkpoint's optimiser setting {key} is {saved_group[key]!r}, this "
                    f"run's {value!r}.",
                    _FIX_RESUME,
                )
        peak = fresh_group.get("initial_lr", fresh_group["lr"])
        if not 0 <= saved_group["lr"] <= peak:  # schedules scale the peak by (0, 1]
            raise CheckpointError(
                f"the checkpoint's learning rate {saved_group['lr']!r} lies outside [0, {peak}].",
                _FIX_RESUME,
            )
    state = saved.get("state")
    if not isinstance(state, dict):
        raise CheckpointError("the checkpoint's optimiser state is damaged.", _FIX_RESUME)
    names = _moment_names(optimizer)
    for index, moments in state.items():
        if type(index) is not int or not 0 <= index < len(params) or not isinstance(moments, dict):
            raise CheckpointError("the checkpoint's optimiser state is damaged.", _FIX_RESUME)
        if set(moments) != names:  # a dropped 'step' or 'exp_avg' crashed Adam mid-resume
            raise CheckpointError(
                f"the checkpoint's optimizer state[{index}] holds {sorted(map(str, moments))}, "
                f"where {type(optimizer).__name__} keeps {sorted(names)}.",
                _FIX_RESUME,
            )
        for name, value in moments.items():
            shape = () if name == "step" else params[index].shape
            like = torch.empty(
                shape, dtype=torch.float32 if name == "step" else params[index].dtype
            )
            _same_layout(value, like, f"optimizer state[{index}].{name}")


def _moment_names(optimizer: torch.optim.Optimizer) -> set[str]:
    """What `optimizer`'s class keeps per parameter once it has stepped (AdamW: step, exp_avg,
    exp_avg_sq), read from one step of a throwaway copy on a scalar."""
    probe = torch.zeros(1, requires_grad=True)
    accepted = inspect.signature(type(optimizer)).parameters  # AdamW refuses some of its defaults
    throwaway = type(optimizer)(
        [probe], **{k: v for k, v in optimizer.defaults.items() if k in accepted}
    )
    probe.grad = torch.zeros(1)
    throwaway.step()
    return set(throwaway.state[probe])


def _same_kinds(saved: Any, fresh: dict[str, Any], where: str) -> None:
    """A callback's saved state: `fresh`'s keys, and values of the kinds Lightning reads back
    (a dropped 'best_model_path' was a KeyError mid-resume)."""

    def refuse(problem: str) -> CheckpointError:
        return CheckpointError(f"the checkpoint's {where} {problem}.", _FIX_RESUME)

    if not isinstance(saved, dict):
        raise refuse("is not a mapping")
    missing = sorted(set(fresh) - set(saved))
    if missing:
        raise refuse(f"lacks {missing[:3]}")
    for key, value in fresh.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            number = saved[key]
            if type(number) not in (int, float) or not (math.isfinite(number) and number >= 0):
                raise refuse(f"{key} should be a finite number >= 0")
        elif isinstance(value, str | dict | list | torch.Tensor) and not isinstance(
            saved[key], type(value)
        ):
            raise refuse(f"{key} should be a {type(value).__name__}")


def _same_layout(saved: Any, fresh: Any, where: str, names_model: bool = False) -> None:
    """`saved` has `fresh`'s structure: the same dict keys, list lengths and value types, tensors
    of the same shape and dtype with finite values, ints >= 0, finite floats."""

    def refuse(problem: str) -> CheckpointError:
        hint = " (written by another model or suite?)" if names_model else ""
        return CheckpointError(f"the checkpoint's {where} {problem}{hint}.", _FIX_RESUME)

    if isinstance(fresh, dict):
        if not isinstance(saved, dict):
            raise refuse("is missing or not a mapping")
        missing, unexpected = sorted(set(fresh) - set(saved)), sorted(set(saved) - set(fresh))
        if missing or unexpected:
            raise refuse(f"differs: missing {missing[:3]}, unexpected {unexpected[:3]}")
        for key, value in fresh.items():
            _same_layout(saved[key], value, f"{where}.{key}", names_model)
    elif isinstance(fresh, list | tuple):
        if not isinstance(saved, list | tuple) or len(saved) != len(fresh):
            raise refuse(f"should be a list of {len(fresh)}")
        for i, (s, f) in enumerate(zip(saved, fresh, strict=True)):
            _same_layout(s, f, f"{where}[{i}]", names_model)
    elif isinstance(fresh, torch.Tensor):
        if not isinstance(saved, torch.Tensor):
            raise refuse("is not a tensor")
        if saved.shape != fresh.shape or saved.dtype != fresh.dtype:
            raise refuse(
                f"is {saved.dtype}{list(saved.shape)}, this run's {fresh.dtype}{list(fresh.shape)}"
            )
        if saved.is_floating_point() and not bool(torch.isfinite(saved).all()):
            raise refuse("holds NaN or infinite values")
    elif isinstance(fresh, bool) or fresh is None or isinstance(fresh, str):
        if type(saved) is not type(fresh):
            raise refuse(f"should be {type(fresh).__name__}")
    elif isinstance(fresh, int) and (type(saved) is not int or saved < 0):
        raise refuse("should be a count >= 0")
    elif isinstance(fresh, float) and (type(saved) not in (int, float) or not math.isfinite(saved)):
        raise refuse("should be a finite number")


class DurableCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, writing local files through `atomic_open` (fsync + rename).

    Loading refuses anything but plain tensors and containers (`weights_only=True`): a crafted
    pickle is an `UnsafeFileError` and is never executed; a torn file is a `CheckpointError`.
    """

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs["weights_only"] = True
        if "://" not in str(path):
            check_checkpoint_file(path)
        try:
            checkpoint = super().load_checkpoint(path, *args, **kwargs)
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
        wrong = (
            [
                key
                for key, kind in REQUIRED_KEYS.items()
                if not isinstance(checkpoint.get(key), kind)
            ]
            if isinstance(checkpoint, dict)
            else list(REQUIRED_KEYS)
        )
        if wrong:
            raise CheckpointError(
                f"{path} lacks {wrong} (or holds them in another form); it is not a checkpoint "
                "diffrnn wrote, or it was altered.",
                _FIX_RESUME,
            )
        return checkpoint

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        with atomic_open(Path(path), "wb") as handle:
            torch.save(checkpoint, handle)
