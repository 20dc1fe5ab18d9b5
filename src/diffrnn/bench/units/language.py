"""Character language models on Tiny Shakespeare: the `ngram` floor and the recurrent cells.

The recurrent units train `diffrnn.rnn.char_lm.CharLM` with stateful truncated BPTT within the
unit's budget and report the exact validation NLL (nats/char, bits/char) with the state carried
through the whole validation text (the full recipe selects its weights on a held-out slice of the
training text, never on that split, and scores the weights it would have returned at
`SNAPSHOT_S` CPU seconds too, for a learning curve from one run); sampling throughput is chars/s
of one sequence drawn step by step (the way text is generated). The n-gram is interpolated
Kneser-Ney, counted on the training split in one pass (its "training" time is the counting).
"""

from __future__ import annotations

import dataclasses
import math
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, snapshot_curves, train_for_unit
from diffrnn.bench.units.masked_diffusion import mdlm_validation_blocks

if TYPE_CHECKING:  # numpy, torch and the corpus stay off the registry's import path
    from diffrnn.data.text import CharCorpus
    from diffrnn.rnn.cells import CellType
    from diffrnn.rnn.char_lm import CharLMConfig
    from diffrnn.training import TrainConfig

NGRAM_ORDER = 5
QUICK_VAL_CHARS = 20_000  # the quick suite scores the first 20k validation characters
PROMPT = "ROMEO:\n"


TBPTT_LENGTH = {"quick": 64, "full": 128}
"""Characters per row of a training batch (the truncated BPTT window)."""
SAMPLE_CHARS = {"quick": 100, "full": 500}
"""Characters drawn after the prompt for the samples and the chars/s."""


HELD_OUT_FRACTION = 0.05
"""Under a recipe with `keep_best`, the first 5% of the training text is held out to select the
weights on (never the validation split, which scores the model). Not the last 5%: Tiny
Shakespeare's 90/10 cut falls inside a play, so the end of the training text is the one most like
the validation split, and holding it out cost 0.10 nats/char there (1.884 against 1.784 on the
first 30,000 validation characters after the same 300 steps)."""
VAL_ROWS = 16
"""Rows of the held-out slice's validation batches (each starts from a zero state)."""
SNAPSHOT_S = (240.0, 600.0, 1200.0)
"""CPU seconds at which a longer run also scores the weights it would have returned then (a
learning curve from one run, whose schedule aims at the run's own budget)."""


WIDE_FROM_S = 600.0
"""From this training budget on (CPU s) the full recipe trains 2 layers of 384 units with
dropout instead of 1 of 256 without: the wider stack is 4.5 times slower a character, so it can
pay only once the budget allows several passes over the text (a choice from its speed, not yet
a measured crossover)."""


def char_lm_recipes(
    cell: CellType, vocab_size: int, budget_s: float = 0.0
) -> dict[RecipeSize, Recipe[CharLMConfig]]:
    """The recipe of a `cell` character LM on lm-shakespeare (and lm-user) by suite size.

    "full" decays the learning rate to the budget's end (cosine from a peak of 1e-2 for one
    layer: at 60 CPU s 1.741 nats/char against 1.860 from 3e-3), with weight decay, and keeps
    the weights best on a held-out slice of the training text; from `WIDE_FROM_S` of
    `budget_s` on, its stack is 2 x 384 units with dropout 0.2.
    """
    from diffrnn.rnn.char_lm import char_lm
    from diffrnn.training import budgeted

    def regularised(lr: float) -> TrainConfig:
        return budgeted(
            lr,
            schedule="budget_cosine",
            weight_decay=0.1,
            val_every_n_steps=100,
            keep_best=True,
            validate_at_end=True,
        )

    one_layer = char_lm("full", cell, vocab_size)
    full = Recipe(one_layer, regularised(1e-2), batch_size=32)
    if budget_s >= WIDE_FROM_S:
        wide = dataclasses.replace(one_layer, hidden_size=384, num_layers=2, dropout=0.2)
        full = Recipe(wide, regularised(3e-3), batch_size=32)
    return {
        "quick": Recipe(char_lm("quick", cell, vocab_size), budgeted(1e-2), batch_size=16),
        "full": full,
    }


def _held_out(train_ids, seq_len: int):  # type: ignore[no-untyped-def]
    """(text to train on, validation loader over the held-out start of the training text)."""
    import torch
    from torch.utils.data import DataLoader

    from diffrnn.data.tbptt import TBPTTChunks

    ids = torch.from_numpy(train_ids)
    cut = int(len(ids) * HELD_OUT_FRACTION)
    held = ids[:cut]
    rows = max(1, min(VAL_ROWS, len(held) // (seq_len + 1)))
    return ids[cut:], DataLoader(TBPTTChunks(held, rows, seq_len), batch_size=None)


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
    recipe = ctx.preset(char_lm_recipes(cell, corpus.vocab_size, ctx.budget_s))
    seq_len = ctx.preset(TBPTT_LENGTH)
    torch.manual_seed(ctx.seed)
    model = CharLM(recipe.model)
    train_ids, held_out = torch.from_numpy(corpus.train_ids), None
    train = recipe.train
    if train.keep_best:
        train_ids, held_out = _held_out(corpus.train_ids, seq_len)
        marks = tuple(mark for mark in SNAPSHOT_S if mark < ctx.budget_s)
        train = dataclasses.replace(train, snapshot_s=marks)
    chunks = TBPTTChunks(train_ids, recipe.batch_size, seq_len)
    result = train_for_unit(model, DataLoader(chunks, batch_size=None), ctx, train, held_out)
    model = result.model
    val, scope = _validation(corpus, ctx.recipe)
    val_tokens = torch.from_numpy(val)
    nats = model.nats_per_char(val_tokens)
    curves: dict[str, Any] = {"train_loss": result.train_losses}
    notes = []
    if held_out is not None:
        curves["val_loss"] = result.val_losses
        notes.append(
            f"weights selected on the held-out first {HELD_OUT_FRACTION:.0%} of the training "
            f"text ({len(corpus.train_ids) - len(train_ids)} chars, trained on the rest), "
            f"validated every {train.val_every_n_steps} steps and after the last: best at step "
            f"{result.best_step} of {result.steps}"
        )
    blocks = mdlm_validation_blocks(corpus, ctx.recipe)
    unigram = torch.bincount(torch.from_numpy(corpus.train_ids), minlength=corpus.vocab_size)
    first = torch.log((unigram + 1.0) / (unigram.sum() + corpus.vocab_size))  # (V,) add-one
    block_nats = model.block_nats_per_char(blocks, first)
    if held_out is not None:
        scorers = {
            "nats_per_char": lambda m: m.nats_per_char(val_tokens),
            "nats_per_char_blocks": lambda m: m.block_nats_per_char(blocks, first),
        }
        finals = {"nats_per_char": nats, "nats_per_char_blocks": block_nats}
        curves.update(snapshot_curves(model, result, scorers, finals, notes))

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
        curves=curves,
        artefacts={"samples": "samples.txt"},
        notes=[
            *notes,
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
        description=f"{_cell} character LM (1 x 256; 2 x 384 from {WIDE_FROM_S:.0f} CPU s in the "
        "full suites), stateful truncated BPTT.",
    )(partial(char_rnn_unit, cell=_cell))
