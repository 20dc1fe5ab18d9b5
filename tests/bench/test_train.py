"""`diffrnn train` / `train_unit`: a unit trained into a directory, step budgets, resume, ranks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.bench.registry import UnitContext, UnitOutput, get_task, load_registry, register_unit
from diffrnn.bench.train import train_unit
from diffrnn.bench.unit_training import fitted_output, train_for_unit
from diffrnn.cli import main
from diffrnn.errors import CheckpointError, ConfigError
from diffrnn.training import TrainConfig

TASK, MODEL = "long-adding", "test-linear"


class Linear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return ((self.linear(x).squeeze(-1) - y) ** 2).mean()


def _linear_unit(ctx: UnitContext) -> UnitOutput:
    """Fits y = x0 - x1 within the unit's time budget (a step budget only through overrides)."""
    torch.manual_seed(ctx.seed)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    loader = DataLoader(TensorDataset(x, x[:, 0] - x[:, 1]), batch_size=8, shuffle=True)
    result = train_for_unit(Linear(), loader, ctx, TrainConfig(max_steps=-1))
    (ctx.out_dir / "weights.txt").write_text(str(result.model.linear.weight.tolist()))
    with torch.no_grad():
        mse = float(((result.model.linear(x).squeeze(-1) - (x[:, 0] - x[:, 1])) ** 2).mean())
    return fitted_output(result, {"mse": mse}, notes=[f"steps {result.steps}"])


@pytest.fixture
def unit() -> Iterator[None]:
    load_registry()
    register_unit(TASK, MODEL, family="baseline")(_linear_unit)
    yield
    del get_task(TASK).models[MODEL]


def test_a_step_budget_replaces_the_time_budget_and_the_result_is_written(
    tmp_path: Path, unit: None
) -> None:
    out = train_unit(TASK, MODEL, 3, tmp_path, budget_s=1e6, max_steps=12)
    assert out.notes[-1] == "steps 12"
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["metrics"] == out.metrics and record["seed"] == 3
    assert (record["steps"], record["stopped_by"]) == (12, "step_cap")
    assert record["overrides"]["max_steps"] == 12
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "artefacts" / "weights.txt").is_file()


def test_an_earlier_run_is_resumed_only_when_asked(tmp_path: Path, unit: None) -> None:
    first = train_unit(TASK, MODEL, 0, tmp_path, max_steps=12)
    with pytest.raises(ConfigError, match="--resume"):
        train_unit(TASK, MODEL, 0, tmp_path, max_steps=12)
    longer = train_unit(TASK, MODEL, 0, tmp_path, resume=True, max_steps=20)
    assert longer.notes[-1] == "steps 20" and longer.metrics["mse"] < first.metrics["mse"]
    # issue 17 case 7: the resumed unit reports the seconds of both runs, not its own 8 steps'
    assert longer.steps == 20 and longer.train_cpu_seconds > first.train_cpu_seconds


