"""The decision rule (paired seeds, two standard errors) and the grouping by budget."""

from __future__ import annotations

import math

import pytest
from claim_records import record

from diffrnn.bench import suites
from diffrnn.bench.rules import (
    NOT_EVIDENCE,
    Runs,
    direction,
    evidence_budgets,
    short_of_evidence,
)


def test_every_seed_agreeing_decides() -> None:
    # a lower than b in every paired seed, by a margin far inside b's spread
    a, b = {0: 1.0, 1: 5.0, 2: 9.0}, {0: 1.1, 1: 5.1, 2: 9.1}
    assert direction(a, b, lower=True) == (1, "every seed agrees (3 of 3)")
    assert direction(a, b, lower=False) == (-1, "every seed agrees (3 of 3)")


def test_a_single_value_stands_against_every_seed() -> None:
    baseline = {0: 0.39}
    assert direction({0: 0.40, 1: 0.41, 2: 0.42}, baseline, lower=True)[0] == -1
    assert direction({0: 0.38, 1: 0.41, 2: 0.37}, baseline, lower=True)[0] == 0


def test_two_standard_errors_decide_when_one_seed_disagrees() -> None:
    a = {0: 0.9, 1: 1.0, 2: 1.1, 3: 1.0, 4: 1.0}
    b = {0: 0.85, 1: 2.0, 2: 2.0, 3: 2.0, 4: 2.0}  # seed 0 disagrees
    # means 1.0 and 1.77, variances 0.005 and 0.2645: se = sqrt(0.005/5 + 0.2645/5) = 0.232
    se = math.sqrt(0.005 / 5 + 0.2645 / 5)
    assert f"{0.77 / se:.1f}" == "3.3"
    assert direction(a, b, lower=True) == (1, "3.3 standard errors apart")
    # with three seeds the disagreeing one widens the spread past 2 standard errors
    settled, how = direction({0: 0.9, 1: 1.0, 2: 1.1}, {0: 0.85, 1: 2.6, 2: 2.55}, lower=True)
    assert settled == 0 and "the seeds disagree" in how


def test_disagreeing_seeds_within_two_standard_errors_settle_nothing() -> None:
    a, b = {0: 0.700, 1: 0.720, 2: 0.705}, {0: 0.716, 1: 0.704, 2: 0.712}
    settled, how = direction(a, b, lower=True)
    assert settled == 0 and "within 2 standard errors" in how


def test_runs_keep_every_budget_and_the_latest_record_of_each_seed() -> None:
    records = [
        record("image-digits", "ddpm", "diffusion", 0, {"fd": 40.0}, budget=30.0),
        record("image-digits", "ddpm", "diffusion", 0, {"fd": 20.0}, budget=120.0),
        record("image-digits", "ddpm", "diffusion", 0, {"fd": 10.0}, budget=120.0),  # rerun
        record("image-digits", "ddpm", "diffusion", 1, None, budget=480.0, status="failed"),
        record("image-digits", "ddpm-cond", "diffusion", 0, {"fd": 1.0}),
    ]
    runs = Runs(records, {"image-digits": 100.0})
    assert [g.budget_s for g in runs.groups("image-digits", "ddpm")] == [30.0, 120.0, 480.0]
    assert [g.budget_s for g in runs.ladder("image-digits", "ddpm")] == [30.0, 120.0]
    top = runs.top("image-digits", "ddpm")
    assert top is not None and top.metric("fd") == {0: 10.0}
    assert runs.best("image-digits", "diffusion", "fd").model == "ddpm-cond"
    assert runs.best("image-digits", "diffusion", "fd", exclude=["ddpm-cond"]).model == "ddpm"
    assert [g.model for g in runs.best_ladder("image-digits", "diffusion", "fd")] == ["ddpm"] * 2
    low = runs.groups("image-digits", "ddpm")[0]
    assert not runs.reaches(low) and runs.reaches(top)


def test_short_of_evidence_names_the_budgets() -> None:
    evidence = {"image-digits": 600.0}
    assert short_of_evidence("image-digits", [600.0, 900.0], evidence) is None
    assert short_of_evidence("image-digits", [4.0], evidence) == (
        f"{NOT_EVIDENCE} (trained 4 s; image-digits counts from 600 s)"
    )
    assert short_of_evidence("forecast-user", [4.0], evidence) is None


def test_evidence_budgets_fall_back_to_the_full_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(suites, "EVIDENCE_BUDGETS", raising=False)
    budgets = evidence_budgets()
    assert budgets["image-digits"] == suites.FULL.task_budgets["image-digits"]
    assert "forecast-user" not in budgets  # the user's own data is theirs to judge
    monkeypatch.setattr(suites, "EVIDENCE_BUDGETS", {"image-digits": 240.0}, raising=False)
    assert evidence_budgets() == {"image-digits": 240.0}
