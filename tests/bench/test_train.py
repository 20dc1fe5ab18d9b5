"""`diffrnn train` / `train_unit`: a unit trained into a directory, step budgets, resume, ranks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.bench.registry import UnitContext, UnitOutput, get_task, load_registry, register_unit
from diffrnn.bench.train import train_unit
from diffrnn.bench.unit_training import fitted_output, train_for_unit
from diffrnn.cli import main
from diffrnn.errors import ConfigError
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
