"""audio-fsdd: the units of one run share the judge trained in the task's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.runner import unit_dir
from diffrnn.bench.suites import UnitSpec
from diffrnn.bench.units.audio import judge_cache


@pytest.mark.parametrize("ladder", [False, True])
def test_every_unit_of_a_run_finds_the_tasks_folder(tmp_path: Path, ladder: bool) -> None:
    spec = UnitSpec("audio-fsdd", "audio-gru", "rnn", 2, 30.0, "reference", ladder=ladder)
    ctx = UnitContext(seed=2, budget_s=30.0, suite="reference", out_dir=unit_dir(tmp_path, spec))
    assert judge_cache(ctx) == (tmp_path / "units" / "audio-fsdd").resolve()


def test_outside_a_run_the_judge_is_not_shared(tmp_path: Path) -> None:
    out = tmp_path / "audio-fsdd" / "model" / "seed0"  # not under a run's units/
    assert judge_cache(UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=out)) is None
