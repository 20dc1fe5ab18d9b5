"""Paths from the command line, run-directory files and locks: refuse what would lose data."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffrnn import fileio, paths
from diffrnn.bench.results import RECORD_FIELDS, RESULTS_FILE, append_record, read_records
from diffrnn.cli import main
from diffrnn.errors import ConfigError, StorageError


def _minimal(model: str) -> dict:
    """The smallest valid record of a unit (every field there, most of them null)."""
    base = dict.fromkeys(RECORD_FIELDS)
    return base | {"task": "t", "model": model, "family": "rnn", "seed": 0, "budget_s": 1.0,
                   "status": "ok"}  # fmt: skip


def _cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    err = capsys.readouterr().err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return code, err


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    return tmp_path / "loop_a"


def test_an_empty_out_is_refused_and_the_current_directory_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.md").write_text("my own notes")
    code, err = _cli(["compare", "--tasks", "long-adding", "--out", ""], capsys)
    assert code == 2 and "--out is empty" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    assert (tmp_path / "report.md").read_text() == "my own notes"


def test_out_refuses_files_devices_system_dirs_and_foreign_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "report.md").write_text("someone else's report")
    cases = {
        str(file): "is a regular file, not a directory",
        str(file / "sub"): "which is a regular file",
        "/dev/null": "under /dev",
        "/proc/self/run": "under /proc",
        "/sys/run": "under /sys",
        str(theirs): "is not a diffrnn run directory",
        str(_loop(tmp_path)): "symlink loop",
        str(tmp_path / "loop_a" / "x"): "symlink loop",  # Python 3.13 resolves it to itself
        "x" * 300: "cannot be used",
    }
    for out, message in cases.items():
        code, err = _cli(["compare", "--tasks", "long-adding", "--out", out], capsys)
        assert code == 2 and message in err, (out, err)
    assert file.read_text() == "keep me"
    assert [p.name for p in theirs.iterdir()] == ["report.md"]


def test_data_must_be_a_regular_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fifo = tmp_path / "sales.csv"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    cases = {
        fifo: "is a FIFO (named pipe), not a regular file",  # reading it would hang
        zero: "under /dev",
        tmp_path: "is a symlink that loops",  # a folder is data now; the loop inside is refused
        _loop(tmp_path): "symlink loop",
        tmp_path / "none.csv": "No file at",
    }
    for data, message in cases.items():
        argv = ["compare", "--data", str(data), "--horizon", "3", "--out", str(tmp_path / "r")]
        code, err = _cli(argv, capsys)
        assert code == 2 and message in err, (data, err)
    assert not (tmp_path / "r").exists()


def test_sample_checks_its_paths_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = ["sample", "--task", "audio-fsdd", "--model", "audio-gru", "--digit", "3"]
    started = time.perf_counter()
    for extra, message in (
        (["-o", "/proc/x.wav"], "under /proc"),
        (["-o", str(tmp_path)], "is a directory, not a regular file"),
        (["-o", str(tmp_path / "a.wav"), "--from", str(tmp_path / "nope")], "no such directory"),
    ):
        code, err = _cli(base + extra, capsys)
        assert code == 2 and message in err, err
    assert time.perf_counter() - started < 30  # refused up front: nothing was trained


def test_report_needs_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file").write_text("x")
    code, err = _cli(["report", str(tmp_path / "file")], capsys)
    assert code == 2 and "is a regular file, not a directory" in err


def test_a_resolved_path_is_returned(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert paths.run_dir(tmp_path / "link" / "run") == (tmp_path / "real" / "run").resolve()
    assert paths.run_dir(tmp_path / "link") == (tmp_path / "real").resolve()


# results.jsonl


def test_a_complete_last_record_without_a_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / RESULTS_FILE
    path.write_text(json.dumps(_minimal("m1")))
    append_record(path, _minimal("m2"))
    assert [r["model"] for r in read_records(path)] == ["m1", "m2"]
    path.write_text(path.read_text() + '{"task": "t", "model": "m3", "se')  # a torn write
    append_record(path, _minimal("m4"))
    assert [r["model"] for r in read_records(path)] == ["m1", "m2", "m4"]


def test_a_symlinked_results_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("line one\nline two without newline")
    run = tmp_path / "run"
    run.mkdir()
    (run / RESULTS_FILE).symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        append_record(run / RESULTS_FILE, {"task": "t", "model": "m", "seed": 0})
    with pytest.raises(ConfigError, match="symbolic link"):
        paths.run_dir(run)
    assert target.read_text() == "line one\nline two without newline"


def test_a_short_write_at_the_file_size_limit_raises_and_leaves_the_file_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / RESULTS_FILE
    fileio.append_json_line(path, {"first": 1})
    before = path.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 100, hard))
    try:
        with pytest.raises(StorageError, match="File too large"):
            fileio.append_json_line(path, {"second": "x" * 1000})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert path.read_bytes() == before


def test_a_full_disk_mid_line_raises_and_leaves_the_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / RESULTS_FILE
    fileio.append_json_line(path, {"first": 1})
    before = path.read_bytes()
    real_write = os.write
    calls = []

    def half_then_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "write", half_then_full)
    with pytest.raises(StorageError, match="No space left on device"):
        fileio.append_json_line(path, {"second": "x" * 100})
    assert path.read_bytes() == before and len(calls) == 2


def test_a_full_disk_leaves_both_reports_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "fixtures" / "bench_run", run)
    (run / "report.md").write_text("old md")
    (run / "report.html").write_text("old html")
    real_fsync = os.fsync

    def full_on_the_html(fd: int) -> None:  # report.md is staged first, then report.html
        if ".report.html." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", full_on_the_html)
    code, err = _cli(["report", str(run)], capsys)
    assert code == 2 and "No space left on device" in err
    assert (run / "report.md").read_text() == "old md"
    assert (run / "report.html").read_text() == "old html"
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_a_full_disk_while_drawing_the_plots_keeps_every_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    from matplotlib.figure import Figure

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "fixtures" / "bench_run", run)
    assert _cli(["report", str(run)], capsys)[0] == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert any(p.suffix == ".png" for p in before)

    def half_then_full(self: Figure, fname: object, **kwargs: object) -> None:
        Path(str(fname)).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_then_full)
    code, err = _cli(["report", str(run)], capsys)
    assert code == 2 and "No space left on device" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


# the run directory's lock


def test_a_second_compare_into_a_locked_run_is_refused_naming_the_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    with paths.locked_run(run):
        argv = ["compare", "--tasks", "long-adding", "--out", str(run)]
        code, err = _cli(argv, capsys)
    assert code == 2 and f"in use by another diffrnn compare (pid {os.getpid()})" in err
    with paths.locked_run(run):  # released
        pass


def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from diffrnn.paths import locked_run\n"
            f"with locked_run(Path({str(run)!r})):\n print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(ConfigError, match=f"pid {holder.pid}"), paths.locked_run(run):
        pass
    holder.kill()
    holder.wait()
    with paths.locked_run(run):
        pass


def test_a_refused_compare_leaves_no_directory_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, err = _cli(["compare", "--tasks", "no-such", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "unknown task" in err
    assert not (tmp_path / "run").exists()


def test_file_inside_follows_links_and_keeps_to_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "run", tmp_path / "secret"
    (root / "units").mkdir(parents=True)
    outside.write_text("key")
    (root / "units" / "a.png").write_text("png")
    (root / "units" / "same.png").symlink_to(root / "units" / "a.png")
    (root / "units" / "out.png").symlink_to(outside)
    (root / "units" / "up").symlink_to(tmp_path)
    (root / "units" / "loop.png").symlink_to(root / "units" / "loop.png")
    (root / "units" / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(root / "units" / "fifo.png")
    inside = (root / "units" / "a.png").resolve()
    assert paths.file_inside(root, "units/a.png") == inside
    assert paths.file_inside(root, "units/same.png") == inside
    for name in ("out.png", "up/secret", "loop.png", "zero.png", "fifo.png", "missing.png", "."):
        assert paths.file_inside(root, f"units/{name}") is None, name
    assert paths.file_inside(root, "../secret") is None
