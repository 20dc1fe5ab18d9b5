"""Shared test set-up: small thread counts and a fixed seed for repeatable, fast tests."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)  # tiny tensors: a second thread only adds synchronisation


MEMORY_HEADROOM = 1 << 30
"""Bytes a test under `memory_cap` may allocate beyond what the process held when it started."""


@pytest.fixture
def memory_cap() -> Iterator[None]:
    """Cap the process's data segment (RLIMIT_DATA) at its current size plus `MEMORY_HEADROOM`.

    For tests of hostile inputs that must never allocate much: a regression then fails with
    MemoryError / "can't allocate memory" instead of driving the shared machine into swap or
    the OOM killer. Linux only (elsewhere the test runs uncapped).
    """
    status = Path("/proc/self/status")
    if not status.exists():
        yield
        return
    data_kb = next(
        int(line.split()[1])
        for line in status.read_text().splitlines()
        if line.startswith("VmData:")
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = data_kb * 1024 + MEMORY_HEADROOM
    resource.setrlimit(
        resource.RLIMIT_DATA, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard)
    )
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
