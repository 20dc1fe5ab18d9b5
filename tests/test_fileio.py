"""Atomic writes: a failure or a SIGKILL at any moment leaves the previous version intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from diffrnn.fileio import (
    append_json_line,
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    atomic_write_with,
    read_json_lines,
)

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_round_trips_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "results.json"
    atomic_write_json(target, {"crps": 0.5, "t": (1, 2)})
    assert json.loads(target.read_text()) == {"crps": 0.5, "t": [1, 2]}
    atomic_write_text(target, "ünïcode\n")
    assert target.read_text(encoding="utf-8") == "ünïcode\n"
    atomic_write_bytes(target, b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"
    assert _leftovers(target.parent) == []


def test_replacing_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert target.stat().st_mode & 0o777 == 0o640


def test_non_finite_numbers_are_refused_unless_allowed(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    atomic_write_json(target, {"crps": 1.0})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"crps": float("nan")})
    assert json.loads(target.read_text()) == {"crps": 1.0}
    atomic_write_json(target, {"crps": float("inf")}, allow_nan=True)
    assert json.loads(target.read_text()) == {"crps": float("inf")}


def test_exception_while_writing_keeps_the_previous_version(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    atomic_write_text(target, "previous")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as handle:
        handle.write("half of the new")
        raise RuntimeError("killed between write and replace")
    assert target.read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_failing_rename_keeps_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.json"
    atomic_write_text(target, "previous")

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_writer_callback_failure_keeps_the_previous_version(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    atomic_write_bytes(target, b"old weights")

    def torn_writer(name: str) -> None:
        Path(name).write_bytes(b"new wei")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_with(target, torn_writer)
    assert target.read_bytes() == b"old weights"
    assert _leftovers(tmp_path) == []
    atomic_write_with(target, lambda name: Path(name).write_bytes(b"new weights"))
    assert target.read_bytes() == b"new weights"


def test_sigkill_during_a_large_write_leaves_the_previous_version(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    previous = os.urandom(1 << 16)
    atomic_write_bytes(target, previous)
    script = textwrap.dedent(
        f"""
        import sys, time
        from diffrnn.fileio import atomic_open
        chunk = b"x" * (1 << 20)
        with atomic_open({str(target)!r}) as handle:
            for i in range(10_000):
                handle.write(chunk)
                if i == 3:
                    handle.flush()
                    print("writing", flush=True)
                    time.sleep(0.01)
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"writing\n"
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".big.bin.")]
    assert partial and partial[0].stat().st_size >= 4 << 20  # the new version was half-written
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == previous


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    append_json_line(log, {"unit": "a", "crps": 0.1})
    append_json_line(log, {"unit": "b", "crps": 0.2})
    with open(log, "ab") as handle:
        handle.write(b'{"unit": "c", "cr')  # a kill in the middle of a line
    assert read_json_lines(log) == [{"unit": "a", "crps": 0.1}, {"unit": "b", "crps": 0.2}]
    assert read_json_lines(tmp_path / "absent.jsonl") == []


def test_concurrent_appenders_never_interleave_within_a_line(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    script = textwrap.dedent(
        f"""
        import sys
        from diffrnn.fileio import append_json_line
        for i in range(40):
            append_json_line({str(log)!r}, {{"worker": sys.argv[1], "i": i, "pad": "p" * 500}})
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(w)], env=env) for w in range(3)]
    assert [p.wait(timeout=30) for p in procs] == [0, 0, 0]
    lines = log.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses
    assert len(records) == 120
    for w in range(3):
        assert [r["i"] for r in records if r["worker"] == str(w)] == list(range(40))
