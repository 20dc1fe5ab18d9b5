"""`ray start`, patient: Ray's fixed start-up waits (30 s for a raylet to register) last
`PATIENCE` times longer, so a node starts on a machine too loaded to start it in 30 s.

    python ray_node.py start --block --head ...      # the arguments of `ray start`
"""

from __future__ import annotations

import sys
import time
from typing import Any

import ray._private.node as ray_node
from ray.scripts.scripts import main

PATIENCE = 3.0


class _PatientClock:
    """The `time` module with a monotonic clock running `PATIENCE` times slower."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def monotonic() -> float:
        return time.monotonic() / PATIENCE


ray_node.time = _PatientClock()  # type: ignore[assignment]
sys.exit(main())
