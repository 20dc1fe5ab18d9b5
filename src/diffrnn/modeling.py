"""Saving and loading models as `config.json` + `model.safetensors`, never a pickle.

Every model in diffrnn is an `nn.Module` with a frozen dataclass config and inherits
`PretrainedMixin`:

    @dataclass(frozen=True)
    class DeepARConfig:
        hidden_size: int = 40

    class DeepAR(PretrainedMixin, nn.Module):
        config_class = DeepARConfig

        def __init__(self, config: DeepARConfig) -> None: ...

Non-parameter state a model needs at inference (scales, vocabularies as index tensors) lives in
registered buffers, so it travels in the safetensors file with the weights.

Loading trusts nothing in the folder. `config_from_dict` is the one place a config.json is
checked against its dataclass (types, ranges, sizes); the model is then built on torch's "meta"
device, where nothing is allocated, and its tensors' names, shapes and dtypes are compared with
the safetensors header before the real model is built, so a 500-byte config cannot make the
loader allocate gigabytes. Weights must be finite and of the model's dtypes (nothing is cast).

Why not huggingface_hub's `PyTorchModelHubMixin` (read in huggingface_hub 2.4.0, `hub_mixin.py`,
installed with diffusers): it would break three of the guarantees above, so this module stays.
- Atomic replacement: `save_pretrained` writes into the existing folder in place (`mkdir(...,
  exist_ok=True)` l. 403, `config_path.unlink` l. 409, weights straight to their final name
  l. 412/749, then `config_path.write_text` l. 422), so a kill mid-save leaves new weights with
  no config.json, or old ones with a new config: neither model loads.
- No pickle ever: `_from_pretrained` takes any path that is not a local folder for a Hub repo id
  and downloads it (l. 773), and without a model.safetensors there falls back to
  `_load_as_pickle` (l. 793), `torch.load(..., weights_only=True)` (l. 799): a restricted
  unpickler, still an unpickler.
- A checked config: `json.load` has no size bound (l. 513); a dataclass config is rebuilt by
  `_load_dataclass` (l. 825-830), which drops unknown keys and checks no type, range or
  `Literal`; the model is then built at full size on the real device (`cls(**model_kwargs)`
  l. 766) before any weight is compared, and `strict=False` (l. 762) leaves missing tensors at
  their random initialisation. With `from __future__ import annotations` (every model file
  here), `inspect.signature` (l. 272) sees the config's type as a string, so the config arrives
  as a plain dict: a two-field model saved and loaded through the mixin fails with
  "AttributeError: 'dict' object has no attribute 'hidden_size'" (measured).
The class is never resolved from the folder by the mixin (config.json holds only the init
arguments, l. 416-422), so `load`, which picks the class from config.json, would still need
`resolve_class`. The mixin also prints (l. 768) and writes a README.md model card (l. 428).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import importlib
import json
import math
import os
import re
import secrets
import shutil
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from diffrnn.errors import CheckpointError, ConfigError, DiffrnnError, UnsafeFileError
from diffrnn.fileio import alive, atomic_write_json, atomic_write_with, fsync_directory

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".joblib"})
FORMAT_VERSION = 1

MAX_CONFIG_BYTES = 1 << 20
"""Largest config.json read (a saved config is under 2 kB; a bigger file is refused unread)."""
MAX_CONFIG_INT = 2**20
"""Largest integer a config field may hold. Fields are sizes, counts and lengths (none negative;
the largest saved ones are vocabularies of tens of thousands); some are computed on at build time
outside the meta device (a diffusion schedule of `num_timesteps` steps in float64 by diffusers),
so the bound keeps those arrays to megabytes (2**30 steps took 18 GB)."""
MAX_CONFIG_ITEMS = 4096
"""Longest tuple-typed field (lags, channel lists)."""
MAX_CONFIG_STR = 256
"""Longest string field (a class name, a frequency alias, a sampler name)."""
REGISTRATIONS_PER_TENSOR = 8
"""Modules, parameters and buffers a model may register per saved tensor while it is built on
the meta device (measured on every model class: 1.2 to 2.25, the most for the residual-MLP
diffusion model); building stops beyond it, so a config asking for a million layers is refused
after a few hundred registrations instead of building them."""
_SAFETENSORS_DTYPES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "bool": "BOOL",
}
_FIX_CONFIG = "re-save the model with diffrnn, or correct config.json."
_FIX_WEIGHTS = "re-save the model with diffrnn (save_pretrained); the file cannot be repaired."


def config_to_dict(config: Any) -> dict[str, Any]:
    """A frozen dataclass config as a JSON-ready dict (tuples become lists)."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config must be a dataclass instance, got {type(config).__name__}")
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(config_class: type, data: Any, where: str | None = None) -> Any:
    """Check `data` (parsed JSON) against the dataclass `config_class` and build the config.

    The one place a saved config is validated. Every field is checked against its type hint
    before the dataclass is built: ints are non-negative and at most `MAX_CONFIG_INT` (a JSON
    float is not an int), floats finite, strings and tuples bounded, `Literal` fields one of their
    values, nested dataclass configs checked recursively; JSON lists become tuples. Unknown and
    missing fields, and the config's own `__post_init__` checks, are `ConfigError`s too.

    Args:
        config_class: a dataclass type.
        data: its fields as a JSON object (`config_to_dict` output).
        where: how error messages name the config (default: the class name).

    Raises:
        ConfigError: naming the field, the value and what it must be.
    """
    where = where or config_class.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object, got {_show(data)}.", _FIX_CONFIG)
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(map(str, set(data) - set(fields)))
    if unknown:
        raise ConfigError(
            f"{where} has no field(s) {_show(unknown)}.",
            "the config was written by another version of diffrnn; re-save the model.",
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where} lacks the field(s) {missing}.", _FIX_CONFIG)
    hints = typing.get_type_hints(config_class)
    kwargs = {name: _checked(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return config_class(**kwargs)
    except DiffrnnError as exc:
        raise ConfigError(f"{where} is invalid: {exc.problem}", exc.fix or _FIX_CONFIG) from None
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
        raise ConfigError(f"{where} is invalid: {_first_line(exc)}", _FIX_CONFIG) from None


def _checked(hint: Any, value: Any, where: str) -> Any:
    """`value` (parsed JSON) as the type `hint` describes, or a ConfigError naming `where`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin is Literal:
        if any(type(value) is type(arg) and value == arg for arg in args):
            return value
        raise ConfigError(f"{where} must be one of {list(args)}, got {_show(value)}.", _FIX_CONFIG)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            with contextlib.suppress(ConfigError):
                return _checked(arg, value, where)
        raise ConfigError(f"{where} must be {_describe(hint)}, got {_show(value)}.", _FIX_CONFIG)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value <= MAX_CONFIG_INT:
                return value
            raise ConfigError(
                f"{where} must be between 0 and {MAX_CONFIG_INT}, got {_show(value)}.",
                _FIX_CONFIG,
            )
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value)
            raise ConfigError(f"{where} must be finite, got {_show(value)}.", _FIX_CONFIG)
    elif hint is str:
        if isinstance(value, str):
            if len(value) <= MAX_CONFIG_STR:
                return value
            raise ConfigError(f"{where} is longer than {MAX_CONFIG_STR} characters.", _FIX_CONFIG)
    elif origin is tuple:
        if isinstance(value, list):
            return _checked_tuple(args, value, where)
    elif origin is dict:
        if isinstance(value, dict):
            return {
                key: _checked(args[1], item, f"{where}[{key!r}]") for key, item in value.items()
            }
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, where)
    else:
        raise TypeError(f"config field {where} has type {hint}, which cannot be checked")
    raise ConfigError(f"{where} must be {_describe(hint)}, got {_show(value)}.", _FIX_CONFIG)


def _checked_tuple(args: tuple[Any, ...], value: list[Any], where: str) -> tuple[Any, ...]:
    """A JSON list as the tuple type `tuple[args]` (homogeneous `X, ...` or fixed length)."""
    if len(value) > MAX_CONFIG_ITEMS:
        raise ConfigError(f"{where} has more than {MAX_CONFIG_ITEMS} items.", _FIX_CONFIG)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_checked(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"{where} must have {len(args)} items, got {len(value)}.", _FIX_CONFIG)
    return tuple(
        _checked(a, item, f"{where}[{i}]")
        for i, (a, item) in enumerate(zip(args, value, strict=True))
    )


def _describe(hint: Any) -> str:
    """A type hint in words for an error message."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is tuple:
        return "a list"
    if origin is dict or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return "a JSON object"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, str(hint))


def _show(value: Any) -> str:
    """A short repr of a JSON value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().partition("\n")[0][:200]


class PretrainedMixin:
    """`save_pretrained` / `from_pretrained` for an `nn.Module` with a dataclass config."""

    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write `config.json` and `model.safetensors` into `directory`, replacing it whole.

        The files are written (and fsynced) in a hidden folder beside the target, which then
        takes the target's place in one atomic step (`replace_folder`: `renameat2` exchange on
        Linux; else the name is a symlink to versioned folders, swapped with one rename), so a
        kill at any instant leaves the previous model or the new one loadable under the name.
        Folders and files get the permissions the umask allows (0755 / 0644 under the usual
        022), so a team can read them.

        Returns:
            The name the model is saved under.
        """
        from safetensors.torch import save_model

        def write(folder: Path) -> None:
            meta = {
                "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "format_version": FORMAT_VERSION,
                "config": config_to_dict(self.config),
            }
            atomic_write_json(folder / CONFIG_NAME, meta)
            atomic_write_with(folder / WEIGHTS_NAME, lambda name: save_model(self, name))  # type: ignore[arg-type]

        return replace_folder(directory, write)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> Self:
        """Load a model saved by `save_pretrained`; refuses pickles and corrupt files."""
        meta = read_config(directory)
        if not _names_class(meta["class"], cls):
            raise CheckpointError(
                f"{directory} holds a {meta['class']}, not a {cls.__qualname__}.",
                "load it with diffrnn.load(directory), which picks the class from config.json.",
            )
        return cls._build_and_fill(directory, meta)

    @classmethod
    def _build_and_fill(cls, directory: str | Path, meta: dict[str, Any]) -> Self:
        from safetensors import SafetensorError
        from safetensors.torch import load_model

        _check_model_class(cls, meta["class"])
        where = f"{Path(directory) / CONFIG_NAME}: config"
        config = config_from_dict(cls.config_class, meta["config"], where)
        weights = Path(directory) / WEIGHTS_NAME
        saved = _read_header(weights)
        _check_shapes(cls, config, saved, weights)
        model = _build(cls, config)
        try:
            load_model(model, str(weights), strict=False)
        except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
            raise CheckpointError(
                f"{weights} is corrupt or truncated ({_first_line(exc)}).", _FIX_WEIGHTS
            ) from None
        _check_finite(model, saved, weights)
        model.eval()
        return model


def read_config(directory: str | Path) -> dict[str, Any]:
    """Read and check `config.json` of a saved model directory, refusing pickle-based files.

    Raises:
        CheckpointError: the folder, config.json or model.safetensors is missing or not a regular
            file, config.json is over `MAX_CONFIG_BYTES`, not JSON, nested too deeply, or lacks
            the class name or the config object.
        UnsafeFileError: the folder holds pickle-based files.
    """
    path = Path(directory)
    if not path.is_dir():
        raise CheckpointError(
            f"{path} is not a directory.",
            "pass the directory written by save_pretrained (config.json + model.safetensors).",
        )
    pickles = sorted(p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise UnsafeFileError(
            f"{path} holds pickle-based file(s) {pickles}; diffrnn never unpickles weights.",
            "convert the weights to safetensors and remove the pickle files.",
        )
    config_path = path / CONFIG_NAME
    if not config_path.is_file() or not (path / WEIGHTS_NAME).is_file():
        raise CheckpointError(
            f"{path} lacks {CONFIG_NAME} or {WEIGHTS_NAME} as regular files.",
            "pass the directory written by save_pretrained.",
        )
    if config_path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(
            f"{config_path} is over {MAX_CONFIG_BYTES} bytes; a saved config is under 2 kB.",
            "re-save the model.",
        )
    try:
        meta = json.loads(config_path.read_bytes())
    except RecursionError:
        raise CheckpointError(f"{config_path} is nested too deeply.", "re-save it.") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, a 5000-digit integer
        raise CheckpointError(
            f"{config_path} is not valid JSON ({_first_line(exc)}).", "re-save it."
        ) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("class"), str):
        raise CheckpointError(f"{config_path} does not name a model class.", "re-save the model.")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{config_path} has no config object.", "re-save the model.")
    version = meta.get("format_version", FORMAT_VERSION)
    if type(version) is not int or version != FORMAT_VERSION:
        raise CheckpointError(
            f"{config_path} has format_version {_show(version)}; this diffrnn reads "
            f"{FORMAT_VERSION}.",
            "load it with the diffrnn version that saved it, or re-save the model.",
        )
    return meta


def load(directory: str | Path) -> Any:
    """Load any diffrnn model, choosing the class named in `config.json`.

    Only classes inside the `diffrnn` package that inherit `PretrainedMixin` (and are
    `nn.Module`s with a dataclass config) are accepted, so a crafted config cannot import
    arbitrary code; every other problem of the folder is a `ConfigError` or a `DataError`
    (`CheckpointError`) naming it.
    """
    meta = read_config(directory)
    cls = resolve_class(meta["class"])
    _check_model_class(cls, meta["class"])
    return cls._build_and_fill(directory, meta)


def resolve_class(qualified_name: str) -> type:
    """The class `diffrnn.<module>.<Class>` named in a saved config; nothing outside diffrnn.

    Used by `load` and by models whose config names a sub-module class (a diffusion model's
    denoiser), so a crafted config cannot import arbitrary code.
    """
    module_name, _, class_name = qualified_name.rpartition(".")
    if not (module_name == "diffrnn" or module_name.startswith("diffrnn.")):
        raise UnsafeFileError(
            f"config.json names {_show(qualified_name)}, which is not a diffrnn class.",
            "only models saved by diffrnn can be loaded.",
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise CheckpointError(
            f"config.json names {_show(qualified_name)}, which this version of diffrnn does not "
            "have.",
            "upgrade diffrnn or re-save the model.",
        ) from None
    if not isinstance(cls, type):
        raise UnsafeFileError(f"{_show(qualified_name)} is not a class.", "re-save the model.")
    return cls


def _names_class(qualified_name: str, cls: type) -> bool:
    """Whether a saved config's class name is `cls`: its own name, or a former name its module
    keeps as an alias (`SpeechRecognizer` for `SpeechRecogniser`) so older folders still load."""
    module_name, _, class_name = qualified_name.rpartition(".")
    if module_name != cls.__module__:
        return False
    alias = getattr(sys.modules[module_name], class_name, None)
    return class_name == cls.__qualname__ or alias is cls


def _check_model_class(cls: type, name: str) -> None:
    """Refuse a class that is not a loadable model (the mixin itself, a config, an error)."""
    from torch import nn

    config_class = getattr(cls, "config_class", None)
    if not (
        issubclass(cls, PretrainedMixin)
        and issubclass(cls, nn.Module)
        and isinstance(config_class, type)
        and dataclasses.is_dataclass(config_class)
    ):
        raise UnsafeFileError(f"{_show(name)} is not a diffrnn model class.", "re-save it.")


def _read_header(weights: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Name -> (safetensors dtype, shape) of every tensor in `weights`, from its header only."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            return {
                name: (
                    handle.get_slice(name).get_dtype(),
                    tuple(handle.get_slice(name).get_shape()),
                )
                for name in handle.keys()  # noqa: SIM118 (a safe_open handle is not a dict)
            }
    except (SafetensorError, OSError, RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{weights} is corrupt or truncated ({_first_line(exc)}).", _FIX_WEIGHTS
        ) from None


def _build(cls: type, config: Any) -> Any:
    """`cls(config)`, a constructor's refusal of the config turned into a ConfigError."""
    try:
        return cls(config)
    except DiffrnnError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RuntimeError) as exc:
        raise ConfigError(
            f"{CONFIG_NAME} cannot build a {cls.__qualname__}: {_first_line(exc)}", _FIX_CONFIG
        ) from None


@contextlib.contextmanager
def _registration_limit(limit: int, what: str) -> Iterator[None]:
    """Stop any module construction that registers more than `limit` modules/parameters/buffers."""
    from torch.nn.modules import module as torch_module

    count = 0

    def hook(*_: Any) -> None:
        nonlocal count
        count += 1
        if count > limit:
            raise ConfigError(
                f"{CONFIG_NAME} describes a model far larger than {what} (over {limit} modules "
                "and tensors).",
                _FIX_CONFIG,
            )

    handles = [
        torch_module.register_module_module_registration_hook(hook),
        torch_module.register_module_parameter_registration_hook(hook),
        torch_module.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


_RANDOM_FILLS = frozenset(
    {"normal_", "uniform_", "exponential_", "log_normal_", "cauchy_", "geometric_", "bernoulli_"}
)


@contextlib.contextmanager
def _skipping_random_fills() -> Iterator[None]:
    """Make in-place random initialisation of meta tensors a no-op (there is nothing to fill;
    torch would import its compiler, 1.3 CPU s, to run the `normal_` decomposition on meta)."""
    from torch.overrides import TorchFunctionMode

    class SkipRandomFills(TorchFunctionMode):
        def __torch_function__(
            self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
        ) -> Any:
            kwargs = kwargs or {}
            tensor = args[0] if args else kwargs.get("tensor")  # `Tensor.normal_`, `init.normal_`
            if getattr(func, "__name__", "") in _RANDOM_FILLS and getattr(tensor, "is_meta", 0):
                return tensor
            return func(*args, **kwargs)

    with SkipRandomFills():
        yield


def _check_shapes(
    cls: type, config: Any, saved: dict[str, tuple[str, tuple[int, ...]]], weights: Path
) -> None:
    """Build `cls(config)` on the meta device (no memory) and compare it with the saved header.

    Every saved tensor must be one of the model's, of the same shape and dtype, and every tensor
    of the model saved (or tied to a saved one).
    """
    import torch

    limit = REGISTRATIONS_PER_TENSOR * (len(saved) + 1)
    what = f"the {len(saved)} tensors of {weights}"
    with torch.device("meta"), _skipping_random_fills(), _registration_limit(limit, what):
        skeleton = _build(cls, config)
    expected = skeleton.state_dict(keep_vars=True)
    tied: dict[int, list[str]] = {}
    for name, tensor in expected.items():
        tied.setdefault(id(tensor), []).append(name)
    missing = [names[0] for names in tied.values() if not any(n in saved for n in names)]
    unexpected = [name for name in saved if name not in expected]
    different = [
        f"{name} {dtype}{list(shape)} (the config implies "
        f"{_SAFETENSORS_DTYPES.get(str(tensor.dtype).removeprefix('torch.'), tensor.dtype)}"
        f"{list(tensor.shape)})"
        for name, (dtype, shape) in saved.items()
        if (tensor := expected.get(name)) is not None
        and (
            shape != tuple(tensor.shape)
            or dtype != _SAFETENSORS_DTYPES.get(str(tensor.dtype).removeprefix("torch."))
        )
    ]
    if missing or unexpected or different:
        parts = [
            f"{label} {items[:3]}" + (f" and {len(items) - 3} more" if len(items) > 3 else "")
            for label, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("differing", different),
            )
            if items
        ]
        raise CheckpointError(
            f"{weights} does not match the {cls.__qualname__} its {CONFIG_NAME} describes: "
            f"{'; '.join(parts)}.",
            "keep config.json and model.safetensors of one save together; re-save the model "
            "(weights are never cast between dtypes).",
        )


def _check_finite(model: Any, saved: dict[str, Any], weights: Path) -> None:
    """Refuse NaN or infinite values in any loaded floating-point tensor."""
    import torch

    for name, tensor in model.state_dict().items():
        if name in saved and tensor.is_floating_point():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise CheckpointError(
                    f"{weights} holds {bad} NaN or infinite value(s) in {name}.",
                    "the model diverged in training or the file was altered; retrain it.",
                )


# -- crash-safe replacement of a model folder ---------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_VERSION = re.compile(r"\.(?P<name>.+)\.v-\d+-[0-9a-f]{8}")
"""A versioned folder `.name.v-PID-HEX` that the symlink `name` points to (`_sibling`)."""


def replace_folder(directory: str | Path, write: Callable[[Path], object]) -> Path:
    """Fill a fresh folder with `write(folder)`, then put it at `directory` replacing it whole.

    The folder is a hidden sibling of `directory` (same filesystem) created with the umask's
    permissions; once `write` returns it takes the name's place in one atomic step
    (`renameat2(RENAME_EXCHANGE)` on Linux; where the filesystem lacks it, `directory` is a
    symlink to a versioned folder `.name.v-*`, replaced by one rename of a new symlink). A kill
    at any instant leaves the previous folder or the new one under the name; what a killed
    writer left beside it is cleared (or its swap completed) by the next call. If `write`
    raises, the name keeps its previous folder.

    Args:
        directory: the name to (re)place. A versioned folder of ours reached through its
            pointer (a caller that resolved symlinks) stands for the pointer.
        write: writes the folder's files (fsynced, e.g. through `diffrnn.fileio`).

    Returns:
        The name, now holding the new folder.

    Raises:
        ConfigError: `directory` is a file or anything else that is not a folder (kept as is).
    """
    target = _pointer_of(Path(directory))
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    staging = _sibling(target, "tmp")
    staging.mkdir(mode=0o777)  # the umask applies, as for any folder the user makes
    try:
        write(staging)
        _replace_dir(staging, target)
        fsync_directory(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after an exchange: the old version
    return target


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # the filesystem cannot
        return False
    raise OSError(code, os.strerror(code), str(b))


def _can_exchange(folder: Path) -> bool:
    """Whether `folder`'s filesystem swaps two entries atomically (probed on two empty folders
    inside it; exchanging a path with itself succeeds even where the filesystem cannot)."""
    a, b = folder / ".probe-a", folder / ".probe-b"
    os.mkdir(a)
    os.mkdir(b)
    try:
        return _exchange(a, b)
    finally:
        os.rmdir(a)
        os.rmdir(b)


def _sibling(target: Path, kind: str) -> Path:
    """A fresh hidden name beside `target` that records the writing process's id."""
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def _pointer_of(path: Path) -> Path:
    """The symlink `name` if `path` is the versioned folder `.name.v-*` it points to, else `path`
    (so a save through a resolved path replaces the pointer, not the version behind it)."""
    match = _VERSION.fullmatch(path.name)
    if match is None:
        return path
    pointer = path.with_name(match["name"])
    with contextlib.suppress(OSError):
        if os.readlink(pointer) == path.name:
            return pointer
    return path


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder `new` at `target` so that `target` is always the old or the new folder.

    On return `new` is gone or holds the previous version (the caller removes it).
    """
    if target.is_symlink():
        _swap_link(new, target)
    elif not target.exists():
        if _can_exchange(new):
            os.rename(new, target)  # a plain folder; later saves exchange it
        else:
            _swap_link(new, target)  # the versioned layout from the first save on
    elif not target.is_dir():
        raise ConfigError(
            f"{target} exists and is not a model folder; it was left as it is.",
            "choose another name, or remove the file yourself.",
        )
    elif not _exchange(new, target):
        _swap_link(new, target)


def _swap_link(new: Path, target: Path) -> None:
    """Without RENAME_EXCHANGE: `target` becomes a symlink to a versioned folder `.name.v-*`,
    replaced by one rename of a new symlink.

    A real folder already at `target` (written where the exchange worked, or by hand) has to be
    moved aside before the symlink can take its name: the one instant without a model, after
    the link to the new version exists, so the next save completes the swap (`_recover`).
    """
    version = _sibling(target, "v")
    os.rename(new, version)
    link = _sibling(target, "link")
    os.symlink(version.name, link)
    previous = target.with_name(os.readlink(target)) if target.is_symlink() else None
    if previous is None and target.exists():
        os.rename(target, new)  # the real folder, removed by the caller
    os.replace(link, target)
    if previous is not None and _VERSION.fullmatch(previous.name):
        shutil.rmtree(previous, ignore_errors=True)


def _recover(target: Path) -> None:
    """Finish or clear what writers killed mid-save left beside `target`.

    A killed writer's link to a complete version is put in place when the name is missing (the
    writer died while moving a real folder aside); every other hidden folder or link of a dead
    writer is deleted.
    """
    if not target.parent.is_dir():
        return
    prefix = f".{target.name}."
    leftovers = []
    for path in target.parent.iterdir():
        kind, _, rest = path.name.removeprefix(prefix).partition("-")
        pid = rest.partition("-")[0]
        if (
            path.name.startswith(prefix)
            and kind in ("tmp", "v", "link")
            and pid.isdigit()
            and not alive(int(pid))
        ):
            leftovers.append((kind, path))
    if not (target.exists() or target.is_symlink()):
        for kind, path in leftovers:
            if kind == "link" and path.resolve().is_dir():
                os.replace(path, target)
                fsync_directory(target.parent)
                break
    current = os.readlink(target) if target.is_symlink() else None
    for _, path in leftovers:
        if path.name == current:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
