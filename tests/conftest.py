"""Shared test set-up: small thread counts and a fixed seed for repeatable, fast tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)  # tiny tensors: a second thread only adds synchronisation
