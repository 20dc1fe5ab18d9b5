"""Hostile model folders: `diffrnn.load` returns a finite model or raises ConfigError / DataError.

Property-based (hypothesis) over what a user can hand `diffrnn.load` / `sample --from`: config.json
with fields of random JSON types and sizes (huge, negative, NaN, nested, unknown, missing), random
class names, format versions, nesting depths and bytes; model.safetensors with tensors of other
dtypes and shapes, NaN/inf values, tensors dropped or added, truncated or flipped bytes and
hand-made headers. Four saved models are the starting points (a DeepAR, a diffusion model whose
config nests a denoiser config, a character LM and a DCRNN). Every case runs under `memory_cap`
(1 GiB above the process's size), so a big allocation fails the test instead of the machine.

Cases per run: 300 config.json cases + 300 weights cases = 600.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import diffrnn
from diffrnn.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("memory_cap")

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
BASES = ("deepar", "diffusion", "char-lm", "dcrnn")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small saved model per base, written once for the module."""
    from diffrnn.diffusion.denoisers import ResidualMLP, ResidualMLPConfig
    from diffrnn.diffusion.gaussian import GaussianDiffusion, GaussianProcessConfig
    from diffrnn.hybrid.dcrnn import DCRNN, DCRNNConfig
    from diffrnn.rnn.char_lm import CharLM, CharLMConfig
    from diffrnn.rnn.deepar import DeepAR, deepar_tiny

    root = tmp_path_factory.mktemp("saved")
    models = {
        "deepar": DeepAR(deepar_tiny(prediction_length=4, num_series=2)),
        "diffusion": GaussianDiffusion.around(
            ResidualMLP, ResidualMLPConfig(hidden=8, depth=1), GaussianProcessConfig(10)
        ),
        "char-lm": CharLM(
            CharLMConfig(vocab_size=11, embed_dim=4, cell="lstm", hidden_size=8, num_layers=1)
        ),
        "dcrnn": DCRNN(DCRNNConfig(num_nodes=3, hidden_size=4, num_layers=1)),
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return {name: root / name for name in models}


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(0, 64),
    st.sampled_from([-1, 0, 1, 8000, 2**20, 2**20 + 1, 2**31, 10**7]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["lstm", "gru", "mingru", "B", "D", "h", "W-SUN", "XYZ", "cosine", "linear"]),
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
CLASS_NAMES = st.sampled_from(
    [
        "diffrnn.rnn.deepar.DeepAR",
        "diffrnn.rnn.char_lm.CharLM",
        "diffrnn.hybrid.dcrnn.DCRNN",
        "diffrnn.diffusion.gaussian.GaussianDiffusion",
        "diffrnn.diffusion.unet.UNet",  # a network, but not a saved model
        "diffrnn.modeling.PretrainedMixin",
        "diffrnn.rnn.deepar.DeepARConfig",
        "diffrnn.errors.ConfigError",
        "diffrnn.cli.app",
        "diffrnn",
        "diffrnn.",
        "os.system",
        "builtins.eval",
        "",
    ]
) | st.text(max_size=30)
DENOISERS = st.sampled_from(
    [
        "diffrnn.diffusion.denoisers.ResidualMLP",
        "diffrnn.diffusion.unet.UNet",
        "diffrnn.rnn.deepar.DeepAR",
        "diffrnn.errors.DataError",
        "diffrnn.modeling.load",
        "subprocess.Popen",
    ]
)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def config_edits(draw: st.DrawFn) -> tuple[str, Any]:
    """(kind, argument) of one hostile change to config.json."""
    kind = draw(
        st.sampled_from(
            [
                *("none", "field", "field", "field", "typed", "typed", "drop", "add", "class"),
                *("config", "version", "nested", "bytes", "denoiser", "inner"),
            ]
        )
    )
    if kind in ("field", "inner"):
        return kind, (draw(st.integers(0, 30)), draw(JSON))
    if kind == "typed":  # a value of the field's own type: exercises the shape check and success
        return kind, (draw(st.integers(0, 30)), draw(st.integers(0, 64)), draw(st.floats(0, 1)))
    if kind == "drop":
        return kind, draw(st.integers(0, 30))
    if kind == "add":
        return kind, (draw(st.text(max_size=10)), draw(JSON))
    if kind == "class":
        return kind, draw(CLASS_NAMES)
    if kind in ("config", "version"):
        return kind, draw(JSON)
    if kind == "nested":
        return kind, draw(st.sampled_from([10, 900, 5_000, 100_000]))
    if kind == "bytes":
        return kind, draw(st.binary(max_size=200))
    if kind == "denoiser":
        return kind, draw(DENOISERS)
    return kind, None


def _apply_config_edit(meta: dict[str, Any], kind: str, arg: Any) -> str | None:
    """Change `meta` in place; return replacement text for the whole file, if any."""
    config = meta["config"]
    names = sorted(config)
    if kind == "field":
        config[names[arg[0] % len(names)]] = arg[1]
    elif kind == "typed":
        name = names[arg[0] % len(names)]
        if isinstance(config[name], bool):
            config[name] = not config[name]
        elif isinstance(config[name], int):
            config[name] = arg[1]
        elif isinstance(config[name], float):
            config[name] = arg[2]
    elif kind == "drop":
        config.pop(names[arg % len(names)])
    elif kind == "add":
        config[arg[0]] = arg[1]
    elif kind == "class":
        meta["class"] = arg
    elif kind == "config":
        meta["config"] = arg
    elif kind == "version":
        meta["format_version"] = arg
    elif kind == "nested":
        return json.dumps(meta)[:-1] + ', "deep": ' + _nested(arg) + "}"
    elif kind == "bytes":
        return arg.decode("latin-1")
    elif kind == "denoiser" and "denoiser" in config:
        config["denoiser"] = arg
    elif kind == "inner" and isinstance(config.get("denoiser_config"), dict):
        inner = config["denoiser_config"]
        inner_names = sorted(inner) or ["hidden"]
        inner[inner_names[arg[0] % len(inner_names)]] = arg[1]
    return None


def _assert_loaded_or_refused(directory: Path) -> None:
    """A finite model, or one line of ConfigError / DataError; any other exception escapes."""
    try:
        model = diffrnn.load(directory)
    except (ConfigError, DataError) as exc:
        assert "\n" not in str(exc), str(exc)
        event(f"refused: {type(exc).__name__}")
        return
    assert isinstance(model, torch.nn.Module) and not model.training
    for name, tensor in model.state_dict().items():
        assert not tensor.is_floating_point() or bool(torch.isfinite(tensor).all()), name
    event("loaded")


@SETTINGS
@given(base=st.sampled_from(BASES), edit=config_edits())
def test_hostile_config_json(saved: dict[str, Path], base: str, edit: tuple[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "m"
        shutil.copytree(saved[base], directory)
        meta = json.loads((directory / "config.json").read_text())
        text = _apply_config_edit(meta, *edit)
        (directory / "config.json").write_text(
            text if text is not None else json.dumps(meta), encoding="latin-1"
        )
        event(f"edit {edit[0]}")
        if edit[0] == "none":
            assert isinstance(diffrnn.load(directory), torch.nn.Module)
        _assert_loaded_or_refused(directory)


DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int64]
DTYPES += [torch.uint8, torch.bool]
SAFETENSORS_DTYPES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "X"]


@st.composite
def weight_edits(draw: st.DrawFn) -> tuple[str, Any]:
    """(kind, argument) of one hostile change to model.safetensors."""
    kind = draw(
        st.sampled_from(
            [
                *("none", "dtype", "dtype", "shape", "value", "value", "drop", "add", "truncate"),
                *("flip", "header", "header"),
            ]
        )
    )
    index = draw(st.integers(0, 1000))
    if kind == "dtype":
        return kind, (index, draw(st.sampled_from(DTYPES)))
    if kind == "shape":
        return kind, (index, draw(st.sampled_from(["flat", "transpose", "grow", "unsqueeze"])))
    if kind == "value":
        value = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e38, 0.0, -0.0]))
        return kind, (index, draw(st.integers(0, 10_000)), value)
    if kind == "add":
        return kind, (draw(st.text(min_size=1, max_size=12)), draw(st.integers(0, 5)))
    if kind in ("truncate", "flip"):
        return kind, (draw(st.floats(0, 1)), draw(st.integers(0, 255)))
    if kind == "header":
        entries = draw(
            st.lists(
                st.tuples(
                    st.text(max_size=10),
                    st.sampled_from(SAFETENSORS_DTYPES),
                    st.lists(
                        st.integers(0, 8) | st.sampled_from([2**31, 2**40, 2**62]), max_size=3
                    ),
                    st.tuples(st.integers(0, 64), st.integers(0, 64)),
                ),
                max_size=4,
            )
        )
        return kind, (entries, draw(st.integers(0, 64)), draw(st.sampled_from([0, 8, 2**40])))
    return kind, index


