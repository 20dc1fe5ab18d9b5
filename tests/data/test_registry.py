"""The registry: every vendored file matches its pinned sha256; a tampered one is named."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from diffrnn.data import registry
from diffrnn.errors import ChecksumError, ConfigError

SINGLE_FILES = [(name, f.path, f.sha256) for name, d in registry.DATASETS.items() for f in d.files]


@pytest.mark.parametrize(("name", "rel", "sha"), SINGLE_FILES, ids=[f[1] for f in SINGLE_FILES])
def test_vendored_file_has_pinned_sha256(name: str, rel: str, sha: str) -> None:
    digest = hashlib.sha256((registry.data_root() / rel).read_bytes()).hexdigest()
    assert digest == sha
    assert registry.path(name, rel) == registry.data_root() / rel


def test_fsdd_manifest_covers_all_recordings_and_each_matches() -> None:
    listed = registry.files("fsdd")[1:]
    assert len(listed) == 3000
    on_disk = {p.name for p in (registry.data_root() / "fsdd" / "recordings").glob("*.wav")}
    assert {Path(f.path).name for f in listed} == on_disk
    for f in listed:
        assert hashlib.sha256((registry.data_root() / f.path).read_bytes()).hexdigest() == f.sha256


def test_verify_all_counts_every_file() -> None:
    counts = registry.verify_all()
    assert counts["fsdd"] == 3001 and counts["digits"] == 0 and counts["etth1"] == 1
    assert set(counts) == set(registry.DATASETS)


def _copy_dataset(tmp_path: Path, rel: str) -> Path:
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(registry.data_root() / rel, target)
    return target


def test_tampered_copy_raises_checksum_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = "etth1/ETTh1.csv"
    sha = registry.get("etth1").files[0].sha256
    target = _copy_dataset(tmp_path, rel)
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    assert registry.verify("etth1") == [target]  # the intact copy passes
    with target.open("r+b") as f:  # flip one digit, keep the size
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(b"7" if byte != b"7" else b"8")
    with pytest.raises(ChecksumError) as err:
        registry.verify("etth1")
    message = str(err.value)
    assert str(target) in message and sha in message and "DIFFRNN_DATA_DIR" in message


def test_missing_file_raises_checksum_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(ChecksumError, match="missing") as err:
        registry.path("tinyshakespeare", "tinyshakespeare/input.txt")
    assert registry.get("tinyshakespeare").files[0].sha256 in str(err.value)


def test_tampered_fsdd_recording_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = registry.files("fsdd")[1].path  # the manifest's first line is checked first
    _copy_dataset(tmp_path, "fsdd/SHA256SUMS.recordings")
    victim = _copy_dataset(tmp_path, first)
    victim.write_bytes(victim.read_bytes()[:-2])
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(ChecksumError, match=re.escape(str(victim))):
        registry.verify("fsdd")


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        registry.get("exchange")
    assert all(name in str(err.value) for name in registry.DATASETS)


def test_every_registered_dataset_has_a_loader() -> None:
    from diffrnn.data import _LOADERS, load
    from diffrnn.data.timeseries import ExchangeRate

    assert set(_LOADERS) == set(registry.DATASETS)
    assert isinstance(load("exchange_rate"), ExchangeRate)
    with pytest.raises(ConfigError, match="Unknown dataset"):
        load("cifar10")


def test_each_file_is_hashed_once_per_process_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _copy_dataset(tmp_path, "tinyshakespeare/input.txt")
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    calls: list[Path] = []
    real = registry._sha256
    monkeypatch.setattr(registry, "_sha256", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        registry.path("tinyshakespeare", "tinyshakespeare/input.txt")
    assert calls == [target]
    target.write_text("altered")  # new size and mtime: checked again, and refused
    with pytest.raises(ChecksumError):
        registry.path("tinyshakespeare", "tinyshakespeare/input.txt")
    assert len(calls) == 2


@pytest.mark.timeout(60)  # without the check, hashing a FIFO or /dev/zero never ends
@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "a FIFO"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device"),
        (lambda p: p.mkdir(), "a directory"),
    ],
)
def test_verify_refuses_a_data_file_that_is_not_a_regular_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make: object,
    kind: str,
) -> None:
    from diffrnn.cli import main

    target = tmp_path / "tinyshakespeare" / "input.txt"
    target.parent.mkdir()
    make(target)  # type: ignore[operator]
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main(["datasets", "verify", "tinyshakespeare"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"is not a regular file ({kind})" in err, err
