"""save_pretrained / from_pretrained / diffrnn.load: round trips, and refusal of unsafe files."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import diffrnn
from diffrnn.errors import CheckpointError, ConfigError, UnsafeFileError
from diffrnn.modeling import PretrainedMixin, config_from_dict, config_to_dict

pytestmark = pytest.mark.usefixtures("memory_cap")  # hostile files must never allocate much


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


# -- hostile config.json and weights (issue 17) -------------------------------------------------


def _deepar_dir(tmp_path: Path) -> Path:
    from diffrnn.rnn.deepar import DeepAR, deepar_tiny

    directory = tmp_path / "deepar"
    DeepAR(deepar_tiny(prediction_length=4, num_series=2)).save_pretrained(directory)
    return directory


def _edit_config(directory: Path, **fields: object) -> None:
    path = directory / "config.json"
    meta = json.loads(path.read_text())
    meta["config"].update(fields)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"lags": "1,2,3"}, "config.lags must be a list, got '1,2,3'"),
        ({"lags": [1, "2"]}, "config.lags[1] must be an integer"),
        ({"hidden_size": 16.0}, "config.hidden_size must be an integer, got 16.0"),
        ({"hidden_size": 1e7}, "config.hidden_size must be an integer"),
        ({"hidden_size": -1}, "config.hidden_size must be between 0 and"),
        ({"hidden_size": float("nan")}, "config.hidden_size must be an integer, got nan"),
        ({"hidden_size": True}, "config.hidden_size must be an integer, got True"),
        ({"dropout": float("inf")}, "config.dropout must be finite"),
        ({"cell": "transformer"}, "config.cell must be one of ['rnn', 'lstm'"),
        ({"freq": "XYZ"}, "cannot build a DeepAR: Invalid frequency: XYZ"),
        ({"freq": 7}, "config.freq must be a string or null, got 7"),
        ({"lags": [0]}, "lags must all be >= 1"),
        ({"bogus": 1}, "has no field(s) ['bogus']"),
    ],
)
def test_a_hostile_config_is_one_config_error_naming_the_field(
    tmp_path: Path, fields: dict, needle: str
) -> None:
    directory = _deepar_dir(tmp_path)
    _edit_config(directory, **fields)
    with pytest.raises(ConfigError) as err:
        diffrnn.load(directory)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_huge_hidden_size_is_refused_before_any_weight_is_allocated(tmp_path: Path) -> None:
    """The issue's 481-byte config (hidden size 8000) allocated 2.5 GB before the shape check."""
    from torch.nn.modules import module as torch_module

    directory = _deepar_dir(tmp_path)
    _edit_config(directory, hidden_size=8000, num_layers=2)
    allocated: list[int] = []

    def record(module: nn.Module, name: str, tensor: torch.Tensor | None) -> None:
        if tensor is not None and tensor.device.type != "meta":
            allocated.append(tensor.numel())

    handle = torch_module.register_module_parameter_registration_hook(record)
    try:
        with pytest.raises(CheckpointError, match=r"config implies F32\[3, 8000\]"):
            diffrnn.load(directory)
    finally:
        handle.remove()
    assert allocated == []  # the model was only ever built on the meta device


def test_a_config_asking_for_a_million_layers_stops_building_early(tmp_path: Path) -> None:
    directory = _deepar_dir(tmp_path)
    _edit_config(directory, num_layers=10**6)
    with pytest.raises(ConfigError, match="far larger than the"):
        diffrnn.load(directory)


def test_a_deeply_nested_or_oversized_config_json_is_a_clear_error(tmp_path: Path) -> None:
    directory = _deepar_dir(tmp_path)
    (directory / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        diffrnn.load(directory)
    (directory / "config.json").write_text(" " * (2 << 20) + "{}")
    with pytest.raises(CheckpointError, match="over 1048576 bytes"):
        diffrnn.load(directory)
    (directory / "config.json").write_text('{"class": "x", "config": {}, "n": ' + "9" * 5000 + "}")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        diffrnn.load(directory)


@pytest.mark.parametrize(
    "name",
    [
        "diffrnn.modeling.PretrainedMixin",  # the mixin itself: no config class
        "diffrnn.rnn.deepar.DeepARConfig",  # a config, not a model
        "diffrnn.errors.ConfigError",
        "diffrnn.cli.app",  # not a class at all
        "diffrnn.rnn.deepar.NoSuchModel",
        "diffrnn..x",
    ],
)
def test_a_class_that_is_not_a_model_is_refused(tmp_path: Path, name: str) -> None:
    directory = _deepar_dir(tmp_path)
    meta = json.loads((directory / "config.json").read_text())
    meta["class"] = name
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError):
        diffrnn.load(directory)


