"""Suites as data and the plan the command line's options narrow."""

from __future__ import annotations

import re
from pathlib import Path

import fake_units as fake
import pytest

import diffrnn.bench.units
from diffrnn.bench.registry import TASKS, UNIT_IMPORT_ERRORS, UnitContext, load_registry
from diffrnn.bench.suites import (
    EVIDENCE_BUDGETS,
    FULL,
    QUICK,
    REFERENCE,
    UNIT_TIMEOUT_SLACK_S,
    Ladder,
    Suite,
    get_suite,
    plan,
)
from diffrnn.errors import ConfigError


def test_quick_runs_every_registered_unit_once_on_a_tiny_budget() -> None:
    units = plan(QUICK)
    registered = {
        (t.name, m) for t in load_registry().values() if not t.needs_user_data for m in t.models
    }
    assert {(u.task, u.model) for u in units} == registered
    assert len(units) == len(registered)
    assert {u.seed for u in units} == {0} and {u.budget_s for u in units} == {QUICK.budget_s}
    assert all(u.suite == "quick" for u in units)
    assert all(u.family == TASKS[u.task].models[u.model].family for u in units)


def test_full_gives_each_task_its_budget_and_three_seeds() -> None:
    project_tasks = {name for name in load_registry() if not name.startswith("fake-")}
    assert project_tasks <= set(FULL.task_budgets)
    assert FULL.budget_for("lm-shakespeare") == 240.0
    assert FULL.budget_for(fake.FAKE_TASK) == FULL.budget_s
    units = plan(FULL, tasks=[fake.FAKE_TASK], models=["fake-rnn"])
    assert [(u.seed, u.budget_s) for u in units] == [(s, FULL.budget_s) for s in range(3)]
    assert units[0].time_limit_s == 3 * FULL.budget_s + UNIT_TIMEOUT_SLACK_S


def test_options_narrow_and_override() -> None:
    units = plan(
        QUICK, tasks=[fake.FAKE_TASK], models=["fake-rnn", "fake-baseline"], seeds=3, budget_s=7.5
    )
    assert [u.key for u in units] == [
        (fake.FAKE_TASK, m, s, 7.5) for m in ("fake-baseline", "fake-rnn") for s in range(3)
    ]
    assert {u.budget_s for u in units} == {7.5} and not any(u.ladder for u in units)
    # a model registered on some chosen tasks only runs where it exists
    units = plan(QUICK, tasks=[fake.FAKE_TASK, fake.FAKE_LONG], models=["fake-gated"])
    assert [u.key for u in units] == [(fake.FAKE_LONG, "fake-gated", 0, QUICK.budget_s)]


def test_gru_names_deepar_gru_on_exchange_and_the_point_forecaster_on_etth1() -> None:
    from diffrnn.bench.registry import get_model

    load_registry()
    units = plan(QUICK, tasks=["forecast-exchange", "forecast-etth1"], models=["gru"])
    assert [(u.task, u.model) for u in units] == [
        ("forecast-exchange", "deepar-gru"),
        ("forecast-etth1", "gru"),
    ]
    assert get_model("forecast-exchange", "gru").name == "deepar-gru"
    assert get_model("forecast-user", "gru").name == "deepar-gru"
    assert get_model("forecast-etth1", "gru").name == "gru"
    assert "gru" not in TASKS["forecast-exchange"].models


def test_budgets_make_a_ladder_of_every_unit() -> None:
    units = plan(QUICK, tasks=[fake.FAKE_TASK], models=["fake-rnn"], seeds=2, budgets=[120, 30])
    assert [u.key for u in units] == [
        (fake.FAKE_TASK, "fake-rnn", s, b) for b in (30.0, 120.0) for s in range(2)
    ]
    assert all(u.ladder for u in units)
    assert [u.time_limit_s for u in units[::2]] == [3 * b + UNIT_TIMEOUT_SLACK_S for b in (30, 120)]
    # a baseline trains nothing within a budget: it runs once, at the top rung
    units = plan(QUICK, tasks=[fake.FAKE_TASK], models=["fake-baseline"], budgets=[120, 30])
    assert [(u.budget_s, u.ladder) for u in units] == [(120.0, False)]
    # one budget is no ladder: the unit keeps its plain identity and directory
    (single,) = plan(QUICK, tasks=[fake.FAKE_TASK], models=["fake-rnn"], budgets=[30, 30.0])
    assert single.budget_s == 30.0 and not single.ladder