def test_worker_ranks_write_nothing_into_the_run_directory(
    tmp_path: Path, unit: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_RANK", "1")
    train_unit(TASK, MODEL, 0, tmp_path, max_steps=2)
    assert not (tmp_path / "result.json").exists()
    assert not (tmp_path / "artefacts").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"suite": "huge"}, "unknown suite"),
        ({"strategy": "bogus"}, "trainer settings were refused"),
    ],
)
def test_bad_settings_are_config_errors(
    tmp_path: Path, unit: None, kwargs: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        train_unit(TASK, MODEL, 0, tmp_path, **kwargs)
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--task", "nope", "--model", "x"], "unknown task 'nope'"),
        (["--task", "lm-shakespeare", "--model", "nope"], "has no model 'nope'"),
        (["--task", "lm-shakespeare", "--model", "mdlm", "--devices", "0"], "--devices"),
        (["--task", "lm-shakespeare", "--model", "mdlm", "--strategy", "nope"], "strategy"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", *args, "--out", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_cli_names_are_checked_before_torch_is_imported() -> None:
    code = (
        "import sys\nfrom diffrnn.cli import main\ntry:\n"
        "    main(['train', '--task', 'nope', '--model', 'x', '--out', 'unused'])\n"
        "except SystemExit as e:\n    print(e.code, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["2", "False"]


# -- resuming only the run a directory was made for (issue 17) ----------------------------------


class Wider(Linear):
    """Another model: a checkpoint of it must not resume a `Linear` run."""

    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.Linear(2, 2)


def _wider_unit(ctx: UnitContext) -> UnitOutput:
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    loader = DataLoader(TensorDataset(x, x[:, 0]), batch_size=8, shuffle=True)
    return fitted_output(train_for_unit(Wider(), loader, ctx, TrainConfig(max_steps=-1)), {})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A seed-0 run of the linear unit and one of the wider unit, trained once."""
    load_registry()
    register_unit(TASK, MODEL, family="baseline")(_linear_unit)
    register_unit(TASK, "test-wider", family="baseline")(_wider_unit)
    runs = {"linear": tmp_path_factory.mktemp("linear"), "wider": tmp_path_factory.mktemp("wider")}
    train_unit(TASK, MODEL, 0, runs["linear"], max_steps=6)
    train_unit(TASK, "test-wider", 0, runs["wider"], max_steps=6)
    yield runs
    del get_task(TASK).models[MODEL], get_task(TASK).models["test-wider"]


def _copy(run: Path, tmp_path: Path) -> Path:
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


def test_the_unit_a_directory_was_made_for_is_recorded(trained: dict[str, Path]) -> None:
    unit = json.loads((trained["linear"] / "unit.json").read_text())
    assert unit == {"task": TASK, "model": MODEL, "seed": 0, "suite": "quick", "format_version": 1}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"seed": 5}, "--seed 5"),
        ({"suite": "full"}, "--suite 'full'"),
        ({"model": "test-wider"}, "--model 'test-wider'"),
    ],
)
def test_resuming_as_another_unit_is_refused(
    trained: dict[str, Path], tmp_path: Path, change: dict, needle: str
) -> None:
    """`--resume --seed 5` on a seed-0 run continued seed 0 and labelled the result seed 5."""
    run = _copy(trained["linear"], tmp_path)
    arguments = {"task": TASK, "model": MODEL, "seed": 0, "suite": "quick"} | change
    with pytest.raises(ConfigError, match="was trained as task") as err:
        train_unit(out_dir=run, resume=True, max_steps=8, **arguments)
    assert needle in str(err.value) and "seed 0" in str(err.value)
    assert json.loads((run / "result.json").read_text())["seed"] == 0  # nothing relabelled


def _edit_checkpoint(run: Path, edit: object) -> None:
    path = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=True)
    edit(checkpoint)  # type: ignore[operator]
    torch.save(checkpoint, path)


def _nan_weight(c: dict) -> None:
    c["state_dict"]["model.linear.weight"][0, 0] = float("nan")


def _bad_torch_state(c: dict) -> None:
    c["callbacks"]["ResumeState"]["torch"] = torch.zeros(3, dtype=torch.uint8)


def _bad_numpy_state(c: dict) -> None:
    c["callbacks"]["ResumeState"]["numpy"]["pos"] = 10**6


def _bad_batches(c: dict) -> None:
    c["callbacks"]["ResumeState"]["batches_done"] = -4


def _bad_moment(c: dict) -> None:
    c["optimizer_states"][0]["state"][0]["exp_avg"] = torch.zeros(7)


def _bad_counter(c: dict) -> None:
    c["loops"]["fit_loop"]["epoch_progress"]["total"]["completed"] = "many"


def _huge_base_lr(c: dict) -> None:  # finite, but AdamW's update overflowed float32
    c["lr_schedulers"][0]["base_lrs"][0] = 1.9e38


def _huge_lr(c: dict) -> None:
    c["optimizer_states"][0]["param_groups"][0]["lr"] = 1.9e38


def _other_betas(c: dict) -> None:
    c["optimizer_states"][0]["param_groups"][0]["betas"] = (0.5, 0.5)


def _no_best_model_path(c: dict) -> None:  # Lightning's ModelCheckpoint raised KeyError
    next(v for k, v in c["callbacks"].items() if k.startswith("ModelCheckpoint")).pop(
        "best_model_path"
    )


def _text_seconds(c: dict) -> None:
    c["callbacks"]["ComputeBudget"]["cpu_seconds"] = "many"


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda c: c.pop("loops"), "lacks ['loops']"),
        (lambda c: c.pop("optimizer_states"), "lacks ['optimizer_states']"),
        (lambda c: c["callbacks"].pop("ResumeState"), "lacks the resume state"),
        (lambda c: c["state_dict"].pop("model.linear.bias"), "missing ['model.linear.bias']"),
        (_nan_weight, "holds NaN or infinite values"),
        (_bad_torch_state, "resume state (epoch position, random generators) is damaged"),
        (_bad_numpy_state, "resume state (epoch position, random generators) is damaged"),
        (_bad_batches, "resume state (epoch position, random generators) is damaged"),
        (_bad_moment, "optimizer state[0].exp_avg is torch.float32[7]"),
        # found by the hypothesis test below: Adam raised KeyError on resuming these
        (lambda c: c["optimizer_states"][0]["state"][0].pop("step"), "where AdamW keeps"),
        (lambda c: c["optimizer_states"][0]["state"][0].pop("exp_avg"), "where AdamW keeps"),
        (_huge_base_lr, "learning-rate schedule starts from [1.9e+38]"),
        (_huge_lr, "learning rate 1.9e+38 lies outside [0, 0.001]"),
        (_other_betas, "optimiser setting betas is (0.5, 0.5), this run's (0.9, 0.999)"),
        (_no_best_model_path, "lacks ['best_model_path']"),
        (_text_seconds, "cpu_seconds should be a finite number >= 0"),
        (_bad_counter, "should be a count >= 0"),
    ],
)
def test_a_damaged_checkpoint_is_one_checkpoint_error(
    trained: dict[str, Path], tmp_path: Path, edit: object, needle: str
) -> None:
    run = _copy(trained["linear"], tmp_path)
    _edit_checkpoint(run, edit)
    with pytest.raises(CheckpointError) as err:
        train_unit(TASK, MODEL, 0, run, resume=True, max_steps=8)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_another_models_checkpoint_is_refused(trained: dict[str, Path], tmp_path: Path) -> None:
    run = _copy(trained["linear"], tmp_path)
    shutil.copyfile(
        trained["wider"] / "checkpoints" / "last.ckpt", run / "checkpoints" / "last.ckpt"
    )
    with pytest.raises(CheckpointError, match=r"unexpected \['model.extra.bias'"):
        train_unit(TASK, MODEL, 0, run, resume=True, max_steps=8)


@pytest.mark.parametrize("target", ["/etc/passwd", "missing"])
def test_a_linked_checkpoint_is_refused(
    trained: dict[str, Path], tmp_path: Path, target: str
) -> None:
    run = _copy(trained["linear"], tmp_path)
    (run / "checkpoints" / "last.ckpt").unlink()
    (run / "checkpoints" / "last.ckpt").symlink_to(
        target if target.startswith("/") else tmp_path / target
    )
    with pytest.raises(CheckpointError, match="is a symbolic link"):
        train_unit(TASK, MODEL, 0, run, resume=True, max_steps=8)


def test_a_checkpoint_without_a_unit_record_is_not_resumed(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    run = _copy(trained["linear"], tmp_path)
    (run / "unit.json").unlink()
    with pytest.raises(CheckpointError, match=r"no unit\.json"):
        train_unit(TASK, MODEL, 0, run, resume=True, max_steps=8)


def test_an_intact_run_still_resumes(trained: dict[str, Path], tmp_path: Path) -> None:
    run = _copy(trained["linear"], tmp_path)
    assert train_unit(TASK, MODEL, 0, run, resume=True, max_steps=8).notes[-1] == "steps 8"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
        (["--seed", str(2**70)], f"--seed must be in [0, 4294967295], got {2**70}"),
        (["--devices", "99"], "--devices 99 asks for 99 training processes on 2 CPU core(s)"),
        (["--seed", "5", "--resume"], "was trained as task"),
    ],
)
def test_cli_refusals_of_train_are_one_line(
    trained: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    run = _copy(trained["linear"], tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "train",
                "--task",
                TASK,
                "--model",
                MODEL,
                "--out",
                str(run),
                "--max-steps",
                "8",
                *args,
            ]
        )
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


@pytest.mark.parametrize("seed", ["-1", str(2**70)])
def test_sample_refuses_a_seed_out_of_range_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: str
) -> None:
    argv = ["sample", "--task", "audio-fsdd", "--model", "audio-gru", "--digit", "1"]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "-o", str(tmp_path / "x.wav"), "--seed", seed, "--budget", "0.1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--seed must be in [0, 4294967295], got {seed}" in err


# -- any edit of a training checkpoint: it resumes, or one CheckpointError (hypothesis) ---------

HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-2, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-1, 3), max_size=2),
    st.builds(
        torch.full,
        st.lists(st.integers(0, 3), max_size=3).map(tuple),
        st.sampled_from([0.0, 1.0, -1e30, float("nan"), float("inf")]),
    ),
    st.builds(
        lambda n, dtype: torch.zeros(n, dtype=dtype),
        st.integers(0, 4),
        st.sampled_from([torch.int64, torch.uint8, torch.float64, torch.bfloat16, torch.bool]),
    ),
)


def _places(obj: object, path: tuple = ()) -> list[tuple]:
    """Every key path inside the nested dicts and lists of a checkpoint (the root excluded)."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    places = []
    for key, value in items:
        places += [(*path, key), *_places(value, (*path, key))]
    return places


def _edit(checkpoint: dict, place: tuple, action: str, value: object) -> None:
    *parents, last = place
    holder = checkpoint
    for key in parents:
        holder = holder[key]
    if action == "drop":
        del holder[last]
    elif action == "replace":
        holder[last] = value
    elif isinstance(holder, dict):  # "add": a key this run would not write
        holder[f"{last}-extra"] = value
    else:
        holder.append(value)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_edit_of_a_checkpoint_resumes_or_is_one_checkpoint_error(
    trained: dict[str, Path], data: st.DataObject
) -> None:
    """The listed tamperings (keys dropped, NaN weights, damaged generator states, another
    model's tensors) drawn at random over the whole checkpoint: training resumes, or stops with
    one line naming the damage and leaves the run's result as it was."""
    with tempfile.TemporaryDirectory() as tmp:
        run = _copy(trained["linear"], Path(tmp))
        path = run / "checkpoints" / "last.ckpt"
        checkpoint = torch.load(path, weights_only=True)
        places = _places(checkpoint)
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            place = data.draw(st.sampled_from(places), label="place")
            action = data.draw(st.sampled_from(["drop", "replace", "add"]), label="action")
            _edit(checkpoint, place, action, data.draw(HOSTILE_VALUES, label="value"))
            places = _places(checkpoint)
            if not places:
                break
        torch.save(checkpoint, path)
        before = (run / "result.json").read_bytes()
        try:
            out = train_unit(TASK, MODEL, 0, run, resume=True, max_steps=8)
        except (CheckpointError, ConfigError) as err:
            assert "\n" not in str(err) and "Fix:" in str(err), err
            assert (run / "result.json").read_bytes() == before
            event(f"refused: {type(err).__name__}")
        else:
            assert out.notes[-1].startswith("steps ")
            event("resumed")
