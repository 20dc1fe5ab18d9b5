"""Long-range units: a step-budgeted unit stopped mid-way and resumed scores like one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffrnn.bench.train import train_unit

STEPS, STOP = 8, 3  # the stream is endless: any stop is mid-epoch


@pytest.mark.parametrize("task", ["long-adding", "long-copy"])
def test_a_stopped_long_range_unit_resumes_to_the_metrics_of_an_uninterrupted_run(
    task: str, tmp_path: Path
) -> None:
    """The resumed stream continues at the batch after the checkpoint (not from its seed's first
    batch), so the test losses and gradient curves are bit-identical to an unbroken run's."""
    whole = train_unit(task, "gru", 0, tmp_path / "whole", max_steps=STEPS)
    train_unit(task, "gru", 0, tmp_path / "stopped", max_steps=STOP)
    resumed = train_unit(task, "gru", 0, tmp_path / "stopped", max_steps=STEPS, resume=True)
    assert resumed.steps == whole.steps == STEPS
    assert resumed.metrics == whole.metrics
    assert resumed.curves == whole.curves
