"""Spoken-digit synthesis on FSDD: the recogniser's accuracy on generated digits against training
time, for `audio-diffusion` or `audio-gru` (full-suite presets), beside the real-clip rows.

    PYTHONPATH=src python benchmarks/audio_fsdd.py --model audio-diffusion --chunks 3 \
        --chunk-s 300 --cache runs/audio-bench --out runs/audio-bench/diffusion.json

The judge (the full recogniser, `judge_recipes()["full"]`: 300 s of training) is trained
once and kept in `--cache`, so a second process (the other model) reuses it. Training runs in
chunks of `--chunk-s` wall seconds, each a `fit` call continuing the same weights (the AdamW
moments restart at each chunk; an EMA, with --ema-decay, restarts from the current weights);
after each chunk `--eval-per-digit` clips per digit are generated, voiced by Griffin-Lim and
judged. The last chunk is followed by the final
evaluation on 30 clips per digit over the sampler settings. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _real_row(bench: Any, report: dict) -> None:
    """The 300 real test clips through the log-mel + Griffin-Lim round trip, judged."""
    from diffrnn.data.spectrograms import log_mel_to_audio
    from diffrnn.evaluation.audio import score_audio

    log_mels = bench.test.scaling.denormalise(bench.test.spectrograms)
    t0 = time.perf_counter()
    waves = log_mel_to_audio(log_mels)
    vocoder_s = time.perf_counter() - t0
    real = score_audio(bench.recogniser, list(waves), bench.test.digits, bench.reference_features)
    audio_s = waves.shape[0] * waves.shape[1] / 8000
    report["real_griffinlim"] = {**real.metrics(), "vocoder_s_per_audio_s": vocoder_s / audio_s}
    print(json.dumps(report["real_griffinlim"]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("audio-diffusion", "audio-gru"), required=True)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--chunk-s", type=float, default=300.0)
    parser.add_argument("--eval-per-digit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ema-decay", type=float, default=None, help="EMA of the weights")
    parser.add_argument("--no-real", action="store_true", help="skip the real-clip row")
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from diffrnn.bench.units.audio import audio_bench, generator_training
    from diffrnn.evaluation.audio import generated_audio, score_audio
    from diffrnn.training import OptimConfig, TrainConfig, count_parameters, fit

    args.cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    bench = audio_bench("full", args.seed, args.cache)
    report: dict = {
        "model": args.model,
        "setup_s": time.perf_counter() - start,
        "recogniser_accuracy_real_test": bench.recogniser_accuracy,
        "floor_fd": bench.floor_fd,
        "curve": [],
    }
    print(json.dumps(report), flush=True)

    # the real-clip row through the same pipeline (300 test clips)
    if not args.no_real:
        _real_row(bench, report)

    model, loader, _ = generator_training(args.model, bench.train, "full", args.seed)
    report["params"] = count_parameters(model)
    diffusion = args.model == "audio-diffusion"
    trained_s, steps = 0.0, 0
    digits = np.repeat(np.arange(10), args.eval_per_digit)
    for chunk in range(args.chunks):
        result = fit(
            model,
            loader,
            config=TrainConfig(
                max_steps=-1,
                max_time_s=args.chunk_s,
                seed=args.seed + chunk,
                ema_decay=args.ema_decay,
                optim=OptimConfig(
                    lr=2e-3 if diffusion else 1e-3, warmup_steps=100 if chunk == 0 else 0
                ),
            ),
        )
        model.train()
        trained_s += result.train_seconds
        steps += result.steps
        judged = result.model
        waves, _, sample_s, _ = generated_audio(judged, digits, args.seed)
        scores = score_audio(bench.recogniser, list(waves), digits, bench.reference_features)
        point = {
            "train_s": trained_s,
            "steps": steps,
            "loss": float(np.mean(result.train_losses[-50:])),
            **scores.metrics(),
        }
        report["curve"].append(point)
        print(json.dumps(point), flush=True)

    settings = (
        [{"steps": s, "guidance_scale": 2.0} for s in (10, 25, 50)]
        + [{"steps": 25, "guidance_scale": w} for w in (1.0, 4.0)]
        if diffusion
        else [{"temperature": t} for t in (1.0, 0.7, 0.5)]
    )
    digits = np.repeat(np.arange(10), 30)
    report["final"] = []
    for kwargs in settings:
        waves, _, sample_s, vocoder_s = generated_audio(judged, digits, args.seed, **kwargs)
        scores = score_audio(bench.recogniser, list(waves), digits, bench.reference_features)
        audio_s = len(digits) * waves.shape[1] / 8000
        row = {
            **kwargs,
            **scores.metrics(),
            "sample_s_per_audio_s": sample_s / audio_s,
            "vocoder_s_per_audio_s": vocoder_s / audio_s,
        }
        report["final"].append(row)
        print(json.dumps(row), flush=True)
    judged.save_pretrained(args.cache / f"{args.model}-model")
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
