"""The commands that use the models on a user's file: forecast, denoise; tasks, models, --version.

In process (`diffrnn.cli.main`), on tiny CSVs written in tmp_path, with floors or a few steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffrnn.cli import main

WEEK = np.array([5.0, 7.0, 6.0, 8.0, 12.0, 20.0, 3.0])


def _shops(path: Path, days: int = 42) -> Path:
    stamps = pd.date_range("2025-03-03", periods=days, freq="D")
    frame = pd.DataFrame({"date": stamps.strftime("%Y-%m-%d")})
    for k in range(2):
        frame[f"shop {k}"] = (k + 1) * WEEK[np.arange(days) % 7]
    frame.to_csv(path, index=False)
    return path


def _fails(args: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_forecast_auto_save_plot_then_from_the_saved_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = _shops(tmp_path / "sales.csv")
    out, saved, plots = tmp_path / "f.csv", tmp_path / "model", tmp_path / "plots"
    args = ["forecast", "--data", str(data), "--horizon", "7", "-o", str(out)]
    args += ["--candidates", "last-value,seasonal-naive", "--save", str(saved)]
    main([*args, "--plot", str(plots)])
    printed = capsys.readouterr().out
    assert "chose seasonal-naive" in printed and f"wrote {out}" in printed
    forecasts = pd.read_csv(out)
    assert list(forecasts.columns) == ["unique_id", "ds", "mean", "q0.1", "q0.5", "q0.9"]
    assert forecasts["ds"].iloc[0] == "2025-04-14" and forecasts["ds"].iloc[6] == "2025-04-20"
    np.testing.assert_array_equal(forecasts["mean"][:7], WEEK)  # 42 days: Monday again
    assert sorted(p.name for p in plots.iterdir()) == ["shop_0.png", "shop_1.png"]
    again = tmp_path / "again.parquet"
    main(["forecast", "--from", str(saved), "-o", str(again)])
    reread = pd.read_parquet(again)
    np.testing.assert_array_equal(reread["q0.9"], forecasts["q0.9"])


def test_forecast_a_trained_model_with_a_few_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = _shops(tmp_path / "sales.csv")
    out = tmp_path / "f.csv"
    args = ["forecast", "--data", str(data), "--horizon", "7", "-o", str(out)]
    main([*args, "--model", "gru", "--max-steps", "2", "--num-samples", "4"])
    printed = capsys.readouterr().out
    assert "trained deepar-gru on 42 rows: 2 steps" in printed
    assert "note: model 'gru' is now 'deepar-gru'" in printed  # the old name, deprecated
    assert len(pd.read_csv(out)) == 14


def test_denoise_writes_the_input_format_and_prints_sigma(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2024-01-01", periods=60, freq="h")
    noisy = np.sin(np.arange(60) / 5) + 0.3 * rng.standard_normal(60)
    pd.DataFrame({"ds": stamps, "sensor": noisy}).to_csv(tmp_path / "noisy.csv", index=False)
    out = tmp_path / "clean.parquet"
    main(["denoise", "--data", str(tmp_path / "noisy.csv"), "-o", str(out), "--max-steps", "3"])
    printed = capsys.readouterr().out
    assert "noise sd (estimated from the first differences): sensor 0." in printed
    clean = pd.read_parquet(out)
    assert list(clean.columns) == ["ds", "sensor"] and len(clean) == 60
    assert np.isfinite(clean["sensor"]).all() and not np.array_equal(clean["sensor"], noisy)


def test_generate_prints_both_scores_and_writes_the_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = _shops(tmp_path / "sales.csv", days=100)
    out = tmp_path / "synthetic.csv"
    args = ["generate", "--data", str(data), "--length", "7", "-n", "5", "-o", str(out)]
    main([*args, "--max-steps", "2"])
    printed = capsys.readouterr().out
    assert "discriminative score against 14 held-out windows" in printed
    assert "predictive score against 14 held-out windows" in printed
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["sample", "step", "shop 0", "shop 1"] and len(frame) == 35


def test_tasks_models_and_version(capsys: pytest.CaptureFixture) -> None:
    main(["tasks"])
    assert "forecast-user" in capsys.readouterr().out
    main(["models", "--task", "forecast-user"])
    listing = capsys.readouterr().out
    assert "timegrad" in listing and "seasonal-naive" in listing and "segrnn" in listing
    assert "deprecated: gru on forecast-user is now deepar-gru" in listing
    main(["--version"])  # prints and returns: exit code 0
    assert "diffrnn 0." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forecast", "--data", "nope.csv", "--horizon", "3", "-o", "f.csv"], "No file at"),
        (["forecast", "--data", "{sales}", "--horizon", "0", "-o", "f.csv"], "--horizon"),
        (["forecast", "--data", "{sales}", "--horizon", "30", "-o", "f.csv"], "needs at least"),
        (["forecast", "--data", "{sales}", "--horizon", "3", "-o", "f.csv", "--model", "x"],
         "--model must be one of"),
        (["forecast", "--data", "{sales}", "--horizon", "3", "-o", "f.xlsx"], "unknown table"),
        (["forecast", "--data", "{sales}", "--horizon", "3", "-o", "f.csv", "--save", "a",
          "--from", "b"], "--save and --from exclude"),
        (["forecast", "--data", "{sales}", "-o", "f.csv"], "needs --data and --horizon"),
        (["forecast", "--from", "nowhere", "-o", "f.csv"], "no such directory"),
        (["denoise", "--data", "{sales}", "-o", "c.csv", "--sigma", "-1"], "--sigma must be"),
        (["denoise", "--data", "nope.csv", "-o", "c.csv"], "No file at"),
        (["generate", "--data", "{sales}", "-o", "c.csv", "--model", "x"], "--model must be"),
        (["generate", "--data", "{sales}", "-o", "c.csv", "--length", "30"], "need at least"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    sales = _shops(tmp_path / "sales.csv")
    args = [a.replace("{sales}", str(sales)) for a in args]
    args = [str(tmp_path / a) if a in ("f.csv", "f.xlsx", "c.csv", "a", "b") else a for a in args]
    assert message in _fails(args, capsys)
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "c.csv").exists()
