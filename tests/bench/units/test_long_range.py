"""Long-range units: resume, the curriculum's warm start and budget shares, the copy accuracy and
the pass thresholds."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch

from diffrnn.bench.registry import UnitContext, get_model, load_registry
from diffrnn.bench.train import train_unit
from diffrnn.bench.unit_training import train_for_unit
from diffrnn.bench.units import long_range as units
from diffrnn.bench.units.long_range import (
    ADDING_LENGTHS,
    COPY_LENGTHS,
    copy_accuracy,
    length_shares,
    solved,
)
from diffrnn.rnn.long_range import LongRangeModel, long_range
from diffrnn.training.overrides import TrainOverrides, train_overrides

load_registry()

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


def test_length_shares_sum_to_one_and_grow_with_t() -> None:
    for lengths in (ADDING_LENGTHS, COPY_LENGTHS, (50,)):
        shares = length_shares(lengths)
        assert math.isclose(sum(shares), 1.0)
        assert all(a < b for a, b in itertools.pairwise(shares))
    # proportional to T + STEP_OVERHEAD_T: T = 1000 costs (1000 + 100) / (50 + 100) of T = 50
    shares = length_shares(ADDING_LENGTHS)
    assert math.isclose(shares[-1] / shares[0], 1100 / 150)


def test_copy_accuracy_counts_the_remembered_symbols_only() -> None:
    targets = torch.tensor([[0] * 5 + [1, 2, 3, 4, 5, 6, 7, 8, 1, 2]])  # (1, 15): 5 blanks, symbols
    predicted = targets.clone()
    predicted[0, :5] = 9  # the blanks wrong: not counted
    predicted[0, -1] = 3  # one symbol of ten wrong
    predicted[0, -4] = 0
    assert copy_accuracy(predicted, targets) == pytest.approx(0.8)
    assert copy_accuracy(targets, targets) == 1.0


def test_pass_thresholds() -> None:
    assert solved("adding", 0.0099) and not solved("adding", 0.01)
    assert solved("copy", 0.9) and not solved("copy", 0.899)


def test_the_memoryless_copy_floor_scores_chance_and_fails(tmp_path: Path) -> None:
    out = train_unit("long-copy", "memoryless", 0, tmp_path)
    (accuracy,) = out.metrics["accuracy"].values()
    assert abs(accuracy - 1 / 8) < 0.03  # 256 x 10 symbols, always guessing symbol 1
    assert out.metrics["passed"] == {"50": False}


def test_the_curriculum_warm_starts_each_length_from_the_previous_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each length's training starts from the weights the previous length ended with (the first
    from the seed's initialisation), with its share of the budget, shortest T first."""
    starts, ends, shares = [], [], []

    def recording(model, loader, ctx, train, name=None, share=1.0):  # type: ignore[no-untyped-def]
        starts.append({k: v.clone() for k, v in model.state_dict().items()})
        shares.append(share)
        with train_overrides(TrainOverrides(max_steps=3)):
            result = train_for_unit(model, loader, ctx, train, name=name, share=share)
        ends.append({k: v.clone() for k, v in result.model.state_dict().items()})
        return result

    monkeypatch.setattr(units, "train_for_unit", recording)
    ctx = UnitContext(
        seed=0, budget_s=60.0, suite="quick", out_dir=tmp_path, options={"lengths": [12, 6]}
    )
    out = get_model("long-adding", "lstm").run(ctx)
    assert list(out.metrics["mse"]) == ["6", "12"]
    assert shares == list(length_shares((6, 12)))
    torch.manual_seed(0)
    fresh = LongRangeModel(long_range("quick", "adding", "lstm")).state_dict()
    for key, value in fresh.items():
        torch.testing.assert_close(starts[0][key], value, rtol=0, atol=0)
        torch.testing.assert_close(starts[1][key], ends[0][key], rtol=0, atol=0)
    assert any(not torch.equal(ends[0][k], fresh[k]) for k in fresh)  # T = 6 trained


def test_a_curriculum_killed_in_its_second_length_resumes_to_the_uninterrupted_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit killed while training T = 12 resumes T = 6 from its finished checkpoint (so T = 12
    starts from the same weights again) and T = 12 from where it stopped."""
    steps = {"T6": STEPS, "T12": STEPS}

    def capped(model, loader, ctx, train, name=None, share=1.0):  # type: ignore[no-untyped-def]
        with train_overrides(TrainOverrides(max_steps=steps[name])):
            return train_for_unit(model, loader, ctx, train, name=name, share=share)

    monkeypatch.setattr(units, "train_for_unit", capped)

    def run(out: Path, resume: bool = False):  # type: ignore[no-untyped-def]
        ctx = UnitContext(
            seed=0,
            budget_s=60.0,
            suite="quick",
            out_dir=out,
            options={"lengths": [6, 12]},
            checkpoint_dir=out / "checkpoints",
            resume=resume,
        )
        return get_model("long-copy", "lstm").run(ctx)

    whole = run(tmp_path / "whole")
    steps["T12"] = STOP  # the kill
    run(tmp_path / "killed")
    steps["T12"] = STEPS
    resumed = run(tmp_path / "killed", resume=True)
    assert resumed.steps == whole.steps == 2 * STEPS
    assert resumed.metrics == whole.metrics
    assert resumed.curves == whole.curves
