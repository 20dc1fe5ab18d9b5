"""Cell names: one Literal for every `cell`, checked once, importable without torch; the
recurrent stack's config, inherited by every recurrent model's."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing

import pytest

from diffrnn.rnn.cells import (
    CELL_TYPES,
    CellType,
    MinCell,
    RecurrentConfig,
    TorchCell,
    check_cell,
)

STACK_FIELDS = ("cell", "hidden_size", "num_layers")


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


def _recurrent_configs() -> list[type]:
    from diffrnn.rnn.ar_generator import ARGeneratorConfig
    from diffrnn.rnn.char_lm import CharLMConfig
    from diffrnn.rnn.denoiser import RNNDenoiserConfig
    from diffrnn.rnn.long_range import LongRangeConfig
    from diffrnn.rnn.pixel_ar import PixelARConfig
    from diffrnn.rnn.point_forecaster import PointForecasterConfig
    from diffrnn.rnn.segrnn import SegRNNConfig
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRUConfig
    from diffrnn.rnn.speech import SpeechConfig

    return [
        ARGeneratorConfig,
        CharLMConfig,
        RNNDenoiserConfig,
        LongRangeConfig,
        PixelARConfig,
        PointForecasterConfig,
        SegRNNConfig,
        SpectrogramGRUConfig,
        SpeechConfig,
    ]


@pytest.mark.parametrize("config_class", _recurrent_configs(), ids=lambda c: c.__name__)
def test_every_recurrent_config_takes_and_checks_the_stack_from_recurrent_config(
    config_class: type,
) -> None:
    own = [f for f in dataclasses.fields(config_class) if f.name not in STACK_FIELDS]
    assert issubclass(config_class, RecurrentConfig)
    assert not any(f.kw_only for f in own), "a model's own fields stay positional"
    assert [f.name for f in dataclasses.fields(RecurrentConfig)] == list(STACK_FIELDS)
    config = config_class(cell="minlstm", hidden_size=6, num_layers=3)
    assert (config.cell, config.hidden_size, config.num_layers) == ("minlstm", 6, 3)
    with pytest.raises(ValueError, match="cell must be one of"):
        config_class(cell="GRU")
    with pytest.raises(ValueError, match="hidden_size must be >= 1, got 0"):
        config_class(hidden_size=0)
    with pytest.raises(ValueError, match="num_layers must be >= 1, got 0"):
        config_class(num_layers=0)


def test_a_config_json_saved_before_the_shared_stack_loads_to_the_same_config() -> None:
    """config.json is read by keyword: the fields of a model saved when each config listed its
    own cell, hidden_size and num_layers (in its own order) restore the same config."""
    from diffrnn.modeling import config_from_dict
    from diffrnn.rnn.char_lm import CharLMConfig, char_lm
    from diffrnn.rnn.segrnn import SegRNNConfig, segrnn_etth1

    saved = {
        "vocab_size": 65,
        "cell": "lstm",
        "embed_dim": 64,
        "hidden_size": 256,
        "num_layers": 1,
        "dropout": 0.0,
    }
    assert config_from_dict(CharLMConfig, saved) == char_lm("full", cell="lstm")
    saved_segrnn = {  # SegRNN had no num_layers: one layer, the default
        "input_length": 720,
        "horizon": 96,
        "num_series": 7,
        "segment_length": 48,
        "cell": "gru",
        "hidden_size": 512,
        "dropout": 0.5,
        "loss": "mae",
    }
    assert config_from_dict(SegRNNConfig, saved_segrnn) == segrnn_etth1()
