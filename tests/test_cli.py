"""The command line: instant help, one-line errors with exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diffrnn.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from diffrnn import cli; "
        "heavy = [m for m in ('torch', 'lightning', 'diffusers', 'pandas', 'matplotlib') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version() -> None:
    out = _run("version")
    assert out.returncode == 0 and "diffrnn" in out.stdout


@pytest.mark.parametrize("args", [("bogus",), ("version", "--nope")])
def test_bad_arguments_give_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    out = _run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_datasets_list_show_verify() -> None:
    listing = _run("datasets", "list")
    assert listing.returncode == 0
    assert "exchange_rate_nips" in listing.stdout and "metr_la_graph" in listing.stdout
    shown = _run("datasets", "show", "etth1")
    assert shown.returncode == 0 and "f18de3ad269cef59" in shown.stdout
    verified = _run("datasets", "verify", "tinyshakespeare")
    assert verified.returncode == 0 and "ok tinyshakespeare" in verified.stdout


@pytest.mark.parametrize("command", ["show", "verify"])
def test_datasets_unknown_name_is_one_line_exit_2(command: str) -> None:
    out = _run("datasets", command, "nope")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "etth1" in out.stderr


def test_datasets_verify_names_the_altered_file(tmp_path) -> None:
    target = tmp_path / "tinyshakespeare" / "input.txt"
    target.parent.mkdir()
    target.write_text("First Citizen:\n")
    env = {**os.environ, "DIFFRNN_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "diffrnn.cli", "datasets", "verify", "tinyshakespeare"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 2 and "input.txt" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("compare", "--tasks", "no-such-task"), "unknown task 'no-such-task'"),
        (("compare", "--tasks", "long-adding", "--models", "nope"), "unknown model 'nope'"),
        (("compare", "--suite", "medium"), "unknown suite 'medium'"),
        (("compare", "--seeds", "1000000000"), "--seeds must be between 1 and 100"),
        (("compare", "--budgets", "30,x"), "--budgets takes seconds separated by commas"),
        (("compare", "--budgets", "30,-1"), "--budgets must be positive"),
        (("compare", "--budget", "3", "--budgets", "3,9"), "--budget and --budgets exclude"),
        (("report", "no-such-run"), "no-such-run: no such directory"),
        (("compare", "--data", "x.csv"), "No file at x.csv"),
        (("compare", "--horizon", "3"), "--horizon is for your own data"),
        (("compare", "--data", "no-such.csv", "--horizon", "3"), "No file at"),
    ],
)
def test_compare_and_report_name_errors_exit_2(
    args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture
) -> None:
    from diffrnn.cli import main  # in process: the subprocess tests above cover the entry point

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    stderr = capsys.readouterr().err
    assert exited.value.code == 2, stderr
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_report_rerenders_a_stored_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from diffrnn.cli import main

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "fixtures" / "bench_run", run)
    main(["report", str(run)])
    assert str(run / "report.html") in capsys.readouterr().out
    assert (run / "report.md").read_text().startswith("# diffrnn compare: quick suite")
    assert (run / "report.html").stat().st_size > 10_000  # plots inlined


def test_compare_on_a_tiny_csv_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    import numpy as np
    import pandas as pd

    from diffrnn.cli import main

    # three shops with an exact weekly pattern: the seasonal naive forecast is perfect (CRPS 0)
    days = pd.date_range("2025-03-03", periods=42, freq="D")
    week = np.array([5.0, 7.0, 6.0, 8.0, 12.0, 20.0, 3.0])
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d")})
    for k in range(3):
        frame[f"shop{k}"] = (k + 1) * week[np.arange(42) % 7]
    frame.to_csv(tmp_path / "sales.csv", index=False)
    run = tmp_path / "run"
    args = ["compare", "--data", str(tmp_path / "sales.csv"), "--horizon", "7"]
    main([*args, "--models", "last-value,seasonal-naive", "--out", str(run), "--json"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["model"], r["seed"], r["status"]) for r in records] == [
        (model, seed, "ok") for model in ("last-value", "seasonal-naive") for seed in range(3)
    ]  # three seeds by default with --data: nothing to train here, the budget allows them
    assert records[3]["metrics"]["crps"] == 0.0 and records[0]["metrics"]["crps"] > 0.1
    assert len(records[3]["curves"]["crps_vs_origin"]["y"]) == 3  # one CRPS per origin
    report = (run / "report.md").read_text()
    assert "- format: wide (inferred)" in report and "- frequency: D (inferred)" in report
    assert "- backtest: 3 rolling origin(s) every 7 steps over the last 21 rows" in report
    assert "- seeds: 3 (the default with --data" in report
    assert "Pick baseline (seasonal-naive): crps 0 ± 0 over 3 seeds, the best" in report


def test_compare_data_options_and_fixes_name_existing_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import re

    from diffrnn.cli import main

    rows = "".join(f"{i},2025-01-{d:02d},{d},{d % 3}\n" for i in "ab" for d in range(1, 29))
    (tmp_path / "sales.csv").write_text("shop,day,amount,qty\n" + rows)
    args = ["compare", "--data", str(tmp_path / "sales.csv"), "--horizon", "2"]
    with pytest.raises(SystemExit) as code:
        main([*args, "--out", str(tmp_path / "run")])
    assert code.value.code == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert "looks like long format" in err
    flags = re.findall(r"--[a-z-]+", err)
    assert {"--format", "--id-col", "--time-col", "--target-col"} <= set(flags)
    main(["compare", "--help"])
    help_text = capsys.readouterr().out
    assert all(flag in help_text for flag in flags)  # every flag a fix names exists here
    main(
        [
            *args,
            "--format",
            "long",
            "--id-col",
            "shop",
            "--time-col",
            "day",
            "--target-col",
            "amount",
            "--models",
            "last-value",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    report = (tmp_path / "run" / "report.md").read_text()
    assert "- series: 2 (a, b)" in report and "'qty' read but not used" in report


def test_sample_writes_the_digit_from_a_saved_generator(tmp_path: Path) -> None:
    import soundfile
    import torch

    from diffrnn.cli import main
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU, SpectrogramGRUConfig

    torch.manual_seed(0)
    generator = SpectrogramGRU(SpectrogramGRUConfig(n_frames=8, hidden_size=8, num_layers=1))
    generator.log_mel_range.copy_(torch.tensor([-13.8, 2.0]))
    generator.save_pretrained(tmp_path / "gru")
    out = tmp_path / "seven.wav"
    main(["sample", "--task", "audio-fsdd", "--model", "audio-gru", "--digit", "7",
          "--from", str(tmp_path / "gru"), "-o", str(out)])  # fmt: skip
    wave, rate = soundfile.read(out)
    assert rate == 8000 and wave.shape == ((8 - 1) * 80,)


@pytest.mark.parametrize(
    "args",
    [
        ("--task", "image-digits", "--model", "audio-gru", "--digit", "1", "-o", "x.wav"),
        ("--task", "audio-fsdd", "--model", "wavenet", "--digit", "1", "-o", "x.wav"),
    ],
)
def test_sample_rejects_other_tasks_and_models(args: tuple[str, ...]) -> None:
    out = _run("sample", *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