def test_a_suite_ladder_and_its_time_limits() -> None:
    suite = Suite(
        name="quick",
        description="a suite with a ladder on one task",
        budget_s=10.0,
        seeds=1,
        ladders={fake.FAKE_TASK: Ladder((40.0, 20.0), models=("fake-rnn",))},
        timeout_factor=2.0,
        evaluation_s={fake.FAKE_TASK: 5.0},
    )
    assert suite.budget_for(fake.FAKE_TASK) == 40.0  # the top rung fills the tables
    assert suite.ladder_for(fake.FAKE_LONG) == Ladder((10.0,))
    units = plan(suite, tasks=[fake.FAKE_TASK, fake.FAKE_LONG])
    assert [(u.model, u.budget_s, u.ladder, u.time_limit_s) for u in units] == [
        ("fake-baseline", 40.0, False, 2 * 45 + UNIT_TIMEOUT_SLACK_S),
        ("fake-rnn", 20.0, True, 2 * 25 + UNIT_TIMEOUT_SLACK_S),
        ("fake-rnn", 40.0, True, 2 * 45 + UNIT_TIMEOUT_SLACK_S),
        ("fake-diffusion", 40.0, False, 2 * 45 + UNIT_TIMEOUT_SLACK_S),  # not on the ladder
        ("fake-broken", 40.0, False, 2 * 45 + UNIT_TIMEOUT_SLACK_S),
        ("fake-gated", 10.0, False, 2 * 10 + UNIT_TIMEOUT_SLACK_S),
    ]
    # --budget narrows a ladder to one rung
    units = plan(suite, tasks=[fake.FAKE_TASK], models=["fake-rnn"], budget_s=5.0)
    assert [(u.budget_s, u.ladder) for u in units] == [(5.0, False)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tasks": ["no-such-task"]}, "unknown task 'no-such-task'"),
        ({"tasks": [fake.FAKE_TASK], "models": ["nope"]}, "unknown model 'nope'"),
        ({"tasks": ["forecast-user"]}, "built from your own file"),
        ({"seeds": 0}, "--seeds must be between 1 and 100"),
        ({"seeds": 1_000_000_000}, "--seeds must be between 1 and 100, got 1000000000"),
        ({"budget_s": -1.0}, "--budget must be positive"),
        ({"budget_s": float("nan")}, "--budget must be positive"),
        ({"budget_s": float("inf")}, "--budget must be positive"),
        ({"budget_s": 1e12}, "--budget must be positive seconds up to 604800"),
        ({"budgets": [30.0, 0.0]}, "--budgets must be positive"),
        ({"budgets": [30.0, 1e9]}, "--budgets must be positive seconds up to"),
        ({"budgets": []}, "--budgets takes 1 to 12 budgets, got 0"),
        ({"budgets": [float(b) for b in range(1, 14)]}, "--budgets takes 1 to 12 budgets"),
        ({"budget_s": 5.0, "budgets": [5.0]}, "--budget and --budgets exclude each other"),
    ],
)
def test_bad_options_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(QUICK, **kwargs)


def test_unknown_suite() -> None:
    assert get_suite("full") is FULL
    with pytest.raises(ConfigError, match="unknown suite 'medium'"):
        get_suite("medium")


def test_every_units_module_imports() -> None:
    load_registry()
    assert UNIT_IMPORT_ERRORS == {}


