"""Gathering records: seeds pooled per model at its largest budget, and compute ladders."""

from __future__ import annotations

from typing import Any

import pytest

from diffrnn.bench.aggregate import Rung, TaskInfo, collect, ladder_points

TASK = TaskInfo(
    name="t",
    description="",
    dataset="",
    metrics=("mse",),
    primary="mse",
    lower_is_better=True,
    anchors=(),
    registered={"rnn": "rnn", "ddpm": "diffusion"},
)


def _record(
    model: str, seed: int, budget: float, mse: float | None, status: str = "ok", cpu: float = 1.0
) -> dict[str, Any]:
    family = TASK.registered[model]
    metrics = {"mse": mse} if status == "ok" else None
    return {"task": "t", "model": model, "family": family, "seed": seed, "budget_s": budget,
            "status": status, "metrics": metrics, "train_cpu_seconds": cpu}  # fmt: skip


RECORDS = [
    # rnn: a three-rung ladder; seed 1 is rerun at 10 s and fails (the latest record wins)
    *(_record("rnn", s, 10.0, 0.5 + s / 10, cpu=9.0 + s) for s in range(2)),
    _record("rnn", 1, 10.0, None, status="failed"),
    *(_record("rnn", s, 40.0, 0.3 + s / 10, cpu=39.0) for s in range(2)),
    *(_record("rnn", s, 160.0, 0.2 + s / 10, cpu=150.0) for s in range(2)),
    # ddpm: one budget only, no ladder
    *(_record("ddpm", s, 160.0, 0.1) for s in range(2)),
]


def test_collect_keeps_each_models_largest_budget() -> None:
    per_task = collect(RECORDS, {"t": TASK})
    rnn = per_task["t"]["rnn"]
    assert {r["budget_s"] for r in rnn.ok} == {160.0} and not rnn.failed
    assert rnn.quality == pytest.approx(0.25)
    assert [r["seed"] for r in per_task["t"]["ddpm"].ok] == [0, 1]


def test_ladder_points_give_every_rung_seed_by_seed() -> None:
    ladders = ladder_points(RECORDS, {"t": TASK})
    assert set(ladders) == {"t"} and set(ladders["t"]) == {"rnn"}  # ddpm has one budget
    rungs = ladders["t"]["rnn"]
    assert [r.budget_s for r in rungs] == [10.0, 40.0, 160.0]
    # seed 1's failure at 10 s leaves seed 0 only there
    assert rungs[0] == Rung(10.0, [0.5], [9.0])
    assert rungs[1].values == pytest.approx([0.3, 0.4]) and rungs[1].cpu_seconds == [39.0, 39.0]
    budget, values, cpu = rungs[2]  # a plain tuple too
    assert (budget, cpu) == (160.0, [150.0, 150.0]) and values == pytest.approx([0.2, 0.3])


def test_ladder_points_read_another_metric_and_skip_other_tasks() -> None:
    records = [{**r, "metrics": {"mae": 1.0}} if r["status"] == "ok" else r for r in RECORDS]
    assert ladder_points(records, {"t": TASK}) == {}  # no mse left: no rung
    assert [r.values for r in ladder_points(records, {"t": TASK}, "mae")["t"]["rnn"]] == [
        [1.0],
        [1.0, 1.0],
        [1.0, 1.0],
    ]
    assert ladder_points(RECORDS, {}) == {}