def test_a_diffusion_model_naming_a_non_network_denoiser_is_refused(tmp_path: Path) -> None:
    from diffrnn.diffusion.denoisers import ResidualMLP, ResidualMLPConfig
    from diffrnn.diffusion.gaussian import GaussianDiffusion, GaussianProcessConfig

    process = GaussianProcessConfig(num_timesteps=10)
    GaussianDiffusion.around(ResidualMLP, ResidualMLPConfig(hidden=8), process).save_pretrained(
        tmp_path / "d"
    )
    for denoiser, needle in [
        ("diffrnn.errors.ConfigError", "is not a network with a config class"),
        ("os.system", "not a diffrnn class"),
    ]:
        _edit_config(tmp_path / "d", denoiser=denoiser)
        with pytest.raises((ConfigError, CheckpointError), match=needle):
            diffrnn.load(tmp_path / "d")
    _edit_config(tmp_path / "d", denoiser="diffrnn.diffusion.denoisers.ResidualMLP")
    for steps, needle in [(2**30, "between 0 and 1048576"), (200_000, r"in \[2, 100000\]")]:
        _edit_config(tmp_path / "d", process={"num_timesteps": steps})  # 2**30 took 18 GB
        with pytest.raises(ConfigError, match=needle):
            diffrnn.load(tmp_path / "d")


def _rewrite_weights(directory: Path, change: object) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(directory / "model.safetensors")
    change(tensors)  # type: ignore[operator]
    save_file(tensors, directory / "model.safetensors")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(tmp_path: Path, value: float) -> None:
    directory = _deepar_dir(tmp_path)
    _rewrite_weights(directory, lambda t: t["head.weight"].view(-1).__setitem__(1, value))
    with pytest.raises(CheckpointError, match=r"1 NaN or infinite value\(s\) in head.weight"):
        diffrnn.load(directory)


@pytest.mark.parametrize(
    ("dtype", "label"), [(torch.int8, "I8"), (torch.bfloat16, "BF16"), (torch.float64, "F64")]
)
def test_weights_of_another_dtype_are_refused_not_cast(
    tmp_path: Path, dtype: torch.dtype, label: str
) -> None:
    directory = _deepar_dir(tmp_path)
    _rewrite_weights(directory, lambda t: t.__setitem__("head.weight", t["head.weight"].to(dtype)))
    with pytest.raises(
        CheckpointError, match=rf"head.weight {label}\[3, 16\] \(the config implies F32"
    ):
        diffrnn.load(directory)


def test_weights_missing_a_tensor_are_refused(tmp_path: Path) -> None:
    directory = _deepar_dir(tmp_path)
    _rewrite_weights(directory, lambda t: t.pop("head.bias"))
    with pytest.raises(CheckpointError, match=r"missing \['head.bias'\]"):
        diffrnn.load(directory)


def test_sample_from_a_hostile_folder_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from diffrnn.cli import main

    directory = _deepar_dir(tmp_path)
    _edit_config(directory, hidden_size=8000)
    argv = ["sample", "--task", "audio-fsdd", "--model", "audio-gru", "--digit", "3"]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "-o", str(tmp_path / "x.wav"), "--from", str(directory)])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not match the DeepAR" in err
    assert not (tmp_path / "x.wav").exists()


# -- crash-safe replacement and permissions (issue 19, item 4) ----------------------------------

_KILL_POINTS = [
    (os, "mkdir"),
    (os, "open"),
    (os, "rename"),
    (os, "replace"),
    (os, "symlink"),
    (os, "unlink"),
    (os, "rmdir"),
    (os, "chmod"),
    (os, "fsync"),
    (shutil, "rmtree"),
]


def _save_killed_at(step: int, model: Tiny, target: Path) -> bool:
    """Save `model` in a forked child that is SIGKILLed just before its `step`-th file-system
    operation (or the weights write, or the exchange); True when the save finished first."""
    import safetensors.torch

    from diffrnn import modeling

    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            calls = 0

            def killing(function):  # type: ignore[no-untyped-def]
                def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
                    nonlocal calls
                    calls += 1
                    if calls == step:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return function(*args, **kwargs)

                return wrapped

            points = [*_KILL_POINTS, (modeling, "_exchange"), (safetensors.torch, "save_model")]
            for module, name in points:
                setattr(module, name, killing(getattr(module, name)))
            model.save_pretrained(target)
        except BaseException:
            os._exit(3)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return False
    assert os.WEXITSTATUS(status) == 0
    return True


def _assert_whole(target: Path, models: dict[float, Tiny]) -> float:
    """The model under `target` loads and equals one of `models` exactly; its scale."""
    loaded = Tiny.from_pretrained(target)
    expected = models[loaded.config.scale]
    for name, tensor in expected.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    return loaded.config.scale


