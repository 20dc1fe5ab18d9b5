"""Cell names: one Literal for every `cell`, checked once, importable without torch."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from diffrnn.rnn.cells import CELL_TYPES, CellType, MinCell, TorchCell, check_cell


def test_the_cell_types_are_the_fused_cells_then_the_scan_cells() -> None:
    assert CELL_TYPES == ("rnn", "lstm", "gru", "mingru", "minlstm")
    assert typing.get_args(CellType) == typing.get_args(TorchCell) + typing.get_args(MinCell)


def test_check_cell_returns_a_cell_and_names_the_choices_for_anything_else() -> None:
    assert [check_cell(name) for name in CELL_TYPES] == list(CELL_TYPES)
    with pytest.raises(ValueError, match=r"cell must be one of \('rnn', .*got 'GRU'"):
        check_cell("GRU")


def test_the_names_import_without_torch() -> None:
    """The bench units annotate `cell` from here and must stay light to import."""
    code = "import sys, diffrnn.rnn.cells; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
