"""A designed run for the scorecard's tests: records whose every number is chosen by hand, so
each claim's verdict is known in advance (see the comment beside each block).

All learned units train at `BUDGET` seconds against an evidence budget of `EVIDENCE` on every
task (`ENOUGH`); `TOO_LOW` is the same run judged against budgets it does not reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

SEEDS = (0, 1, 2)
BUDGET = 120.0
LOW_RUNG = 30.0
TASKS = (
    "forecast-exchange",
    "forecast-etth1",
    "lm-shakespeare",
    "image-digits",
    "long-adding",
    "long-copy",
    "generate-etth1",
    "denoise-digits",
    "denoise-etth1",
    "audio-fsdd",
    "graph-chickenpox",
    "graph-losloop",
)
ENOUGH = dict.fromkeys(TASKS, 100.0)
TOO_LOW = dict.fromkeys(TASKS, 600.0)


def record(
    task: str,
    model: str,
    family: str,
    seed: int,
    metrics: dict[str, Any] | None,
    *,
    budget: float = BUDGET,
    status: str = "ok",
    error: str | None = None,
    throughput: float | None = None,
    unit: str = "samples/s",
    curves: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A results.jsonl record with the fields the scorecard and the report read."""
    trains = family not in ("baseline", "reference")
    return {
        "schema": 1,
        "task": task,
        "model": model,
        "family": family,
        "seed": seed,
        "suite": "full",
        "budget_s": budget,
        "status": status,
        "error": error,
        "params": 1000 if trains else 0,
        "metrics": metrics if status == "ok" else None,
        "train_seconds": budget if trains else 0.0,
        "train_cpu_seconds": budget if trains else 0.0,
        "infer_seconds_per_sample": 1.0 / throughput if throughput else None,
        "throughput": throughput,
        "throughput_unit": unit,
        "sampler_steps": None,
        "unit_wall_seconds": budget + 5,
        "unit_cpu_seconds": budget + 5,
        "peak_rss_mb": 400.0,
        "start_rss_mb": 300.0,
        "threads": 1,
        "curves": curves or {},
        "artefacts": {},
        "notes": [],
        "out_dir": f"units/{task}/{model}/seed{seed}",
        "started_at": "2026-12-01T00:00:00+00:00",
        "finished_at": "2026-12-01T00:01:00+00:00",
        "host": {"cpu": "Designed CPU", "cpu_count": 2},
    }


def seeds(
    task: str,
    model: str,
    family: str,
    metrics: Callable[[int], dict[str, Any]],
    *,
    seeds: Sequence[int] = SEEDS,
    **options: Any,
) -> list[dict[str, Any]]:
    """One record per seed, `metrics(seed)` giving each seed's numbers."""
    return [record(task, model, family, s, metrics(s), **options) for s in seeds]


def per_seed(*values: float) -> Callable[[int], float]:
    """seed -> values[seed]."""
    return lambda s: values[s]