@pytest.mark.parametrize(
    ("suite", "recipe"), [("quick", "quick"), ("full", "full"), ("reference", "full")]
)
def test_units_build_full_sizes_in_the_reference_suite(suite: str, recipe: str, tmp_path) -> None:
    ctx = UnitContext(seed=0, budget_s=1.0, suite=suite, out_dir=tmp_path)  # type: ignore[arg-type]
    assert ctx.recipe == recipe


def test_units_size_themselves_by_recipe_not_by_suite_name() -> None:
    """`ctx.suite == "full"` would quietly give the reference suite the quick sizes: units read
    `ctx.recipe`, or `ctx.preset(...)` for a reference size of their own."""
    units_dir = Path(diffrnn.bench.units.__file__).parent
    compares = re.compile(r"ctx\.suite\s*(==|!=|\])")
    readers = [p.name for p in sorted(units_dir.glob("*.py")) if compares.search(p.read_text())]
    assert readers == []


def test_the_reference_suite_covers_every_task_with_ladders_where_cost_matters() -> None:
    registry = load_registry()
    project = {n for n, t in registry.items() if "fake" not in n and not t.needs_user_data}
    units = plan(REFERENCE, tasks=sorted(project))
    assert {u.task for u in units} == project
    assert {u.seed for u in units} == {0, 1, 2} and {u.suite for u in units} == {"reference"}
    for task in ("image-digits", "lm-shakespeare", "forecast-exchange", "audio-fsdd"):
        ladder = REFERENCE.ladders[task]
        assert len(set(ladder.budgets)) >= 3
        assert set(ladder.models or ()) <= set(registry[task].models)
        rungs = {(u.model, u.budget_s) for u in units if u.task == task and u.ladder}
        assert rungs == {(m, b) for m in ladder.models or () for b in ladder.budgets}
    for task, names in REFERENCE.task_models.items():
        assert set(names) <= set(registry[task].models), task
    assert set(EVIDENCE_BUDGETS) <= project
    # a cheap rung's evaluation (the audio judge, timed sampling) must fit inside its time limit
    assert set(REFERENCE.evaluation_s) == project
    assert all(u.time_limit_s >= REFERENCE.timeout_factor * u.budget_s for u in units)


def test_a_suite_narrows_a_tasks_models_and_the_command_line_overrides_it() -> None:
    suite = Suite("quick", "two models", 1.0, 1, task_models={fake.FAKE_TASK: ("fake-rnn",)})
    assert [u.model for u in plan(suite, tasks=[fake.FAKE_TASK])] == ["fake-rnn"]
    units = plan(suite, tasks=[fake.FAKE_TASK], models=["fake-baseline"])
    assert [u.model for u in units] == ["fake-baseline"]


def test_data_of_a_kind_plans_its_own_task_and_refuses_another_users_task() -> None:
    lm = plan(get_suite("quick"), models=("ngram",), user_data=True, user_tasks=("lm-user",))
    assert {u.task for u in lm} == {"lm-user"}  # not forecast-user, though it also needs data
    series = plan(get_suite("quick"), models=("last-value",), user_data=True)
    assert {u.task for u in series} == {"forecast-user"}
    with pytest.raises(ConfigError, match="not built from --data as given"):
        plan(get_suite("quick"), tasks=("forecast-user",), user_data=True, user_tasks=("lm-user",))


def test_series_uses_plan_one_task_each_in_the_order_given() -> None:
    uses = ("denoise-user", "generate-user")
    units = plan(get_suite("quick"), models=("gru", "bigru"), user_data=True, user_tasks=uses)
    assert [(u.task, u.model) for u in units] == [
        ("denoise-user", "bigru"),
        ("generate-user", "gru"),
    ]
    with pytest.raises(ConfigError, match=r"that makes 'denoise-user', 'generate-user'"):
        plan(get_suite("quick"), tasks=("forecast-user",), user_data=True, user_tasks=uses)
