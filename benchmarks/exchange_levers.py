"""Issue 16 item 1: which recipe lever lets a learned forecaster reach the random walk on
forecast-exchange. Runs the registered units in this process with one model-config field
changed (e.g. `predict="increment"`), one seed, and prints crps / crps_sum / steps / CPU s.

    PYTHONPATH=src python benchmarks/exchange_levers.py --model deepar \
        --variant predict=level --variant predict=increment --budget 30 --seed 0
    PYTHONPATH=src python benchmarks/exchange_levers.py --floors   # random walks, no training

A variant is `field=value[,field=value]` over the unit's recipe: a model-config field
(DeepARConfig, TimeGradConfig, DiffusionForecasterConfig), `train.FIELD` (TrainConfig),
`optim.FIELD` (OptimConfig), `batch_size`, and for TimeGrad `sampler` / `steps` (the suite's
sampling) and `step_scale=train` (the training rows' step std); values are parsed as Python
literals, else kept as strings.

    PYTHONPATH=src python benchmarks/exchange_levers.py --model timegrad --budget 30 \
        --variant predict=increment,white_noise_skip=True,step_scale=train,prediction=sample
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from diffrnn.bench.registry import UnitContext


def parse_variant(text: str) -> dict[str, Any]:
    """'a=1,b=gaussian,c=(1,2)' -> {'a': 1, 'b': 'gaussian', 'c': (1, 2)}; '' or 'default'
    -> {}."""
    if text in ("", "default"):
        return {}
    fields = {}
    for part in re.split(r",(?![^()]*\))", text):  # commas outside parentheses
        key, value = part.split("=", 1)
        try:
            fields[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            fields[key] = value
    return fields


@contextmanager
def patched(module: Any, name: str, wrap: Callable[[Any], Any]) -> Iterator[None]:
    """Replace `module.name` by `wrap(original)` for the duration."""
    original = getattr(module, name)
    setattr(module, name, wrap(original))
    try:
        yield
    finally:
        setattr(module, name, original)


def recipe_with(fields: dict[str, Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a recipe function so its Recipe has `fields` replaced: `train.NAME` in its
    TrainConfig, `optim.NAME` in the TrainConfig's OptimConfig, `batch_size`, any other name in
    the model config; `step_scale=train` is the training rows' step std (`training_step_scale`)."""

    def wrap(build: Callable[..., Any]) -> Callable[..., Any]:
        def recipe(problem: Any, size: Any, **options: Any) -> Any:
            from diffrnn.hybrid.timegrad import training_step_scale

            base = build(problem, size, **options)
            groups: dict[str, dict[str, Any]] = {"train": {}, "optim": {}, "model": {}}
            for key, value in fields.items():
                group, _, name = key.rpartition(".")
                if key == "step_scale" and value == "train":
                    value = training_step_scale(problem.train)
                groups[group or "model"][name] = value
            batch = groups["model"].pop("batch_size", base.batch_size)
            optim = dataclasses.replace(base.train.optim, **groups["optim"])
            train = dataclasses.replace(base.train, optim=optim, **groups["train"])
            model = dataclasses.replace(base.model, **groups["model"])
            return dataclasses.replace(base, model=model, train=train, batch_size=batch)

        return recipe

    return wrap


UNITS = {
    "deepar": ("diffrnn.bench.units.forecasting", "exchange_network"),
    "timegrad": ("diffrnn.bench.units.timegrad", "timegrad_exchange_unit"),
    "diffusion-forecaster": (
        "diffrnn.bench.units.diffusion_forecasting",
        "diffusion_forecaster_exchange",
    ),
}


def extra_scores(
    snapshots: bool, samplings: list[dict[str, Any]], suite: str
) -> Callable[[Any], dict[str, Any]]:
    """An `Evaluation.extras` hook: the CRPS / CRPS-sum of the weights kept at each
    `snapshot_s` mark (the suite's sampling), and of the final weights with each of
    `samplings` (e.g. {"sampler": "ddpm", "steps": None})."""

    def scores(scored: Any) -> dict[str, Any]:
        import copy

        from diffrnn.bench.units.forecasting import NUM_SAMPLES
        from diffrnn.evaluation.forecast import sample_metrics

        def metrics(fitted: Any, sampling: dict[str, Any]) -> str:
            paths = scored.network.paths(
                fitted, scored.history, scored.calendar, NUM_SAMPLES, scored.seed, sampling
            )
            m = sample_metrics(scored.future, paths[:, :, : scored.future.shape[1]])
            return f"crps {m['crps']:.5f} crps_sum {m['crps_sum']:.5f}"

        base = dict(scored.network.sampling.get(suite, {}))
        notes = []
        for snap in scored.fitted.result.snapshots if snapshots else []:
            network = copy.deepcopy(scored.fitted.network)
            network.load_state_dict(snap.state)
            fitted = dataclasses.replace(scored.fitted, network=network)
            notes.append(
                f"snapshot {snap.mark_s:g} CPU s (step {snap.step}): {metrics(fitted, base)}"
            )
        for sampling in samplings:
            notes.append(f"final, {sampling}: {metrics(scored.fitted, {**base, **sampling})}")
        return {"notes": notes}

    return scores