def designed_run() -> list[dict[str, Any]]:
    """Every claim's records (see each block for the verdict it is built to give)."""
    r: list[dict[str, Any]] = []
    # image-digits (C1 ladder, C3, C5, C8): ddpm beats the pixel LSTM on FD in every seed and
    # reaches the LSTM's best level with fewer CPU seconds; ddpm-cond is better still but is
    # class-conditional, so C3 leaves it out.
    low_fd, top_fd = per_seed(40, 44, 42), per_seed(9, 10, 8)
    r += seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": low_fd(s)}, budget=LOW_RUNG)
    r += seeds(
        "image-digits",
        "ddpm",
        "diffusion",
        lambda s: {
            "fd": top_fd(s),
            "fd_by_sampler": {"ddim-10": top_fd(s) + 10, "ddim-50": top_fd(s)},
            "seconds_per_image_by_sampler": {"ddim-10": 0.002, "ddim-50": 0.01},
        },
        throughput=100.0,
        unit="images/s",
    )
    r += seeds("image-digits", "ddpm-cond", "diffusion", lambda s: {"fd": 1.0 + s})
    lstm_low, lstm_top = per_seed(35, 36, 34), per_seed(32, 31, 33)
    r += seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": lstm_low(s)}, budget=LOW_RUNG)
    r += seeds(
        "image-digits",
        "pixel-lstm",
        "rnn",
        lambda s: {"fd": lstm_top(s)},
        throughput=2800.0,
        unit="images/s",
    )
    # lm-shakespeare (C1 ladder: the LSTM reaches MDLM's best at its first rung; C5: MDLM
    # slower; C7: the LSTM better than MDLM)
    r += seeds(
        "lm-shakespeare",
        "lstm",
        "rnn",
        lambda s: {"nats_per_char": (2.0, 2.1, 2.05)[s]},
        budget=LOW_RUNG,
    )
    r += seeds(
        "lm-shakespeare",
        "lstm",
        "rnn",
        lambda s: {"nats_per_char": (1.6, 1.62, 1.58)[s]},
        throughput=3700.0,
        unit="chars/s",
    )
    r += seeds(
        "lm-shakespeare",
        "mdlm",
        "diffusion",
        lambda s: {"nats_per_char": (3.3, 3.2, 3.4)[s]},
        budget=LOW_RUNG,
    )
    r += seeds(
        "lm-shakespeare",
        "mdlm",
        "diffusion",
        lambda s: {"nats_per_char": (2.5, 2.6, 2.55)[s]},
        throughput=1000.0,
        unit="chars/s",
    )
    r += seeds("lm-shakespeare", "ngram", "baseline", lambda s: {"nats_per_char": 1.58}, seeds=[0])
    # long-adding (C2: the tanh RNN's gradient vanishes, the LSTM's is kept; C4: the LSTM
    # passes both lengths: effective, not limited)
    vanishing = {"grad_norm_vs_lag_T200": {"x": [0, 1, 2, 3], "y": [1.0, 1e-3, 1e-6, 1e-9]}}
    kept = {"grad_norm_vs_lag_T200": {"x": [0, 1, 2, 3], "y": [1.0, 0.5, 0.3, 0.2]}}
    for task in ("long-adding", "long-copy"):
        r += seeds(
            task,
            "rnn",
            "rnn",
            lambda s: {"mse": {"50": 0.005, "200": 0.17}, "passed": {"50": True, "200": False}},
            curves=vanishing,
        )
    r += seeds(
        "long-adding",
        "lstm",
        "rnn",
        lambda s: {"mse": {"50": 0.001, "200": 0.004}, "passed": {"50": True, "200": True}},
        curves=kept,
    )
    # long-copy: the LSTM passes T=50 and fails T=200 (effective and limited)
    r += seeds(
        "long-copy",
        "lstm",
        "rnn",
        lambda s: {"mse": {"50": 0.001, "200": 0.1}, "passed": {"50": True, "200": False}},
        curves=kept,
    )
    # forecast-etth1 (C4: the LSTM's MSE relative to linear AR grows with the horizon; C7: the
    # LSTM beats the diffusion forecaster and loses to linear AR)
    r += seeds(
        "forecast-etth1",
        "lstm",
        "rnn",
        lambda s: {
            "mse": 0.40 + s / 1000,
            "by_horizon": {"96": {"mse": 0.40 + s / 1000}, "336": {"mse": 0.55 + s / 1000}},
        },
    )
    r += seeds(
        "forecast-etth1",
        "linear-ar",
        "baseline",
        lambda s: {"mse": 0.39, "by_horizon": {"96": {"mse": 0.39}, "336": {"mse": 0.45}}},
        seeds=[0],
    )
    r += seeds(
        "forecast-etth1", "diffusion-forecaster", "diffusion", lambda s: {"mse": 0.78 + s / 100}
    )
    # forecast-exchange (C7: deepar beats the diffusion forecaster, loses to random walk; C9:
    # timegrad beats both deepar and the diffusion forecaster)
    r += seeds("forecast-exchange", "deepar", "rnn", lambda s: {"crps_sum": 0.0071 + s / 1e4})
    r += seeds(
        "forecast-exchange",
        "diffusion-forecaster",
        "diffusion",
        lambda s: {"crps_sum": 0.0091 + s / 1e4},
    )
    r += seeds(
        "forecast-exchange", "random-walk", "baseline", lambda s: {"crps_sum": 0.0045 + s / 1e5}
    )
    r += seeds("forecast-exchange", "timegrad", "hybrid", lambda s: {"crps_sum": 0.0062 + s / 1e4})
    # denoise (C6: diffusion better on digits, worse on ETTh1: mixed)
    r += seeds("denoise-digits", "ddpm", "diffusion", lambda s: {"psnr": (20.0, 20.5, 21.0)[s]})
    r += seeds("denoise-digits", "bigru", "rnn", lambda s: {"psnr": (18.0, 18.2, 18.1)[s]})
    r += seeds("denoise-digits", "gaussian-blur", "baseline", lambda s: {"psnr": 15.9}, seeds=[0])
    r += seeds("denoise-etth1", "ddpm", "diffusion", lambda s: {"psnr": (19.9, 20.0, 19.8)[s]})
    r += seeds("denoise-etth1", "bigru", "rnn", lambda s: {"psnr": (20.6, 20.7, 20.5)[s]})
    # generate-etth1 and audio-fsdd (C8: diffusion better on every score)
    r += seeds(
        "generate-etth1",
        "diffusion-generator",
        "diffusion",
        lambda s: {"discriminative_score": 0.1 + s / 100, "predictive_score": 0.09 + s / 1000},
    )
    r += seeds(
        "generate-etth1",
        "gru",
        "rnn",
        lambda s: {"discriminative_score": 0.39 + s / 100, "predictive_score": 0.12 + s / 1000},
    )
    r += seeds(
        "audio-fsdd",
        "audio-diffusion",
        "diffusion",
        lambda s: {"accuracy": 0.6 + s / 100, "fd": 6.0 + s},
    )
    r += seeds("audio-fsdd", "audio-gru", "rnn", lambda s: {"accuracy": 0.3 + s / 100, "fd": 9 + s})
    # graph-chickenpox (C9: dcrnn against gru-per-node and linear AR: the seeds disagree inside
    # two standard errors); graph-losloop not run (no data)
    r += seeds("graph-chickenpox", "dcrnn", "hybrid", lambda s: {"mse": (0.700, 0.720, 0.705)[s]})
    r += seeds(
        "graph-chickenpox", "gru-per-node", "rnn", lambda s: {"mse": (0.716, 0.704, 0.712)[s]}
    )
    r += seeds(
        "graph-chickenpox",
        "linear-ar",
        "baseline",
        lambda s: {"mse": (0.7044, 0.7044, 0.7044)[s]},
    )
    return r


def only(records: list[dict[str, Any]], *tasks: str) -> list[dict[str, Any]]:
    """The records of `tasks`."""
    return [r for r in records if r["task"] in tasks]


def unbounded_ladders() -> list[dict[str, Any]]:
    """image-digits ladders (30 s, 120 s) whose cost ratio bounds nothing in two seeds.

    The level is the LSTM's best mean fd, 30.33 (its top rung; ddpm's best mean is 18). Seed 0:
    ddpm (20) and the LSTM (25) both reach it at the first rung; seed 1: both cross it between
    the rungs (an exact ratio); seed 2: neither reaches it (ddpm 35, the LSTM 31 at the top).
    """
    ddpm_low, ddpm_top = per_seed(20, 40, 40), per_seed(9, 10, 35)
    lstm_low, lstm_top = per_seed(25, 35, 34), per_seed(30, 30, 31)
    return [
        *seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": ddpm_low(s)}, budget=LOW_RUNG),
        *seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": ddpm_top(s)}),
        *seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": lstm_low(s)}, budget=LOW_RUNG),
        *seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": lstm_top(s)}),
    ]
