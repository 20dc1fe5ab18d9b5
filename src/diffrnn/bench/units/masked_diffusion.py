"""Masked diffusion language models on Tiny Shakespeare: `mdlm` (transformer) and `mdlm-bigru`.

Both train the MDLM continuous-time NELBO on random blocks of the training text within the unit's
budget and report the T-step bound (T = 1000) on the validation text cut into blocks of the
training length: an upper bound on nats/char, not an exact likelihood like the char-RNN's. The
full recipe holds out the start of the training text exactly as the char LMs do
(`language.HELD_OUT_FRACTION`), selects its weights there, decays the learning rate to the
budget's end and scores the weights it would have returned at `SNAPSHOT_S` CPU seconds too, so
the learning curves of the two families are measured alike.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from functools import partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import (
    Recipe,
    fitted_output,
    seeded_loader,
    snapshot_curves,
    train_for_unit,
)

if TYPE_CHECKING:  # numpy, torch and the corpus stay off the registry's import path
    from torch import Tensor
    from torch.utils.data import DataLoader

    from diffrnn.data.text import CharCorpus
    from diffrnn.diffusion.masked import MDLM, DenoiserName, MDLMConfig
    from diffrnn.training import FitResult

BOUND_STEPS = 1000
"""T of the discrete-time bound reported (its gap to the continuous-time limit is O(1/T))."""
SAMPLE_STEPS = (16, 64, 256)
"""Extra sampler steps of the chars/s curve (full suite), beside the headline: one per position
(the denoiser is only rerun when a token is revealed, so steps beyond the positions cost less
than their number: some reveal nothing in any sequence)."""
SNAPSHOT_S = (240.0, 300.0, 600.0, 1200.0)
"""CPU seconds at which a longer full-suite run also scores the weights it would have returned
then: the char LMs' marks (`language.SNAPSHOT_S`, for pairs at equal CPU time) and 300 s (issue
15's 5 minutes)."""
BIGRU_PEAK_LR = 8e-3
"""Peak learning rate of the full bi-GRU recipe, decayed to the budget's end: at 120 CPU s (seed
0) 2.114 nats/char against 2.145 from 4e-3 and 2.240 from 2e-3 (the old constant rate: 2.171-2.204
in the reference run); BENCHMARKS.md, issue 15 item 3."""
HELD_OUT_BATCH = 98
"""Blocks per validation batch of the held-out slice (392 blocks of 128 chars: 4 batches)."""


VALIDATION = {"quick": (64, 1), "full": (None, 4)}
"""(blocks scored, None: the whole validation text; independent mask draws averaged)."""


def mdlm_recipes(denoiser: DenoiserName, vocab_size: int) -> dict[RecipeSize, Recipe[MDLMConfig]]:
    """The recipe of MDLM with `denoiser` on lm-shakespeare (and lm-user) by suite size.

    "full" for the bi-GRU: cosine decay of the learning rate to the CPU budget's end from a
    peak of `BIGRU_PEAK_LR`, and the weights best on the held-out start of the training text
    (the char LMs' machinery).
    """
    from diffrnn.diffusion.masked import mdlm
    from diffrnn.training import budgeted

    full_train = budgeted(2e-3, 100)
    if denoiser == "bigru":
        full_train = budgeted(
            BIGRU_PEAK_LR,
            100,
            schedule="budget_cosine",
            val_every_n_steps=100,
            keep_best=True,
            validate_at_end=True,
        )
    return {
        "quick": Recipe(mdlm("quick", denoiser, vocab_size), budgeted(3e-3, 100), batch_size=32),
        "full": Recipe(mdlm("full", denoiser, vocab_size), full_train, batch_size=32),
    }


