"""The names of the recurrent cells, as `Literal` types, and the recurrent stack's config, without
importing torch.

    cell: CellType = "gru"          # a config field or argument that takes any cell
    cell = check_cell(spec.model)   # a string from outside (a model name, an option) -> CellType

    @dataclass(frozen=True)
    class CharLMConfig(RecurrentConfig):   # cell, hidden_size, num_layers stated once, here
        vocab_size: int = 65

`diffrnn.rnn.layers.make_rnn` builds each cell (`recurrent_stack` from a `RecurrentConfig`); the
bench units, which stay light to import, annotate their `cell` arguments from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

TorchCell = Literal["rnn", "lstm", "gru"]
"""The cells PyTorch runs as fused modules (`layers.TorchRNN`)."""
MinCell = Literal["mingru", "minlstm"]
"""Feng et al.'s parallel-scan cells (`layers.MinRNN`)."""
CellType = Literal[TorchCell, MinCell]
"""Every cell type: the one annotation for a `cell` argument or config field."""
CELL_TYPES: tuple[CellType, ...] = get_args(CellType)


def check_cell(cell: str) -> CellType:
    """Return `cell` if it names a cell type, else raise a ValueError listing the choices."""
    if cell not in CELL_TYPES:
        raise ValueError(f"cell must be one of {CELL_TYPES}, got {cell!r}")
    return cell


@dataclass(frozen=True, kw_only=True)
class RecurrentConfig:
    """The recurrent stack of a model, which every recurrent model's config inherits: keyword-only
    fields after the model's own, checked here (a subclass's `__post_init__` calls this one).
    The defaults are a small stack; a model's sizes are its presets'.

    Args:
        cell: recurrent cell, one of `CELL_TYPES` ("rnn", "lstm", "gru", "mingru", "minlstm").
        hidden_size: units H per layer (per direction in a bidirectional stack), >= 1.
        num_layers: stacked layers, >= 1.
    """

    cell: CellType = "gru"
    hidden_size: int = 64
    num_layers: int = 1

    def __post_init__(self) -> None:
        check_cell(self.cell)
        for name in ("hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
