"""Installation: the audio extra (librosa, soundfile) is loaded only by what needs sound, and its
absence is one line naming `pip install 'diffrnn[audio]'`."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import diffrnn
from diffrnn.cli import main
from diffrnn.data import audio, spectrograms, user_audio
from diffrnn.errors import ConfigError

AUDIO_PACKAGES = ("librosa", "soundfile")
FIX = "pip install 'diffrnn[audio]'"

SILENCE = np.zeros(800, np.float32)
CALLS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "log_mel": ("librosa", lambda _: audio.log_mel(SILENCE)),
    "mfcc": ("librosa", lambda _: audio.mfcc(SILENCE)),
    "log_mel_batch": ("librosa", lambda _: spectrograms.log_mel_batch([SILENCE])),
    "log_mel_to_audio": ("librosa", lambda _: spectrograms.log_mel_to_audio(np.zeros((1, 40, 4)))),
    "load_fsdd": ("soundfile", lambda _: audio.load_fsdd()),
    "write_wav": ("soundfile", lambda tmp: spectrograms.write_wav(tmp / "x.wav", SILENCE)),
    "survey_audio": ("soundfile", lambda tmp: user_audio.survey_audio(_two_classes(tmp))),
}


def _two_classes(root: Path) -> Path:
    for label in ("yes", "no"):
        (root / label).mkdir()
        for k in range(2):
            (root / label / f"s{k}_{label}.wav").write_bytes(b"RIFF")
    return root


def test_the_audio_packages_are_imported_only_through_import_audio() -> None:
    """No `import librosa` / `from soundfile import ...` anywhere in the package: at module level
    it would load them for every task, in a function it would bypass the one-line error."""
    found = []
    for path in sorted(Path(diffrnn.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [
                f"{path.name}:{node.lineno}" for n in names if n.split(".")[0] in AUDIO_PACKAGES
            ]
    assert found == []


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_missing_audio_package_is_a_config_error_naming_the_extra(
    call: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package, run = CALLS[call]
    monkeypatch.setitem(sys.modules, package, None)  # `import package` now raises ImportError
    with pytest.raises(ConfigError) as raised:
        run(tmp_path)
    message = str(raised.value)
    assert package in message and message.endswith(f"Fix: {FIX}")
    assert "\n" not in message


def test_the_cli_says_so_in_one_line_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(SystemExit) as exited:
        main(["train", "--task", "speech-fsdd", "--model", "majority", "--out", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "soundfile" in err and FIX in err, err
    assert not (tmp_path / "result.json").exists()


# Run in a fresh interpreter: `import diffrnn` and `--help` must not load the audio packages; then
# they are made to look uninstalled (import fails, no distribution metadata, so that third-party
# libraries which load librosa when it is installed, like torchmetrics, skip it as on a machine
# without it), a task without sound must still train, and every units module, the audio ones
# included, must import (an audio unit fails only when it runs, with the one-line fix).
WITHOUT_AUDIO = """
import importlib.metadata as metadata
import sys

import diffrnn
import diffrnn
from diffrnn.cli import main

packages = {packages!r}
print("loaded after import", [m for m in packages if m in sys.modules])
try:
    main(["--help"])
except SystemExit:
    pass
print("loaded after help", [m for m in packages if m in sys.modules])

installed = metadata.distribution


def distribution(name):
    if name.lower() in packages:
        raise metadata.PackageNotFoundError(name)
    return installed(name)


metadata.distribution = distribution  # `metadata.version` looks it up here too
for name in packages:
    sys.modules[name] = None  # `import name` raises ModuleNotFoundError, find_spec gives None
main(["train", "--task", "forecast-etth1", "--model", "linear-ar", "--max-steps", "1",
      "--out", {out!r}])

from diffrnn.bench.registry import UNIT_IMPORT_ERRORS  # every units module, the audio ones too

print("units that failed to import", sorted(UNIT_IMPORT_ERRORS))
"""


def test_import_help_and_a_task_without_sound_need_no_audio_package(tmp_path: Path) -> None:
    code = WITHOUT_AUDIO.format(packages=AUDIO_PACKAGES, out=str(tmp_path / "run"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = [line for line in done.stdout.splitlines() if line.startswith("loaded after")]
    assert loaded == ["loaded after import []", "loaded after help []"], done.stdout
    assert "units that failed to import []" in done.stdout.splitlines(), done.stdout
    assert (tmp_path / "run" / "result.json").exists()
