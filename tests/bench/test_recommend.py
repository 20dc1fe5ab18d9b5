"""The recommendation for the user's data: a pick only when the difference beats its spread."""

from __future__ import annotations

import numpy as np

from diffrnn.bench.aggregate import ModelResult, TaskInfo
from diffrnn.bench.recommend import compare, recommend

TASK = TaskInfo(
    name="forecast-user",
    description="",
    dataset="user:--data",
    metrics=("crps", "crps_sum", "mse", "mae"),
    primary="crps",
    lower_is_better=True,
    anchors=(),
    registered={},
)


def _model(
    name: str,
    family: str,
    per_seed_origins: list[list[float]],
    train_s: float = 0.0,
    origins: list[int] | None = None,
) -> ModelResult:
    """A model whose seed k scored `per_seed_origins[k]` at the backtest's origins."""
    records = []
    for seed, scores in enumerate(per_seed_origins):
        x = origins if origins is not None else list(range(len(scores)))
        records.append(
            {
                "seed": seed,
                "status": "ok",
                "metrics": {"crps": float(np.mean(scores))},
                "curves": {"crps_vs_origin": {"x": x, "y": list(scores)}},
                "train_seconds": train_s,
                "infer_seconds_per_sample": 1e-4 if train_s else 1e-6,
            }
        )
    return ModelResult(TASK, name, family, ok=records)


def _hard_and_easy(base: float, shift: float, seeds: int = 3, noise: float = 0.0) -> list:
    """12 origins alternating hard (2 base) and easy (base), each shifted, a little seed noise."""
    rng = np.random.default_rng(len(str(shift)))
    levels = np.where(np.arange(12) % 2, base, 2 * base)
    return [list(levels + shift + noise * rng.standard_normal(12)) for _ in range(seeds)]


def test_a_consistent_lead_over_every_origin_and_seed_is_a_clear_pick() -> None:
    results = {
        "linear-ar": _model("linear-ar", "baseline", _hard_and_easy(0.1, 0.0)),
        "deepar": _model("deepar", "rnn", _hard_and_easy(0.1, -0.01, noise=1e-3), train_s=60),
    }
    rec = recommend(results, TASK)
    assert rec.clear and rec.pick is results["deepar"]
    assert rec.headline.startswith("Pick rnn (deepar): crps 0.1397 ± 0.00019 over 3 seeds")
    assert "clearly ahead of every other family" in rec.headline
    assert "Against the best baseline (linear-ar, 0.15): 7% better" in rec.headline
    assert "a difference of 0.01027, ± 0.00025 over 12 origins (deepar better at 12 of 12)" in (
        rec.headline
    )
    assert "± 0.00022 over 3 seeds (every seed agrees)" in rec.headline


def test_a_lead_inside_the_spread_over_origins_is_no_clear_winner() -> None:
    # deepar wins by 0.05 on half the origins and loses by 0.04 on the other half
    swings = [
        list(np.array(s) + np.where(np.arange(12) % 2, -0.05, 0.04))
        for s in _hard_and_easy(0.1, 0.0)
    ]
    results = {
        "linear-ar": _model("linear-ar", "baseline", _hard_and_easy(0.1, 0.0)),
        "deepar": _model("deepar", "rnn", swings, train_s=60),
    }
    rec = recommend(results, TASK)
    assert not rec.clear and rec.best is results["deepar"]  # best on the mean, by 3.4%
    assert rec.headline.startswith("No clear winner: rnn (deepar) scored best")
    assert "its lead over baseline (linear-ar) (3%, inside the spread over origins)" in rec.headline
    assert rec.pick is results["linear-ar"]  # as good within the spread and free to train
    assert "Pick baseline (linear-ar): as good within the spread and the cheapest" in rec.headline


def test_seeds_that_disagree_leave_no_clear_winner() -> None:
    seeds = _hard_and_easy(0.1, -0.03, seeds=2) + _hard_and_easy(0.1, 0.02, seeds=1)
    base = _model("linear-ar", "baseline", _hard_and_easy(0.1, 0.0))
    comparison = compare(_model("deepar", "rnn", seeds, train_s=60), base, close=0.02)
    assert comparison.difference > 0 and not comparison.seeds_agree and not comparison.clear


def test_a_model_scored_on_fewer_origins_is_compared_on_those() -> None:
    # the diffusion model scored only the easy origins: its headline crps looks best, but on
    # the origins both scored deepar is better
    easy = [1, 3, 5, 7, 9, 11]
    results = {
        "deepar": _model("deepar", "rnn", _hard_and_easy(0.1, 0.0), train_s=60),
        "diffusion-forecaster": _model(
            "diffusion-forecaster", "diffusion", [[0.12] * 6] * 3, train_s=60, origins=easy
        ),
    }
    rec = recommend(results, TASK)
    assert rec.best is results["deepar"] and rec.clear
    assert "on the 6 origin(s) both scored" in rec.details[0]


def test_without_origin_curves_or_seeds_the_spread_is_said_to_be_unknown() -> None:
    one = _model("deepar", "rnn", [[0.1]], train_s=60)
    base = _model("last-value", "baseline", [[0.2]])
    for m in (one, base):
        del m.ok[0]["curves"]["crps_vs_origin"]
    rec = recommend({"deepar": one, "last-value": base}, TASK)
    assert rec.pick is one and rec.clear
    assert "one seed: no spread over seeds" in rec.headline
    assert "on the headline score" in rec.details[0]


def test_a_lead_under_the_close_margin_is_a_tie_however_consistent() -> None:
    base = _model("linear-ar", "baseline", _hard_and_easy(0.1, 0.0))
    slightly = _model("deepar", "rnn", _hard_and_easy(0.1, -0.002), train_s=60)  # 1.3%
    rec = recommend({"linear-ar": base, "deepar": slightly}, TASK, close=0.02)
    assert not rec.clear and rec.pick is base and "(1%, under 2%)" in rec.headline
    assert recommend({"linear-ar": base, "deepar": slightly}, TASK, close=0.01).clear


def test_a_class_conditional_model_is_shown_but_never_picked() -> None:
    images = TaskInfo(
        name="image-user",
        description="",
        dataset="user:--data",
        metrics=("fd",),
        primary="fd",
        lower_is_better=True,
        anchors=(),
        registered={},
    )

    def fd(name: str, family: str, values: list[float]) -> ModelResult:
        records = [
            {"seed": s, "status": "ok", "metrics": {"fd": v}, "train_seconds": 5.0}
            | {"infer_seconds_per_sample": 0.01}
            for s, v in enumerate(values)
        ]
        return ModelResult(images, name, family, ok=records)

    results = {
        "ddpm": fd("ddpm", "diffusion", [240.0, 236.0, 238.0]),
        "ddpm-cond": fd("ddpm-cond", "diffusion", [20.0, 21.0, 19.0]),  # told the class
        "pixel-lstm": fd("pixel-lstm", "rnn", [33.0, 34.0, 32.0]),
    }
    rec = recommend(results, images)
    assert rec.pick is results["pixel-lstm"]
    assert any(d.startswith("diffusion (ddpm-cond)") and "left out" in d for d in rec.details)
