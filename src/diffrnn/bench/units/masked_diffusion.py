"""Masked diffusion language models on Tiny Shakespeare: `mdlm` (transformer) and `mdlm-bigru`.

Both train the MDLM continuous-time NELBO on random blocks of the training text within the unit's
budget and report the T-step bound (T = 1000) on the validation text cut into blocks of the
training length: an upper bound on nats/char, not an exact likelihood like the char-RNN's.
"""

from __future__ import annotations

import math
import statistics
from functools import partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # numpy, torch and the corpus stay off the registry's import path
    from torch import Tensor

    from diffrnn.data.text import CharCorpus
    from diffrnn.diffusion.masked import DenoiserName, MDLMConfig

BOUND_STEPS = 1000
"""T of the discrete-time bound reported (its gap to the continuous-time limit is O(1/T))."""
SAMPLE_STEPS = (16, 64)
"""Extra sampler steps of the chars/s curve (full suite), beside the headline: one per position
(more steps than positions cost no more: the denoiser is only rerun when a token is revealed)."""


VALIDATION = {"quick": (64, 1), "full": (None, 4)}
"""(blocks scored, None: the whole validation text; independent mask draws averaged)."""


def mdlm_recipes(denoiser: DenoiserName, vocab_size: int) -> dict[RecipeSize, Recipe[MDLMConfig]]:
    """The recipe of MDLM with `denoiser` on lm-shakespeare (and lm-user) by suite size."""
    from diffrnn.diffusion.masked import mdlm
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(mdlm("quick", denoiser, vocab_size), budgeted(3e-3, 100), batch_size=32),
        "full": Recipe(mdlm("full", denoiser, vocab_size), budgeted(2e-3, 100), batch_size=32),
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


def mdlm_denoiser_unit(
    ctx: UnitContext, denoiser: DenoiserName, corpus: CharCorpus | None = None
) -> UnitOutput:
    """MDLM with `denoiser` on `corpus` (default Tiny Shakespeare)."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.data.text import load_tinyshakespeare
    from diffrnn.diffusion.masked import MDLM, bound_nats_per_token
    from diffrnn.evaluation.timing import timed_call

    corpus = load_tinyshakespeare() if corpus is None else corpus
    recipe = ctx.preset(mdlm_recipes(denoiser, corpus.vocab_size))
    val_repeats = ctx.preset(VALIDATION)[1]
    L = recipe.model.seq_len
    train = torch.from_numpy(corpus.train_ids)
    n_train = (len(train) - 1) // L
    blocks = train[: n_train * L].view(n_train, L)  # (N, L) non-overlapping
    val_blocks = mdlm_validation_blocks(corpus, ctx.recipe)

    torch.manual_seed(ctx.seed)
    model = MDLM(recipe.model)
    model.codepoints.copy_(torch.tensor([ord(ch) for ch in corpus.vocab]))
    loader = seeded_loader(TensorDataset(blocks), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, recipe.train)
    model = result.model
    draws = [  # independent mask draws: their spread is the estimate's Monte-Carlo error
        bound_nats_per_token(model, val_blocks, steps=BOUND_STEPS, seed=ctx.seed * 1000 + r)
        for r in range(val_repeats)
    ]
    nats = sum(draws) / len(draws)
    stderr = statistics.stdev(draws) / math.sqrt(len(draws)) if len(draws) > 1 else float("nan")

    n_samples = 4 if ctx.recipe == "quick" else 8
    steps_grid = (L,) if ctx.recipe == "quick" else tuple(sorted({*SAMPLE_STEPS, L}))
    chars_per_s: dict[int, float] = {}
    for steps in steps_grid:
        tokens, wall = timed_call(
            lambda steps=steps: model.sample(
                n_samples, steps=steps, generator=torch.Generator().manual_seed(ctx.seed)
            )
        )
        chars_per_s[steps] = tokens.numel() / wall
        if steps == L:
            text = "\n\n---\n\n".join(model.decode(tokens))
            (ctx.out_dir / "samples.txt").write_text(text + "\n")

    notes = [
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
            "train_loss": result.train_losses,
            "chars_per_s_vs_steps": list(chars_per_s.values()),
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