def mdlm_validation_blocks(corpus: CharCorpus, suite: RecipeSize) -> Tensor:
    """The validation text cut into the blocks every MDLM unit scores: (N_val, L) int64."""
    import torch

    from diffrnn.diffusion.masked import mdlm

    L = mdlm(suite).seq_len
    n_blocks = VALIDATION[suite][0]
    val = torch.from_numpy(corpus.val_ids)
    blocks = val[: (len(val) // L) * L].view(-1, L)
    return blocks if n_blocks is None else blocks[:n_blocks]


def held_out_blocks(train_ids, seq_len: int) -> tuple[Tensor, DataLoader]:  # type: ignore[no-untyped-def]
    """(training blocks, validation loader of the held-out blocks): the char LMs' held-out
    start of the training text (`language.HELD_OUT_FRACTION`), both cut into (N, L) blocks."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from diffrnn.bench.units.language import HELD_OUT_FRACTION

    ids = torch.from_numpy(train_ids)
    cut = int(len(ids) * HELD_OUT_FRACTION)
    held = ids[: (cut // seq_len) * seq_len].view(-1, seq_len)  # (N_held, L)
    return _blocks(ids[cut:], seq_len), DataLoader(TensorDataset(held), HELD_OUT_BATCH)


def _blocks(ids: Tensor, seq_len: int) -> Tensor:
    """Non-overlapping (N, L) blocks of `ids` (the tail dropped)."""
    n = (len(ids) - 1) // seq_len
    return ids[: n * seq_len].view(n, seq_len)


def train_mdlm(
    ctx: UnitContext, recipe: Recipe[MDLMConfig], corpus: CharCorpus
) -> tuple[FitResult, list[str]]:
    """Train the MDLM of `recipe` on `corpus` for the unit (under `keep_best`, on all but the
    held-out start of the training text, with snapshots at `SNAPSHOT_S`): (result, notes)."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.diffusion.masked import MDLM

    L = recipe.model.seq_len
    train, held_out, notes = recipe.train, None, []
    blocks = _blocks(torch.from_numpy(corpus.train_ids), L)
    if train.keep_best:
        blocks, held_out = held_out_blocks(corpus.train_ids, L)
        marks = tuple(mark for mark in SNAPSHOT_S if mark < ctx.budget_s)
        train = dataclasses.replace(train, snapshot_s=marks)
    torch.manual_seed(ctx.seed)
    model = MDLM(recipe.model)
    model.codepoints.copy_(torch.tensor([ord(ch) for ch in corpus.vocab]))
    loader = seeded_loader(TensorDataset(blocks), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, train, held_out)
    if held_out is not None:
        n_held = len(held_out.dataset)
        notes.append(
            f"weights selected on the held-out start of the training text ({n_held} blocks of "
            f"{L} chars, the char LMs' held-out slice; trained on the {blocks.shape[0]} blocks "
            f"after it) by its continuous-time NELBO, validated every {train.val_every_n_steps} "
            f"steps and after the last: best at step {result.best_step} of {result.steps}"
        )
    return result, notes


def mdlm_bound(model: MDLM, blocks: Tensor, seed: int, repeats: int) -> tuple[float, float]:
    """The bound in nats/char on `blocks` (N, L), averaged over `repeats` independent mask
    draws, and its standard error (nan for one draw)."""
    from diffrnn.diffusion.masked import bound_nats_per_token

    draws = [  # independent mask draws: their spread is the estimate's Monte-Carlo error
        bound_nats_per_token(model, blocks, steps=BOUND_STEPS, seed=seed * 1000 + r)
        for r in range(repeats)
    ]
    nats = sum(draws) / len(draws)
    stderr = statistics.stdev(draws) / math.sqrt(len(draws)) if len(draws) > 1 else float("nan")
    return nats, stderr


def sampling_speed(
    model: MDLM, steps_grid: tuple[int, ...], n_samples: int, seed: int
) -> tuple[dict[int, float], dict[int, Tensor]]:
    """Chars/s of drawing `n_samples` sequences at once with each number of sampler steps
    (wall clock, after a warm-up), and the (B, L) tokens drawn at each."""
    import torch

    from diffrnn.evaluation.timing import timed_call

    chars_per_s, drawn = {}, {}
    for steps in steps_grid:
        tokens, wall = timed_call(
            lambda steps=steps: model.sample(
                n_samples, steps=steps, generator=torch.Generator().manual_seed(seed)
            )
        )
        chars_per_s[steps], drawn[steps] = tokens.numel() / wall, tokens
    return chars_per_s, drawn


def mdlm_denoiser_unit(
    ctx: UnitContext, denoiser: DenoiserName, corpus: CharCorpus | None = None
) -> UnitOutput:
    """MDLM with `denoiser` on `corpus` (default Tiny Shakespeare)."""

    from diffrnn.data.text import load_tinyshakespeare

    corpus = load_tinyshakespeare() if corpus is None else corpus
    recipe = ctx.preset(mdlm_recipes(denoiser, corpus.vocab_size))
    val_repeats = ctx.preset(VALIDATION)[1]
    L = recipe.model.seq_len
    val_blocks = mdlm_validation_blocks(corpus, ctx.recipe)
    result, notes = train_mdlm(ctx, recipe, corpus)
    model = result.model
    nats, stderr = mdlm_bound(model, val_blocks, ctx.seed, val_repeats)
    curves = {"train_loss": result.train_losses}
    if result.val_losses:
        curves["val_loss"] = result.val_losses
        curves.update(
            snapshot_curves(
                model,
                result,
                {"nats_per_char": lambda m: mdlm_bound(m, val_blocks, ctx.seed, val_repeats)[0]},
                {"nats_per_char": nats},
                notes,
            )
        )

    n_samples = 4 if ctx.recipe == "quick" else 8
    steps_grid = (L,) if ctx.recipe == "quick" else tuple(sorted({*SAMPLE_STEPS, L}))
    chars_per_s, drawn = sampling_speed(model, steps_grid, n_samples, ctx.seed)
    text = "\n\n---\n\n".join(model.decode(drawn[L]))
    (ctx.out_dir / "samples.txt").write_text(text + "\n")

    notes += [
        f"nats_per_char and bits_per_char are the {BOUND_STEPS}-step MDLM bound (an upper bound "
        "on the NLL, not an exact likelihood) on validation blocks of "
        f"{L} chars scored independently ({val_blocks.shape[0]} blocks x {val_repeats} "
        f"mask draws; standard error of the estimate {stderr:.4f}).",
        "sampling chars/s at "
        + ", ".join(f"{s} steps: {c:.0f}" for s, c in chars_per_s.items())
        + f" ({n_samples} sequences of {L} chars at once, {ctx.threads} thread(s)).",
    ]
    return fitted_output(
        result,
        {
            "nats_per_char": nats,
            "bits_per_char": nats / math.log(2.0),
            "nats_per_char_stderr": stderr,
        },
        infer_seconds_per_sample=L / chars_per_s[L],
        throughput=chars_per_s[L],
        throughput_unit="chars/s",
        sampler_steps=L,
        curves={
            **curves,
            "chars_per_s_vs_steps": {"x": list(chars_per_s), "y": list(chars_per_s.values())},
        },
        artefacts={"samples": "samples.txt"},
        notes=notes,
    )


MDLM_UNITS: dict[str, tuple[DenoiserName, str]] = {
    "mdlm": (
        "transformer",
        "MDLM with a bidirectional transformer denoiser; bound in nats/char (upper bound).",
    ),
    "mdlm-bigru": (
        "bigru",
        "MDLM with a bidirectional GRU denoiser (an RNN inside a diffusion model).",
    ),
}
"""lm-shakespeare's MDLM models: name -> (denoiser, description); lm-user runs the same."""
for _name, (_denoiser, _description) in MDLM_UNITS.items():  # partials pickle into unit processes
    register_unit("lm-shakespeare", _name, "diffusion", _description)(
        partial(mdlm_denoiser_unit, denoiser=_denoiser)
    )