def _apply_weight_edit(path: Path, kind: str, arg: Any) -> None:
    from safetensors.torch import load_file, save_file

    if kind in ("truncate", "flip"):
        data = bytearray(path.read_bytes())
        position = int(arg[0] * (len(data) - 1))
        if kind == "truncate":
            del data[position:]
        else:
            data[position] ^= arg[1] or 1
        path.write_bytes(bytes(data))
        return
    if kind == "header":  # a hand-made file: any names, dtypes, shapes and offsets
        entries, data_size, length_lie = arg
        header = {
            name: {"dtype": dtype, "shape": shape, "data_offsets": list(offsets)}
            for name, dtype, shape, offsets in entries
        }
        blob = json.dumps(header).encode()
        path.write_bytes(struct.pack("<Q", len(blob) + length_lie) + blob + b"\0" * data_size)
        return
    tensors = load_file(path)
    names = sorted(tensors)
    if kind == "none":
        return
    if kind == "add":
        tensors[arg[0]] = torch.zeros(arg[1])
    elif kind == "drop":
        tensors.pop(names[arg % len(names)])
    else:
        name = names[arg[0] % len(names)]
        tensor = tensors[name]
        if kind == "dtype":
            tensors[name] = tensor.to(arg[1])
        elif kind == "shape":
            change = arg[1]
            if change == "flat":
                tensors[name] = tensor.reshape(-1)
            elif change == "transpose" and tensor.dim() == 2:
                tensors[name] = tensor.t().contiguous()
            elif change == "grow":
                tensors[name] = torch.cat([tensor.reshape(-1), torch.zeros(1, dtype=tensor.dtype)])
            else:
                tensors[name] = tensor.unsqueeze(0)
        elif kind == "value" and tensor.is_floating_point() and tensor.numel():
            flat = tensor.reshape(-1).clone()
            flat[arg[1] % flat.numel()] = arg[2]
            tensors[name] = flat.reshape(tensor.shape)
    save_file(tensors, path)


@SETTINGS
@given(base=st.sampled_from(BASES), edit=weight_edits())
def test_hostile_safetensors(saved: dict[str, Path], base: str, edit: tuple[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "m"
        shutil.copytree(saved[base], directory)
        _apply_weight_edit(directory / "model.safetensors", *edit)
        event(f"edit {edit[0]}")
        _assert_loaded_or_refused(directory)
