"""The names of the recurrent cells, as `Literal` types, without importing torch.

    cell: CellType = "gru"          # a config field or argument that takes any cell
    cell = check_cell(spec.model)   # a string from outside (a model name, an option) -> CellType

`diffrnn.rnn.layers.make_rnn` builds each; the bench units, which stay light to import, annotate
their `cell` arguments from here.
"""

from __future__ import annotations

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