@pytest.mark.parametrize(
    "layout",
    ["renameat2", "versioned-symlink", "real-folder-to-symlink"],
)
def test_a_kill_at_every_step_of_a_save_leaves_a_loadable_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """renameat2: the folder is exchanged. versioned-symlink: a filesystem without the exchange,
    where the name is a symlink from the first save on. real-folder-to-symlink: such a
    filesystem meeting a real folder (saved where the exchange worked): the one instant without
    a model, after which the next save's first act completes the swap."""
    from diffrnn import modeling

    def no_exchange() -> None:
        monkeypatch.setattr(modeling, "_exchange", lambda a, b: False)

    if layout == "versioned-symlink":
        no_exchange()
    old, new = Tiny(TinyConfig(scale=1.0)), Tiny(TinyConfig(scale=3.0))
    models = {1.0: old, 3.0: new}
    seen: set[float] = set()
    gaps = []
    for step in range(1, 200):
        folder = tmp_path / f"step-{step}"
        old.save_pretrained(folder / "m")
        assert (folder / "m").is_symlink() == (layout == "versioned-symlink")
        if layout == "real-folder-to-symlink":
            no_exchange()
        finished = _save_killed_at(step, new, folder / "m")
        if not (folder / "m").exists():
            gaps.append(step)
            modeling._recover(folder / "m")  # what the next save does first
        seen.add(_assert_whole(folder / "m", models))
        new.save_pretrained(folder / "m")  # a later save still works and clears the leftovers
        assert _assert_whole(folder / "m", models) == 3.0
        current = os.readlink(folder / "m") if (folder / "m").is_symlink() else None
        hidden = [p.name for p in folder.iterdir() if p.name not in ("m", current)]
        # what a killed child left is cleared; only an old version this (live) test process
        # wrote and the child unlinked may stay, as a concurrent writer's would
        assert all(name.startswith(f".m.v-{os.getpid()}-") for name in hidden), hidden
        assert not hidden or layout != "renameat2"
        monkeypatch.undo()
        if layout == "versioned-symlink":
            no_exchange()
        if finished:
            break
    else:
        pytest.fail("the save never finished")
    assert step > 8 and seen == {1.0, 3.0}  # killed at every one of its steps, both outcomes
    assert len(gaps) == (layout == "real-folder-to-symlink"), gaps


def test_a_save_through_the_resolved_pointer_replaces_the_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the exchange the name is our symlink; the CLI's path checks accept it (and
    resolve it): loading reads the version, saving replaces the pointer, not the version."""
    from diffrnn import modeling
    from diffrnn import paths as check

    monkeypatch.setattr(modeling, "_exchange", lambda a, b: False)
    Tiny(TinyConfig(scale=1.0)).save_pretrained(tmp_path / "m")
    assert (tmp_path / "m").is_symlink()
    assert Tiny.from_pretrained(check.input_dir(tmp_path / "m", "--from")).config.scale == 1.0
    out = check.output_dir(tmp_path / "m", "--save")
    assert out.name.startswith(".m.v-")  # what a caller that resolves gets
    assert Tiny(TinyConfig(scale=3.0)).save_pretrained(out) == tmp_path / "m"
    assert (tmp_path / "m").is_symlink() and not (tmp_path / "m").resolve().is_symlink()
    assert Tiny.from_pretrained(tmp_path / "m").config.scale == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m", os.readlink(tmp_path / "m")])


def test_replacing_a_folder_swaps_it_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No rename of the old folder out of the way: on Linux the exchange does it all."""
    from diffrnn import modeling

    Tiny(TinyConfig(scale=1.0)).save_pretrained(tmp_path / "m")
    renames: list[tuple[str, str]] = []
    real_rename = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: renames.append((a, b)) or real_rename(a, b))
    Tiny(TinyConfig(scale=3.0)).save_pretrained(tmp_path / "m")
    if modeling._exchange(tmp_path / "m", tmp_path / "m"):  # the filesystem supports it
        assert renames == []
        assert not (tmp_path / "m").is_symlink()
    assert Tiny.from_pretrained(tmp_path / "m").config.scale == 3.0


def test_a_file_in_the_way_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "m").write_text("my notes")
    with pytest.raises(ConfigError, match="not a model folder"):
        Tiny(TinyConfig()).save_pretrained(tmp_path / "m")
    assert (tmp_path / "m").read_text() == "my notes"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


@pytest.mark.parametrize(
    ("umask", "folder", "file"), [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)]
)
def test_saved_models_get_the_permissions_the_umask_allows(
    tmp_path: Path, umask: int, folder: int, file: int
) -> None:
    previous = os.umask(umask)
    try:
        Tiny(TinyConfig()).save_pretrained(tmp_path / "m")
        Tiny(TinyConfig()).save_pretrained(tmp_path / "m")  # a replacement too
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == folder
    for name in ("config.json", "model.safetensors"):
        assert stat.S_IMODE((tmp_path / "m" / name).stat().st_mode) == file


def test_the_leftovers_of_a_writer_that_died_unreaped_are_cleared(tmp_path: Path) -> None:
    """A writer killed while its parent has not reaped it yet (a zombie) is dead: the next
    save clears what it left, as it does a vanished writer's."""
    import time

    from diffrnn import modeling
    from diffrnn.fileio import alive

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        proc_stat = Path(f"/proc/{pid}/stat")
        while proc_stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        leftover = tmp_path / f".m.tmp-{pid}-0"
        leftover.mkdir()
        assert alive(os.getpid()) and not alive(pid)
        modeling._recover(tmp_path / "m")
        assert not leftover.exists()
    finally:
        os.waitpid(pid, 0)
