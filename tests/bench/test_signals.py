"""Unit processes die with the `diffrnn compare` that started them; a stopped run resumes.

Real processes: `diffrnn compare` runs in a subprocess on a task whose units sleep on their
first attempt (so they are surely running when the signal comes) and return at once on the
next; the test kills or signals the compare, checks that no unit process and no fork server
survives it, and reruns the same command to the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from diffrnn.bench.lifeline import alive
from diffrnn.bench.results import RESULTS_FILE, read_records

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")

SLEEPY_UNITS = """
import os
import time

from diffrnn.bench.registry import Task, UnitOutput, define_task, register_unit

define_task(Task(name="sleepy", dataset="synthetic", description="sleeps once",
                 metrics=("mse",), primary_metric="mse"))


@register_unit("sleepy", "sleeper", family="rnn")
def sleeper(ctx):
    marker = ctx.out_dir / "slept"
    (ctx.out_dir / "pid").write_text(str(os.getpid()))
    if not marker.exists():
        marker.write_text("")
        time.sleep(300)
    return UnitOutput(metrics={"mse": 0.5 + ctx.seed})
"""

COMPARE = """
import sys
sys.path.insert(0, sys.argv[1])
import sleepy_units  # noqa: F401
from diffrnn.bench import runner

plain = runner._context


def with_sleepy_units():
    context = plain()
    context.set_forkserver_preload(["diffrnn.bench.preload", "sleepy_units"])
    return context


runner._context = with_sleepy_units
if __name__ == "__main__":  # the fork server imports this module too
    from diffrnn.cli import main

    main(sys.argv[2:])
"""

STARTUP_S = 900.0
"""The fork server imports torch and every model first: generous on a loaded 2-core machine."""
DEATH_S = 15.0


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[str], list[str]]]]:
    """Starts `compare` (in a session of its own, as a shell starts a job); whatever it left
    running when the test ends, failed or not, is killed."""
    (tmp_path / "sleepy_units.py").write_text(SLEEPY_UNITS)
    (tmp_path / "compare.py").write_text(COMPARE)
    run = tmp_path / "run"
    argv = [sys.executable, str(tmp_path / "compare.py"), str(tmp_path), "compare"]
    argv += ["--tasks", "sleepy", "--seeds", "2", "--jobs", "2", "--out", str(run)]
    started: list[subprocess.Popen[str]] = []

    def _start() -> tuple[subprocess.Popen[str], list[str]]:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        started.append(process)
        return process, argv

    yield _start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its group: fork server and units too
        process.communicate()


def _unit_pids(tmp_path: Path, process: subprocess.Popen[str]) -> list[int]:
    """The unit processes' pids, once both units are asleep."""
    files = [tmp_path / "run" / "units" / "sleepy" / "sleeper" / f"seed{s}" / "pid" for s in (0, 1)]
    deadline = time.monotonic() + STARTUP_S
    while not all(f.exists() and f.read_text() for f in files):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the units did not start"
        time.sleep(0.2)
    return [int(f.read_text()) for f in files]


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _assert_all_die(pids: list[int]) -> None:
    deadline = time.monotonic() + DEATH_S
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            survivors = [pid for pid in pids if alive(pid)]
            for pid in survivors:  # do not leave them behind for the next test
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"processes {survivors} outlived the compare that started them")
        time.sleep(0.1)


def _rerun_completes(argv: list[str], tmp_path: Path) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=STARTUP_S)
    assert done.returncode == 0, done.stderr
    records = read_records(tmp_path / "run" / RESULTS_FILE)
    assert sorted((r["seed"], r["status"], r["metrics"]["mse"]) for r in records) == [
        (0, "ok", 0.5),
        (1, "ok", 1.5),
    ]  # and nothing else: no record of an orphan


def test_kill_9_of_compare_takes_its_unit_processes_and_fork_server_along(
    tmp_path: Path, start: Callable[[], tuple[subprocess.Popen[str], list[str]]]
) -> None:
    process, argv = start()
    units = _unit_pids(tmp_path, process)
    fork_server = _parent(units[0])
    assert fork_server != process.pid and _parent(fork_server) == process.pid
    process.kill()
    process.wait()
    _assert_all_die([*units, fork_server])
    _rerun_completes(argv, tmp_path)


@pytest.mark.parametrize(
    ("signum", "group", "code"),
    [
        (signal.SIGTERM, False, 143),  # `kill PID`
        (signal.SIGINT, True, 130),  # Ctrl-C: the terminal signals the whole foreground group
    ],
)
def test_a_stop_signal_ends_compare_with_one_line_and_a_resumable_run(
    tmp_path: Path,
    start: Callable[[], tuple[subprocess.Popen[str], list[str]]],
    signum: int,
    group: bool,
    code: int,
) -> None:
    process, argv = start()
    units = _unit_pids(tmp_path, process)
    fork_server = _parent(units[0])
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stopped:"), stderr
    assert "the same command resumes the run" in lines[0]
    _assert_all_die([*units, fork_server])
    run_info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_info["suite"] == "quick"  # nothing half-written
    assert read_records(tmp_path / "run" / RESULTS_FILE) == []
    if signum == signal.SIGTERM:
        _rerun_completes(argv, tmp_path)


def test_a_process_whose_watched_process_is_gone_exits_at_once() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    for watched, survives in ((gone.pid, False), (os.getpid(), True)):
        code = "from diffrnn.bench.lifeline import die_with_parent as d; "
        code += f"print(d({watched}), 'survived')"
        done = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True)
        assert ("True survived" in done.stdout) is survives, done
