"""Units of `lm-user`: the language families on the user's own text (`compare --data`).

Each unit loads the user's corpus from `ctx.options` (see `diffrnn.bench.user_text`) and hands it
to the same unit code lm-shakespeare runs, so a model is measured on the user's text exactly as
on Tiny Shakespeare: the Kneser-Ney n-gram, the character RNNs (exact nats/char with the state
carried, and on the MDLM validation blocks) and MDLM (the bound on those blocks).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import TASKS, UnitContext, UnitFn, UnitOutput, register_unit
from diffrnn.bench.units.language import char_rnn_unit, ngram_unit
from diffrnn.bench.units.masked_diffusion import MDLM_UNITS, mdlm_denoiser_unit
from diffrnn.bench.user_text import TASK, prompt_of, user_corpus
from diffrnn.rnn.cells import CellType

if TYPE_CHECKING:
    from diffrnn.diffusion.masked import DenoiserName

RNN_CELLS: tuple[CellType, ...] = ("lstm", "gru", "mingru")
"""The recurrent cells measured on the user's text (the article's LSTM and GRU, and minGRU)."""


@register_unit(TASK, "ngram", family="baseline")
def ngram_user(ctx: UnitContext) -> UnitOutput:
    """Interpolated Kneser-Ney 5-gram counted on the training split of the user's text."""
    corpus = user_corpus(ctx.options)
    return ngram_unit(ctx, corpus, prompt_of(corpus))


def _rnn_user(ctx: UnitContext, cell: CellType) -> UnitOutput:
    corpus = user_corpus(ctx.options)
    return char_rnn_unit(ctx, cell, corpus, prompt_of(corpus))


def _mdlm_user(ctx: UnitContext, denoiser: DenoiserName) -> UnitOutput:
    return mdlm_denoiser_unit(ctx, denoiser, user_corpus(ctx.options))


_UNITS: dict[str, UnitFn] = {  # partials pickle into unit processes
    **{cell: partial(_rnn_user, cell=cell) for cell in RNN_CELLS},
    **{name: partial(_mdlm_user, denoiser=denoiser) for name, (denoiser, _) in MDLM_UNITS.items()},
}
for _model, _unit in _UNITS.items():
    _entry = TASKS["lm-shakespeare"].models[_model]  # the same model, described once
    register_unit(TASK, _model, _entry.family, _entry.description)(_unit)
