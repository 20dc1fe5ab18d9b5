"""One lever of the masked diffusion LM's recipe at a small CPU budget (issue 15 item 3).

Trains lm-shakespeare's `mdlm-bigru` (or `mdlm`) full recipe with the given fields replaced,
through the unit's own training (`train_mdlm`: held-out selection, budget-end decay) on one
thread, and prints one JSON line: the 1000-step bound on the unit's validation blocks (the
first `--blocks`, `--draws` mask draws), training CPU and wall seconds, steps, the best step.

    PYTHONPATH=src python benchmarks/mdlm_levers.py --budget 90 --lr 4e-3 --d-model 192
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--denoiser", default="bigru", choices=("bigru", "transformer"))
    parser.add_argument("--budget", type=float, default=90.0, help="training CPU seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--schedule", choices=("constant", "budget_cosine"))
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--d-model", type=int)
    parser.add_argument("--layers", type=int)
    parser.add_argument("--mask-draws", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--no-keep-best", action="store_true")
    parser.add_argument("--blocks", type=int, help="validation blocks scored (default: all)")
    parser.add_argument("--draws", type=int, default=2, help="mask draws of the bound")
    parser.add_argument("--log", type=Path, help="append the JSON line to this file")
    parser.add_argument(
        "--samples", type=Path, help="also time sampling at 64, 128, 256 steps; samples here"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from diffrnn.bench.registry import UnitContext
    from diffrnn.bench.units.masked_diffusion import (
        mdlm_bound,
        mdlm_recipes,
        mdlm_validation_blocks,
        train_mdlm,
    )
    from diffrnn.data.text import load_tinyshakespeare

    corpus = load_tinyshakespeare()
    recipe = mdlm_recipes(args.denoiser, corpus.vocab_size)["full"]
    model_fields = {
        "dropout": args.dropout,
        "d_model": args.d_model,
        "n_layers": args.layers,
        "mask_draws": args.mask_draws,
    }
    optim_fields = {
        "lr": args.lr,
        "warmup_steps": args.warmup,
        "schedule": args.schedule,
        "weight_decay": args.weight_decay,
    }
    model = dataclasses.replace(recipe.model, **_given(model_fields))
    optim = dataclasses.replace(recipe.train.optim, **_given(optim_fields))
    train = dataclasses.replace(recipe.train, optim=optim)
    if args.no_keep_best:
        train = dataclasses.replace(train, keep_best=False, validate_at_end=False)
    recipe = dataclasses.replace(
        recipe, model=model, train=train, batch_size=args.batch or recipe.batch_size
    )
    with tempfile.TemporaryDirectory() as tmp:
        ctx = UnitContext(seed=args.seed, budget_s=args.budget, suite="full", out_dir=Path(tmp))
        result, _ = train_mdlm(ctx, recipe, corpus)
    blocks = mdlm_validation_blocks(corpus, "full")[: args.blocks]
    cpu = time.process_time()
    nats, stderr = mdlm_bound(result.model, blocks, args.seed, args.draws)
    line = {
        "overrides": {**_given(model_fields), **_given(optim_fields), "batch": args.batch},
        "keep_best": train.keep_best,
        "budget_cpu_s": args.budget,
        "nats_per_char": round(nats, 4),
        "stderr": round(stderr, 4),
        "blocks": blocks.shape[0],
        "draws": args.draws,
        "train_cpu_s": round(result.cpu_seconds, 1),
        "train_wall_s": round(result.train_seconds, 1),
        "steps": result.steps,
        "best_step": result.best_step,
        "best_held_out": min(result.val_losses) if result.val_losses else None,
        "score_cpu_s": round(time.process_time() - cpu, 1),
        "load": round(os.getloadavg()[0], 1),
    }
    if args.samples:
        line["sampling"] = _sampling(result.model, args.seed, args.samples)
    print(json.dumps(line), flush=True)
    if args.log:
        with args.log.open("a") as log:
            log.write(json.dumps(line) + "\n")


def _sampling(model, seed: int, path: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Chars/s per wall and per CPU second of 8 sequences drawn at once (one warm-up call, then
    one timed), 64, 128 and 256 steps; the samples of each go to `path`."""
    import torch

    speeds, texts = {}, []
    for steps in (64, 128, 256):

        def draw(steps: int = steps) -> torch.Tensor:
            return model.sample(8, steps=steps, generator=torch.Generator().manual_seed(seed))

        draw()
        wall, cpu = time.perf_counter(), time.process_time()
        tokens = draw()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        speeds[steps] = {
            "chars_per_wall_s": round(tokens.numel() / wall),
            "chars_per_cpu_s": round(tokens.numel() / cpu),
        }
        texts.append(f"=== {steps} steps ===\n" + "\n---\n".join(model.decode(tokens)))
    path.write_text("\n\n".join(texts) + "\n")
    return speeds


def _given(fields: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in fields.items() if v is not None}


if __name__ == "__main__":
    main()
