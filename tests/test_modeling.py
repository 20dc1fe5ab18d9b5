"""save_pretrained / from_pretrained / diffrnn.load: round trips, and refusal of unsafe files."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import diffrnn
from diffrnn.errors import CheckpointError, ConfigError, UnsafeFileError
from diffrnn.modeling import PretrainedMixin, config_from_dict, config_to_dict


@dataclass(frozen=True)
class TinyConfig:
    sizes: tuple[int, ...] = (3, 5, 2)
    scale: float = 2.0


class Tiny(PretrainedMixin, nn.Module):
    config_class = TinyConfig

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.layers = nn.Sequential(
            *[nn.Linear(a, b) for a, b in zip(config.sizes, config.sizes[1:], strict=False)]
        )
        self.register_buffer("offset", torch.zeros(config.sizes[-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x) * self.config.scale + self.offset


def test_config_round_trip_restores_tuples() -> None:
    config = TinyConfig(sizes=(4, 4, 1), scale=0.5)
    data = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(TinyConfig, data) == config


def test_config_unknown_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no field"):
        config_from_dict(TinyConfig, {"sizes": [1, 2], "bogus": 1})


def test_save_load_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = Tiny(TinyConfig())
    model.offset.fill_(0.25)
    x = torch.randn(7, 3)
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    loaded = Tiny.from_pretrained(tmp_path / "m")
    assert torch.equal(loaded(x), model(x))


def test_save_replaces_previous_version_whole(tmp_path: Path) -> None:
    Tiny(TinyConfig(scale=1.0)).save_pretrained(tmp_path / "m")
    Tiny(TinyConfig(scale=3.0)).save_pretrained(tmp_path / "m")
    assert Tiny.from_pretrained(tmp_path / "m").config.scale == 3.0
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary leftovers


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("name", ["model.pt", "weights.bin", "last.ckpt", "model.pkl"])
def test_pickle_files_are_refused_and_never_unpickled(tmp_path: Path, name: str) -> None:
    Tiny(TinyConfig()).save_pretrained(tmp_path / "m")
    marker = tmp_path / "pwned"
    (tmp_path / "m" / name).write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(UnsafeFileError, match="pickle"):
        diffrnn.load(tmp_path / "m")
    assert not marker.exists()


def test_config_naming_a_foreign_class_is_refused(tmp_path: Path) -> None:
    Tiny(TinyConfig()).save_pretrained(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    meta["class"] = "os.system"
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UnsafeFileError):
        diffrnn.load(tmp_path / "m")


def test_truncated_safetensors_is_a_clear_error(tmp_path: Path) -> None:
    Tiny(TinyConfig()).save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Tiny.from_pretrained(tmp_path / "m")


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a directory"):
        diffrnn.load(tmp_path / "nothing")


def test_interrupted_save_keeps_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import safetensors.torch

    Tiny(TinyConfig(scale=1.0)).save_pretrained(tmp_path / "m")

    def torn_save(model: nn.Module, filename: str) -> None:
        Path(filename).write_bytes(b"\x00" * 10)
        raise KeyboardInterrupt  # a kill after part of the new weights reached the disk

    monkeypatch.setattr(safetensors.torch, "save_model", torn_save)
    with pytest.raises(KeyboardInterrupt):
        Tiny(TinyConfig(scale=3.0)).save_pretrained(tmp_path / "m")
    assert Tiny.from_pretrained(tmp_path / "m").config.scale == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


@dataclass(frozen=True)
class OuterConfig:
    inner: TinyConfig = TinyConfig()
    maybe: TinyConfig | None = None


def test_config_inside_a_config_round_trips() -> None:
    config = OuterConfig(inner=TinyConfig(sizes=(2, 1)), maybe=TinyConfig(scale=3.0))
    data = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(OuterConfig, data) == config


def test_resolve_class_refuses_modules_outside_diffrnn() -> None:
    from diffrnn.modeling import resolve_class

    assert resolve_class("diffrnn.modeling.PretrainedMixin") is PretrainedMixin
    with pytest.raises(UnsafeFileError):
        resolve_class("os.system")
