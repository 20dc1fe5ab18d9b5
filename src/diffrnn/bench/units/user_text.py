"""Units of `lm-user`: the language families on the user's own text (`compare --data`).

Each unit loads the user's corpus from `ctx.options` (see `diffrnn.bench.user_text`) and hands it
to the same unit code lm-shakespeare runs, so a model is measured on the user's text exactly as
on Tiny Shakespeare: the Kneser-Ney n-gram, the character RNNs (exact nats/char with the state
carried, and on the MDLM validation blocks) and MDLM (the bound on those blocks).
"""

from __future__ import annotations

from functools import partial

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.units.language import char_rnn_unit, ngram_unit
from diffrnn.bench.units.masked_diffusion import mdlm_denoiser_unit
from diffrnn.bench.user_text import TASK, prompt_of, user_corpus
from diffrnn.rnn.cells import CellType

RNN_CELLS: tuple[CellType, ...] = ("lstm", "gru", "mingru")
"""The recurrent cells measured on the user's text (the article's LSTM and GRU, and minGRU)."""
MDLM_DENOISERS = {"mdlm": "transformer", "mdlm-bigru": "bigru"}


@register_unit(TASK, "ngram", family="baseline")
def ngram_user(ctx: UnitContext) -> UnitOutput:
    """Interpolated Kneser-Ney 5-gram counted on the training split of the user's text."""
    corpus = user_corpus(ctx.options)
    return ngram_unit(ctx, corpus, prompt_of(corpus))


def _rnn_user(ctx: UnitContext, cell: CellType) -> UnitOutput:
    corpus = user_corpus(ctx.options)
    return char_rnn_unit(ctx, cell, corpus, prompt_of(corpus))


def _mdlm_user(ctx: UnitContext, denoiser: str) -> UnitOutput:
    return mdlm_denoiser_unit(ctx, denoiser, user_corpus(ctx.options))


for _cell in RNN_CELLS:  # partials pickle into unit processes
    register_unit(
        TASK,
        _cell,
        family="rnn",
        description=f"One-layer {_cell} character LM, stateful truncated BPTT.",
    )(partial(_rnn_user, cell=_cell))
for _name, _denoiser in MDLM_DENOISERS.items():
    register_unit(
        TASK,
        _name,
        family="diffusion",
        description=f"MDLM with a bidirectional {_denoiser} denoiser; bound in nats/char.",
    )(partial(_mdlm_user, denoiser=_denoiser))
