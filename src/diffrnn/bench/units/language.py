"""Character language models on Tiny Shakespeare: the `ngram` floor and the recurrent cells.

The recurrent units train `diffrnn.rnn.char_lm.CharLM` with stateful truncated BPTT within the
unit's budget and report the exact validation NLL (nats/char, bits/char) with the state carried
through the whole validation text; sampling throughput is chars/s of one sequence drawn step by
step (the way text is generated). The n-gram is interpolated Kneser-Ney, counted on the training
split in one pass (its "training" time is the counting).
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, train_for_unit
from diffrnn.bench.units.masked_diffusion import mdlm_validation_blocks

if TYPE_CHECKING:  # numpy, torch and the corpus stay off the registry's import path
    from diffrnn.data.text import CharCorpus
    from diffrnn.rnn.cells import CellType
    from diffrnn.rnn.char_lm import CharLMConfig

NGRAM_ORDER = 5
QUICK_VAL_CHARS = 20_000  # the quick suite scores the first 20k validation characters
PROMPT = "ROMEO:\n"


TBPTT_LENGTH = {"quick": 64, "full": 128}
"""Characters per row of a training batch (the truncated BPTT window)."""
SAMPLE_CHARS = {"quick": 100, "full": 500}
"""Characters drawn after the prompt for the samples and the chars/s."""


def char_lm_recipes(cell: CellType, vocab_size: int) -> dict[RecipeSize, Recipe[CharLMConfig]]:
    """The recipe of a `cell` character LM on lm-shakespeare (and lm-user) by suite size."""
    from diffrnn.rnn.char_lm import char_lm
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(char_lm("quick", cell, vocab_size), budgeted(1e-2), batch_size=16),
        "full": Recipe(char_lm("full", cell, vocab_size), budgeted(3e-3), batch_size=32),
    }


def _validation(corpus, suite: str):  # type: ignore[no-untyped-def]
    ids = corpus.val_ids if suite == "full" else corpus.val_ids[:QUICK_VAL_CHARS]
    return ids, ("whole validation split" if suite == "full" else f"first {len(ids)} chars")


@register_unit("lm-shakespeare", "ngram", family="baseline")
def ngram_unit(
    ctx: UnitContext, corpus: CharCorpus | None = None, prompt: str = PROMPT
) -> UnitOutput:
    """Interpolated Kneser-Ney 5-gram counted on the training split (of `corpus`: default
    Tiny Shakespeare), sampled after `prompt`."""
    import numpy as np

    from diffrnn.baselines.ngram import KneserNeyLM, NGramConfig
    from diffrnn.data.text import load_tinyshakespeare
    from diffrnn.evaluation.timing import timed_call

    corpus = load_tinyshakespeare() if corpus is None else corpus
    start = time.perf_counter()
    cpu = time.process_time()
    model = KneserNeyLM(NGramConfig(NGRAM_ORDER, corpus.vocab_size)).fit(corpus.train_ids)
    train_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    val, scope = _validation(corpus, ctx.recipe)
    nats = model.nats_per_token(val)
    n_chars = ctx.preset(SAMPLE_CHARS)
    drawn, wall = timed_call(
        lambda: model.sample(corpus.encode(prompt), n_chars, np.random.default_rng(ctx.seed))
    )
    chars_per_s = n_chars / wall
    (ctx.out_dir / "samples.txt").write_text(prompt + corpus.decode(drawn) + "\n")
    return UnitOutput(
        metrics={"nats_per_char": nats, "bits_per_char": nats / math.log(2)},
        train_seconds=train_s,
        train_cpu_seconds=cpu_s,
        infer_seconds_per_sample=1.0 / chars_per_s,
        throughput=chars_per_s,
        throughput_unit="chars/s",
        artefacts={"samples": "samples.txt"},
        notes=[f"interpolated Kneser-Ney, order {NGRAM_ORDER}, scored on the {scope}"],
    )


def char_rnn_unit(
    ctx: UnitContext, cell: CellType, corpus: CharCorpus | None = None, prompt: str = PROMPT
) -> UnitOutput:
    """A `cell` character LM on `corpus` (default Tiny Shakespeare), sampled after `prompt`."""
    import torch
    from torch.utils.data import DataLoader

    from diffrnn.data.tbptt import TBPTTChunks
    from diffrnn.data.text import load_tinyshakespeare
    from diffrnn.evaluation.timing import timed_call
    from diffrnn.rnn.char_lm import CharLM

    corpus = load_tinyshakespeare() if corpus is None else corpus
    recipe = ctx.preset(char_lm_recipes(cell, corpus.vocab_size))
    seq_len = ctx.preset(TBPTT_LENGTH)
    torch.manual_seed(ctx.seed)
    model = CharLM(recipe.model)
    chunks = TBPTTChunks(torch.from_numpy(corpus.train_ids), recipe.batch_size, seq_len)
    result = train_for_unit(model, DataLoader(chunks, batch_size=None), ctx, recipe.train)
    model = result.model
    val, scope = _validation(corpus, ctx.recipe)
    nats = model.nats_per_char(torch.from_numpy(val))
    blocks = mdlm_validation_blocks(corpus, ctx.recipe)
    unigram = torch.bincount(torch.from_numpy(corpus.train_ids), minlength=corpus.vocab_size)
    first = torch.log((unigram + 1.0) / (unigram.sum() + corpus.vocab_size))  # (V,) add-one
    block_nats = model.block_nats_per_char(blocks, first)

    prompt_ids = torch.from_numpy(corpus.encode(prompt))[None]  # (1, P)
    n_chars = ctx.preset(SAMPLE_CHARS)
    drawn, wall = timed_call(
        lambda: model.sample(
            1,
            length=n_chars,
            prompt=prompt_ids,
            temperature=0.8,
            generator=torch.Generator().manual_seed(ctx.seed),
        )
    )
    chars_per_s = n_chars / wall
    (ctx.out_dir / "samples.txt").write_text(prompt + corpus.decode(drawn[0].numpy()) + "\n")
    tokens = result.steps * recipe.batch_size * seq_len
    return fitted_output(
        result,
        {
            "nats_per_char": nats,
            "bits_per_char": nats / math.log(2),
            "nats_per_char_blocks": block_nats,
        },
        infer_seconds_per_sample=1.0 / chars_per_s,
        throughput=chars_per_s,
        throughput_unit="chars/s",
        curves={"train_loss": result.train_losses},
        artefacts={"samples": "samples.txt"},
        notes=[
            f"exact NLL with the state carried, on the {scope}",
            f"nats_per_char_blocks: exact NLL of the MDLM units' validation blocks "
            f"({blocks.shape[0]} x {blocks.shape[1]} chars), state reset at each block, its first "
            "char from the training unigram: the masked diffusion LMs' protocol, no context "
            "across block edges",
            f"{result.steps} TBPTT steps of {recipe.batch_size} x {seq_len} chars "
            f"({tokens / max(result.train_seconds, 1e-9):.0f} train chars/s)",
            "sampling: one sequence at temperature 0.8, step by step",
        ],
    )


for _cell in ("lstm", "gru", "rnn", "mingru", "minlstm"):  # partials pickle into unit processes
    register_unit(
        "lm-shakespeare",
        _cell,
        family="rnn",
        description=f"One-layer {_cell} character LM, stateful truncated BPTT.",
    )(partial(char_rnn_unit, cell=_cell))
