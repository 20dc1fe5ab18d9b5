"""The command line: instant help, one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diffrnn.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from diffrnn import cli; "
        "heavy = [m for m in ('torch', 'lightning', 'diffusers', 'pandas', 'matplotlib') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version() -> None:
    out = _run("version")
    assert out.returncode == 0 and "diffrnn" in out.stdout


@pytest.mark.parametrize("args", [("bogus",), ("version", "--nope")])
def test_bad_arguments_give_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    out = _run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
