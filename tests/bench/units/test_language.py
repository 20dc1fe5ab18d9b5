"""Language units: a step-budgeted char LM stopped mid-pass and resumed scores like one run."""

from __future__ import annotations

import warnings
from pathlib import Path

from diffrnn.bench.train import train_unit

STEPS, STOP = 24, 11  # the quick recipe's pass is about 980 batches: the stop is mid-pass


def test_a_stopped_lm_unit_resumes_to_the_metrics_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    """The TBPTT chunks continue at the batch after the checkpoint and the carried recurrent
    state comes back with it, so the metrics are equal, and Lightning has nothing to warn of."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        whole = train_unit("lm-shakespeare", "lstm", 0, tmp_path / "whole", max_steps=STEPS)
        train_unit("lm-shakespeare", "lstm", 0, tmp_path / "stopped", max_steps=STOP)
        resumed = train_unit(
            "lm-shakespeare", "lstm", 0, tmp_path / "stopped", max_steps=STEPS, resume=True
        )
    assert resumed.steps == whole.steps == STEPS
    assert resumed.metrics == whole.metrics
    assert not [w for w in caught if "not resumable" in str(w.message)]
