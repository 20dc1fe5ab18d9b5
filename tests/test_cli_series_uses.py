"""`compare --data FILE --uses forecast,generate,denoise`: the series' uses, run and refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _series(path: Path, rows: int = 600) -> Path:
    t = np.arange(rows)
    stamps = pd.date_range("2024-01-01", periods=rows, freq="h")
    frame = pd.DataFrame({"date": stamps.strftime("%Y-%m-%d %H:%M:%S")})
    rng = np.random.default_rng(0)
    for k in range(2):  # a daily cycle: a smoother removes noise, a generator can learn it
        frame[f"s{k}"] = np.sin(2 * np.pi * t / 24 + k) + 0.05 * rng.standard_normal(rows)
    frame.to_csv(path, index=False)
    return path


def _fails(args: list[str], capsys: pytest.CaptureFixture) -> str:
    from diffrnn.cli import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.replace("\n", "")


def test_generate_and_denoise_run_on_the_users_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from diffrnn.cli import main

    run = tmp_path / "run"
    args = ["compare", "--data", str(_series(tmp_path / "s.csv")), "--uses", "generate,denoise"]
    args += ["--models", "gru,moving-average", "--budget", "1", "--seeds", "1"]
    main([*args, "--out", str(run), "--json"])
    records = {r["task"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    gru, smoother = records["generate-user"], records["denoise-user"]
    assert (gru["model"], gru["status"], smoother["model"], smoother["status"]) == (
        "gru",
        "ok",
        "moving-average",
        "ok",
    )
    assert 0 <= gru["metrics"]["discriminative_score"] <= 0.5
    assert gru["metrics"]["predictive_score"] > 0
    for sigma, psnr in smoother["metrics"]["psnr_by_sigma"].items():
        assert psnr > -20 * np.log10(float(sigma))  # beats the noisy input (range 1)
    report = (run / "report.md").read_text()
    assert "- uses: generate (generate-user), denoise (denoise-user)" in report
    assert "- windows: 24 steps x 2 series (one channel each)" in report
    assert "## Recommendation for your data: generate-user" in report
    assert "## Recommendation for your data: denoise-user" in report


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--uses", "forecast,plot"], "unknown use 'plot' in --uses"),
        (["--uses", "generate", "--horizon", "4"], "--horizon is for the forecast use"),
        (["--uses", "forecast"], "needs a forecast horizon"),
        (["--kind", "text", "--uses", "generate"], "--uses is for series"),
        (["--uses", "generate", "--tasks", "forecast-user"], "not built from --data as given"),
    ],
)
def test_bad_uses_get_one_line_and_exit_2(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    data = str(_series(tmp_path / "s.csv"))
    err = _fails(["compare", "--data", data, *extra, "--out", str(tmp_path / "run")], capsys)
    assert message in err
