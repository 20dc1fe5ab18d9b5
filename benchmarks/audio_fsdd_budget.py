"""Spoken-digit synthesis on FSDD at CPU-second budgets: the judge's accuracy on one generator's
digits after training for `--budget` CPU seconds (the reference suite's protocol, cheaper).

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/audio_fsdd_budget.py \
        --model audio-diffusion --budget 90 --seed 0 --guidance 1,2,4 --out runs/audio-budget.jsonl

The generator is the reference suite's (the "full" preset and recipe of
`diffrnn.bench.units.audio`, trained from scratch, the budget on the process CPU clock, one
torch thread); the judge is the reference suite's recogniser (30 CPU s of training, kept in
`--cache` so later runs reuse it). After training, `--per-digit` clips of every digit are
generated for each sampler setting (diffusion: DPM-Solver++ `--steps` x guidance `--guidance`),
voiced by Griffin-Lim and judged: accuracy, FD against the real test clips, inception-style
score, and the spread of the samples in the [-1, 1] scale (real training spectrograms: 0.41).
One JSON line per run is appended to `--out`, with the training and evaluation CPU seconds, the
wall seconds and the load average. Ablations of the diffusion recipe: `--prediction`,
`--no-standardise` (the [-1, 1] scale, thresholded, as before the standardisation),
`--ema-decay` (an EMA of the weights, evaluated in their place).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("audio-diffusion", "audio-gru"), required=True)
    parser.add_argument("--budget", type=float, required=True, help="training CPU seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-digit", type=int, default=10)
    parser.add_argument("--steps", default="10", help="DPM-Solver++ steps, comma-separated")
    parser.add_argument("--guidance", default="2", help="guidance scales, comma-separated")
    parser.add_argument("--prediction", choices=("epsilon", "v_prediction"), default=None)
    parser.add_argument("--no-standardise", action="store_true")
    parser.add_argument("--ema-decay", type=float, default=None, help="EMA of the weights")
    parser.add_argument("--cache", type=Path, default=Path("runs/audio-budget"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from diffrnn.bench.units.audio import audio_bench, generator_training
    from diffrnn.diffusion.audio import SpectrogramDiffusion
    from diffrnn.evaluation.audio import generated_audio, score_audio
    from diffrnn.training import count_parameters, fit

    wall0, cpu0 = time.perf_counter(), time.process_time()
    bench = audio_bench("reference", args.seed, args.cache)
    model, loader, recipe = generator_training(args.model, bench.train, "reference", args.seed)
    diffusion = isinstance(model, SpectrogramDiffusion)
    if diffusion and (args.prediction or args.no_standardise):
        process = model.config.diffusion.process
        if args.prediction:
            process = dataclasses.replace(process, prediction=args.prediction)
        if args.no_standardise:
            process = dataclasses.replace(process, data_range=1.0)
        config = dataclasses.replace(
            model.config, diffusion=dataclasses.replace(model.config.diffusion, process=process)
        )
        torch.manual_seed(args.seed)
        ablated = SpectrogramDiffusion(config)
        ablated.log_mel_range.copy_(model.log_mel_range)
        if not args.no_standardise:
            ablated.set_standardisation(torch.from_numpy(bench.train.spectrograms))
        model = ablated
    cpu_setup = time.process_time() - cpu0
    recipe = dataclasses.replace(
        recipe, budget_s=args.budget, budget_clock="cpu", ema_decay=args.ema_decay
    )
    cpu1 = time.process_time()
    result = fit(model, loader, config=recipe)
    cpu_train = time.process_time() - cpu1
    judged = result.model.eval()
    settings = (
        [
            {"steps": int(s), "guidance_scale": w}
            for s in _floats(args.steps)
            for w in _floats(args.guidance)
        ]
        if diffusion
        else [{}]
    )
    digits = np.repeat(np.arange(10), args.per_digit)
    cpu2 = time.process_time()
    rows = []
    for kwargs in settings:
        waves, log_mels, _, _ = generated_audio(judged, digits, args.seed, **kwargs)
        scores = score_audio(bench.recogniser, list(waves), digits, bench.reference_features)
        spread = float(bench.train.scaling.normalise(log_mels).std())
        rows.append({**kwargs, **scores.metrics(), "spread": round(spread, 3)})
    record = {
        "model": args.model,
        "budget_cpu_s": args.budget,
        "seed": args.seed,
        "prediction": args.prediction,
        "standardised": diffusion and not args.no_standardise,
        "ema_decay": args.ema_decay,
        "params": count_parameters(judged),
        "train_steps": result.steps,
        "train_cpu_s": round(cpu_train, 1),
        "eval_cpu_s": round(time.process_time() - cpu2, 1),
        "setup_cpu_s": round(cpu_setup, 1),
        "wall_s": round(time.perf_counter() - wall0, 1),
        "load_avg_1min": os.getloadavg()[0],
        "judge_accuracy_real": bench.recogniser_accuracy,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
