"""Masked diffusion language models on Tiny Shakespeare: `mdlm` (transformer) and `mdlm-bigru`.

Both train the MDLM continuous-time NELBO on random blocks of the training text within the unit's
budget and report the T-step bound (T = 1000) on the validation text cut into blocks of the
training length: an upper bound on nats/char, not an exact likelihood like the char-RNN's.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # numpy and the corpus stay off the registry's import path
    from diffrnn.data.text import CharCorpus

BOUND_STEPS = 1000
"""T of the discrete-time bound reported (its gap to the continuous-time limit is O(1/T))."""
SAMPLE_STEPS = (16, 64)
"""Extra sampler steps of the chars/s curve (full suite), beside the headline: one per position
(more steps than positions cost no more: the denoiser is only rerun when a token is revealed)."""


@dataclass(frozen=True)
class MDLMRecipe:
    """A model size and its optimiser settings for one suite."""

    d_model: int
    n_layers: int
    seq_len: int
    batch_size: int
    lr: float
    val_blocks: int | None  # None: the whole validation text
    val_repeats: int


def mdlm_shakespeare(denoiser: str, suite: str) -> MDLMRecipe:
    """The preset of `mdlm` / `mdlm-bigru` on lm-shakespeare for the quick or full suite."""
    if suite == "quick":
        return MDLMRecipe(64, 1, 64, 32, 3e-3, val_blocks=64, val_repeats=1)
    # sized for minutes of one CPU thread: the bi-GRU measured 2.07 nats/char with 128
    # units per direction against 2.12 with 256 after 8 minutes
    if denoiser == "bigru":
        return MDLMRecipe(128, 2, 128, 32, 2e-3, val_blocks=None, val_repeats=4)
    return MDLMRecipe(128, 3, 128, 32, 2e-3, val_blocks=None, val_repeats=4)


def mdlm_validation_blocks(corpus, suite: str):  # type: ignore[no-untyped-def]
    """The validation text cut into the blocks every MDLM unit scores: (N_val, L) int64."""
    import torch

    recipe = mdlm_shakespeare("bigru", suite)
    L = recipe.seq_len
    val = torch.from_numpy(corpus.val_ids)
    blocks = val[: (len(val) // L) * L].view(-1, L)
    return blocks if recipe.val_blocks is None else blocks[: recipe.val_blocks]


def _run(ctx: UnitContext, denoiser: str, corpus: CharCorpus | None = None) -> UnitOutput:
    """MDLM with `denoiser` on `corpus` (default Tiny Shakespeare)."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.data.text import load_tinyshakespeare
    from diffrnn.diffusion.masked import MDLM, MDLMConfig, bound_nats_per_token
    from diffrnn.evaluation.timing import timed_call
    from diffrnn.training import OptimConfig, TrainConfig

    recipe = mdlm_shakespeare(denoiser, ctx.recipe)
    corpus = load_tinyshakespeare() if corpus is None else corpus
    L = recipe.seq_len
    train = torch.from_numpy(corpus.train_ids)
    n_train = (len(train) - 1) // L
    blocks = train[: n_train * L].view(n_train, L)  # (N, L) non-overlapping
    val_blocks = mdlm_validation_blocks(corpus, ctx.recipe)

    torch.manual_seed(ctx.seed)
    config = MDLMConfig(
        vocab_size=corpus.vocab_size,
        seq_len=L,
        denoiser=denoiser,  # type: ignore[arg-type]
        d_model=recipe.d_model,
        n_layers=recipe.n_layers,
        n_heads=4,
    )
    model = MDLM(config)
    model.codepoints.copy_(torch.tensor([ord(ch) for ch in corpus.vocab]))
    loader = seeded_loader(TensorDataset(blocks), recipe.batch_size, ctx.seed)
    train_config = TrainConfig(max_steps=-1, optim=OptimConfig(lr=recipe.lr, warmup_steps=100))
    result = train_for_unit(model, loader, ctx, train_config)
    model = result.model
    draws = [  # independent mask draws: their spread is the estimate's Monte-Carlo error
        bound_nats_per_token(model, val_blocks, steps=BOUND_STEPS, seed=ctx.seed * 1000 + r)
        for r in range(recipe.val_repeats)
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
        f"{L} chars scored independently ({val_blocks.shape[0]} blocks x {recipe.val_repeats} "
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


@register_unit("lm-shakespeare", "mdlm", family="diffusion")
def mdlm_unit(ctx: UnitContext) -> UnitOutput:
    """MDLM with a bidirectional transformer denoiser; bound in nats/char (upper bound)."""
    return _run(ctx, "transformer")


@register_unit("lm-shakespeare", "mdlm-bigru", family="diffusion")
def mdlm_bigru_unit(ctx: UnitContext) -> UnitOutput:
    """MDLM with a bidirectional GRU denoiser (an RNN inside a diffusion model)."""
    return _run(ctx, "bigru")
