"""The same unit with the same seed gives identical metrics, in this process and in another one.

One small unit per family, each trained for a few optimiser steps (a step budget: a time budget
would stop after a load-dependent number of steps). The second run is a fresh interpreter with
another PYTHONHASHSEED, so set/dict-order or process-level state cannot hide in the metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from diffrnn.bench.registry import load_registry
from diffrnn.bench.train import train_unit

SRC = str(Path(__file__).resolve().parents[2] / "src")
UNITS = {  # family -> (task, model): the cheapest unit of each family with randomness in it
    "baseline": ("forecast-exchange", "random-walk"),
    "rnn": ("graph-chickenpox", "gru-per-node"),
    "diffusion": ("forecast-exchange", "diffusion-forecaster"),
    "hybrid": ("graph-chickenpox", "dcrnn"),
}
STEPS = 3


def run_all(seed: int) -> dict[str, Any]:
    """Metrics of every unit in UNITS trained STEPS steps with `seed`."""
    results = {}
    for family, (task, model) in UNITS.items():
        with tempfile.TemporaryDirectory() as out:
            output = train_unit(task, model, seed, out, max_steps=STEPS, budget_s=60.0)
        results[family] = output.metrics
    return json.loads(json.dumps(results))  # as another process would report them


def test_the_units_cover_every_family() -> None:
    tasks = load_registry()
    for family, (task, model) in UNITS.items():
        assert tasks[task].models[model].family == family


def test_same_seed_same_metrics_across_processes_and_a_new_seed_changes_them() -> None:
    script = f"import json, runpy; print(json.dumps(runpy.run_path({__file__!r})['run_all'](0)))"
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONHASHSEED": "123"}
    other = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    first, changed = run_all(0), run_all(1)
    stdout, _ = other.communicate(timeout=300)
    assert other.returncode == 0
    assert json.loads(stdout.splitlines()[-1]) == first
    for family in UNITS:  # the seed reaches the weights, the data order or the noise
        assert changed[family] != first[family], family