def run(
    model: str,
    fields: dict[str, Any],
    budget: float,
    seed: int,
    suite: str,
    samplings: list[dict[str, Any]] | None = None,
) -> dict:
    """One unit of forecast-exchange with `fields` replaced in its recipe (`recipe_with`);
    `sampler` and `steps` replace the suite's sampling (TimeGrad); `train.snapshot_s` marks and
    `samplings` are scored too (`extra_scores`, TimeGrad)."""
    import importlib

    from diffrnn import forecast_specs
    from diffrnn.bench.units.forecasting import EVALUATIONS

    if model not in UNITS:
        raise ValueError(f"model must be one of {sorted(UNITS)}, got {model!r}")
    fields = dict(fields)
    sampling = {k: fields.pop(k) for k in ("sampler", "steps") if k in fields}
    module, name = UNITS[model]
    unit = getattr(importlib.import_module(module), name)

    def resolve(original: Callable[[str], Any]) -> Callable[[str], Any]:
        def patched_resolve(path: str) -> Any:
            found = original(path)
            return recipe_with(fields)(found) if path.endswith("_recipe") else found

        return patched_resolve

    ctx = UnitContext(seed=seed, budget_s=budget, suite=suite, out_dir=Path(tempfile.mkdtemp()))
    start = time.process_time()
    sampling_table = forecast_specs.TIMEGRAD_SAMPLING
    saved = dict(sampling_table)
    evaluations = EVALUATIONS.get(model)
    saved_evaluations = dict(evaluations or {})
    if sampling:
        for key in sampling_table:
            sampling_table[key] = {**sampling_table[key], **sampling}
    if evaluations is not None and ("train.snapshot_s" in fields or samplings):
        hook = extra_scores("train.snapshot_s" in fields, samplings or [], suite)
        evaluations[suite] = dataclasses.replace(evaluations[suite], extras=hook)
    try:
        with patched(forecast_specs, "_resolve", resolve):
            out = unit(ctx) if model != "deepar" else unit(ctx, name="deepar")
    finally:
        sampling_table.update(saved)
        if evaluations is not None:
            evaluations.update(saved_evaluations)
    return {
        "crps": out.metrics["crps"],
        "crps_sum": out.metrics["crps_sum"],
        "train_cpu_s": out.train_cpu_seconds,
        "steps": out.steps,
        "unit_cpu_s": time.process_time() - start,
        "notes": out.notes[:1] + [n for n in out.notes if n.startswith(("snapshot", "final"))],
    }


def floors(seeds: int = 3) -> None:
    """Random walks on the test windows without training: the steps' scale from all training
    differences vs from the context's, independent vs correlated across the 8 series."""
    import numpy as np

    from diffrnn.bench.units.forecasting import NUM_SAMPLES, exchange_problem
    from diffrnn.evaluation.forecast import sample_metrics

    problem = exchange_problem()
    past, future = problem.test_windows(history=problem.context)  # (W, C, N), (W, H, N)
    steps = np.diff(problem.train, axis=0)  # (T - 1, N)
    moves = np.diff(past, axis=1)  # (W, C - 1, N)
    test_moves = np.diff(np.concatenate([past[:, -1:], future], 1), axis=1)
    print("step std, test windows / training:", np.round(test_moves.std((0, 1)) / steps.std(0), 2))
    scales = {
        "training std": np.broadcast_to(steps.std(0, ddof=1), moves[:, 0].shape),
        "context std": moves.std(1, ddof=1),
        "context rms": (moves**2).mean(1) ** 0.5,
    }
    w, _, n = past.shape
    for name, scale in scales.items():
        for factor in (0.8, 1.0, 1.2):
            scores = []
            for seed in range(seeds):
                eps = np.random.default_rng(seed).standard_normal((w, NUM_SAMPLES, 30, n))
                paths = past[:, None, -1:] + np.cumsum(factor * scale[:, None, None] * eps, 2)
                scores.append(sample_metrics(future, paths))
            crps = np.mean([m["crps"] for m in scores])
            crps_sum = np.mean([m["crps_sum"] for m in scores])
            print(f"random walk, {factor} x {name}: crps {crps:.5f} crps_sum {crps_sum:.5f}")
    chol = np.linalg.cholesky(np.cov(steps.T))
    scores = [
        sample_metrics(
            future,
            past[:, None, -1:]
            + np.cumsum(
                np.random.default_rng(s).standard_normal((w, NUM_SAMPLES, 30, n)) @ chol.T, 2
            ),
        )
        for s in range(seeds)
    ]
    print(
        "random walk, training covariance (correlated series): "
        f"crps {np.mean([m['crps'] for m in scores]):.5f} "
        f"crps_sum {np.mean([m['crps_sum'] for m in scores]):.5f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deepar")
    parser.add_argument("--variant", action="append", default=None)
    parser.add_argument("--budget", type=float, default=30.0, help="training CPU seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--suite", default="reference")
    parser.add_argument("--floors", action="store_true", help="untrained random walks only")
    parser.add_argument(
        "--also-sampler",
        action="append",
        default=[],
        help="score the final TimeGrad weights with SAMPLER:STEPS too (STEPS 'all': every step)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.floors:
        floors()
        return
    for variant in args.variant or ["default"]:
        samplings = [
            {"sampler": name, "steps": None if steps == "all" else int(steps)}
            for name, steps in (text.split(":") for text in args.also_sampler)
        ]
        fields = parse_variant(variant)
        result = run(args.model, fields, args.budget, args.seed, args.suite, samplings)
        print(
            f"{args.model} [{variant}] seed {args.seed}: crps {result['crps']:.5f} "
            f"crps_sum {result['crps_sum']:.5f} steps {result['steps']} "
            f"train {result['train_cpu_s']:.1f} CPU s, "
            f"unit {result['unit_cpu_s']:.1f} CPU s; {result['notes']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
