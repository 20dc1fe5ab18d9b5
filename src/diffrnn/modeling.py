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
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import tempfile
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Self

from diffrnn.errors import CheckpointError, ConfigError, UnsafeFileError
from diffrnn.fileio import atomic_write_json, atomic_write_with, fsync_directory

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".joblib"})
FORMAT_VERSION = 1


def config_to_dict(config: Any) -> dict[str, Any]:
    """A frozen dataclass config as a JSON-ready dict (tuples become lists)."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config must be a dataclass instance, got {type(config).__name__}")
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(config_class: type, data: dict[str, Any]) -> Any:
    """Rebuild a frozen dataclass config from `config_to_dict` output.

    Lists become tuples where the field is declared as a tuple; unknown keys are an error.
    """
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{config_class.__name__} has no field(s) {unknown}.",
            "the config was written by another version of diffrnn; re-save the model.",
        )
    hints = typing.get_type_hints(config_class)
    kwargs = {name: _coerce(hints.get(name), value) for name, value in data.items()}
    return config_class(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    """Turn JSON lists back into tuples for tuple-typed fields (nested once), and JSON objects
    back into dataclass configs for dataclass-typed fields (a config inside a config)."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return config_from_dict(hint, value)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if typing.get_origin(arg) is tuple and isinstance(value, list):
                return tuple(value)
            if isinstance(arg, type) and dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return config_from_dict(arg, value)
        return value
    if origin is tuple and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


class PretrainedMixin:
    """`save_pretrained` / `from_pretrained` for an `nn.Module` with a dataclass config."""

    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write `config.json` and `model.safetensors` atomically into `directory`.

        The files are written (and fsynced) in a temporary directory beside the target, which is
        then renamed into place, so a kill during the write leaves any previous version intact.
        """
        from safetensors.torch import save_model

        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            meta = {
                "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "format_version": FORMAT_VERSION,
                "config": config_to_dict(self.config),
            }
            atomic_write_json(tmp / CONFIG_NAME, meta)
            atomic_write_with(tmp / WEIGHTS_NAME, lambda name: save_model(self, name))  # type: ignore[arg-type]
            _replace_dir(tmp, target)
            fsync_directory(target.parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> Self:
        """Load a model saved by `save_pretrained`; refuses pickles and corrupt files."""
        meta = read_config(directory)
        if meta["class"] != f"{cls.__module__}.{cls.__qualname__}":
            raise CheckpointError(
                f"{directory} holds a {meta['class']}, not a {cls.__qualname__}.",
                "load it with diffrnn.load(directory), which picks the class from config.json.",
            )
        return cls._build_and_fill(directory, meta)

    @classmethod
    def _build_and_fill(cls, directory: str | Path, meta: dict[str, Any]) -> Self:
        from safetensors import SafetensorError
        from safetensors.torch import load_model

        config = config_from_dict(cls.config_class, meta["config"])
        model = cls(config)  # type: ignore[call-arg]
        weights = Path(directory) / WEIGHTS_NAME
        try:
            missing, unexpected = load_model(model, str(weights), strict=False)  # type: ignore[arg-type]
        except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
            raise CheckpointError(
                f"{weights} is corrupt or truncated ({exc}).",
                "re-save the model, or retrain it; the file cannot be repaired.",
            ) from None
        if missing or unexpected:
            raise CheckpointError(
                f"{weights} does not match {cls.__qualname__}: missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]}.",
                "the weights were saved by a different model or version; re-save them.",
            )
        model.eval()  # type: ignore[attr-defined]
        return model


def read_config(directory: str | Path) -> dict[str, Any]:
    """Read and check `config.json` of a saved model directory, refusing pickle-based files."""
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
            f"{path} lacks {CONFIG_NAME} or {WEIGHTS_NAME}.",
            "pass the directory written by save_pretrained.",
        )
    try:
        meta = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config_path} is not valid JSON ({exc}).", "re-save it.") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("class"), str):
        raise CheckpointError(f"{config_path} does not name a model class.", "re-save the model.")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{config_path} has no config object.", "re-save the model.")
    return meta


def load(directory: str | Path) -> Any:
    """Load any diffrnn model, choosing the class named in `config.json`.

    Only classes inside the `diffrnn` package that inherit `PretrainedMixin` are accepted, so a
    crafted config cannot import arbitrary code.
    """
    meta = read_config(directory)
    cls = resolve_class(meta["class"])
    if not issubclass(cls, PretrainedMixin):
        raise UnsafeFileError(f"{meta['class']!r} is not a diffrnn model class.", "re-save it.")
    return cls._build_and_fill(directory, meta)


def resolve_class(qualified_name: str) -> type:
    """The class `diffrnn.<module>.<Class>` named in a saved config; nothing outside diffrnn.

    Used by `load` and by models whose config names a sub-module class (a diffusion model's
    denoiser), so a crafted config cannot import arbitrary code.
    """
    module_name, _, class_name = qualified_name.rpartition(".")
    if not (module_name == "diffrnn" or module_name.startswith("diffrnn.")):
        raise UnsafeFileError(
            f"config.json names {qualified_name!r}, which is not a diffrnn class.",
            "only models saved by diffrnn can be loaded.",
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise CheckpointError(
            f"config.json names {qualified_name!r}, which this version of diffrnn does not have.",
            "upgrade diffrnn or re-save the model.",
        ) from None
    if not isinstance(cls, type):
        raise UnsafeFileError(f"{qualified_name!r} is not a class.", "re-save the model.")
    return cls


def _replace_dir(src: Path, dst: Path) -> None:
    """Move `src` to `dst`, replacing an existing `dst` with one rename where possible."""
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
