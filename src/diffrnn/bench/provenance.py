"""What a run measured with: the code's identity and each unit's inputs, as data and as hashes.

    code = code_identity()            # version, git commit + dirty flag, source sha256, libraries
    inputs = unit_inputs(spec, threads=1, options=options_identity(ctx_options))
    key = fingerprint(inputs)         # sha256 of the inputs, canonical JSON

Every record of `results.jsonl` carries both, so a rerun into the same run directory can tell a
stored result it may reuse (same inputs, same code) from one it must not: different inputs are
run again, different code is refused unless the user asks for `--rerun`. The code identity is the
sha256 of the package's own source files, which a wheel has too; the git commit and dirty flag
are kept beside it when the package lives in a git checkout (and `git` is installed).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import diffrnn

logger = logging.getLogger(__name__)

LIBRARIES = ("torch", "lightning", "diffusers")
"""Libraries whose versions are stored with every record."""
GIT_TIMEOUT_S = 10.0
HASH_CHUNK = 1 << 20
UNKNOWN_TIME = "~"
"""Sorts after every ISO time: a record without a start time counts as the latest."""
USER_OPTIONS_NOT_INPUTS = ("summary", "path", "left_out")
"""Keys of a unit's options that describe rather than shape the task: the report's summary, the
file's location (its content counts, through `data_sha256`), and the models the data leaves out
of the plan (which follow from that content)."""


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def source_sha256(package_dir: Path | None = None) -> str:
    """sha256 over the package's `*.py` files: their relative paths and bytes, in sorted order.

    Args:
        package_dir: the `diffrnn` package directory (default: the one imported).
    """
    root = package_dir or Path(diffrnn.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if "__pycache__" in relative:
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hung
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(package_dir: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout the package lives in; (None, None) outside one.

    A checkout counts only when the package is its `src/diffrnn` (an installed wheel inside some
    other repository, a virtual environment in a clone, is not that repository's code).
    """
    package = (package_dir or Path(diffrnn.__file__).parent).resolve()
    top = _git(package, "rev-parse", "--show-toplevel")
    if not top or (Path(top) / "src" / "diffrnn").resolve() != package:
        return None, None
    commit = _git(package, "rev-parse", "HEAD")
    status = _git(package, "status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def library_versions() -> dict[str, str | None]:
    """Installed versions of `LIBRARIES` (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.cache
def code_identity() -> dict[str, Any]:
    """The code a unit runs: diffrnn version, git commit + dirty flag, source sha256, libraries.

    Computed once per process (the package's source does not change under a running compare).
    """
    commit, dirty = git_state()
    return {
        "diffrnn": diffrnn.__version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "source_sha256": source_sha256(),
        **library_versions(),
    }


def same_code(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two code identities ran the same diffrnn source (None: unknown, never the same)."""
    if not a or not b:
        return False
    return a.get("source_sha256") is not None and a.get("source_sha256") == b.get("source_sha256")


def describe_code(code: dict[str, Any] | None) -> str:
    """`commit 3858da1 (dirty), source 1a2b3c4d`, or what is known of it."""
    if not code:
        return "unrecorded code (a result from before diffrnn recorded its code)"
    commit = code.get("git_commit")
    where = f"commit {commit[:7]}" if commit else "no git commit"
    if code.get("git_dirty"):
        where += " (dirty)"
    return f"{where}, source {str(code.get('source_sha256'))[:8]}"


def describe_codes(records: Iterable[dict[str, Any]], default: dict[str, Any] | None = None) -> str:
    """The code that made `records`: one description, or, after a partial rerun, each with its
    count of units, the largest share first (ties: the code that ran first leads).

    Args:
        records: result records (their "code" and "started_at").
        default: the code of a record that carries none (None: "unrecorded code").

    Returns:
        "commit 65e7c1a, source 7942f6d5 (150 units); commit 89bdbce, ... (24 units)", or "" for
        no records.
    """
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for record in records:
        code = describe_code(record.get("code") or default)
        counts[code] = counts.get(code, 0) + 1
        started = str(record.get("started_at") or UNKNOWN_TIME)
        first[code] = min(first.get(code, UNKNOWN_TIME), started)
    order = sorted(counts, key=lambda code: (-counts[code], first[code]))
    if len(order) == 1:
        return order[0]
    return "; ".join(f"{code} ({counts[code]} units)" for code in order)


def options_identity(options: dict[str, Any] | None) -> dict[str, Any]:
    """The options of a unit that shape its task, with the user's file as its sha256.

    Args:
        options: a unit's `ctx.options` (`user_data.prepare_user_data`'s result with `--data`).

    Returns:
        Every option except the report's summary and the file's path, plus `data_sha256`.
    """
    options = dict(options or {})
    identity = {k: v for k, v in options.items() if k not in USER_OPTIONS_NOT_INPUTS}
    if options.get("path") is not None and "data_sha256" not in options:  # folders: precomputed
        identity["data_sha256"] = file_sha256(options["path"])
    return identity


def unit_inputs(spec: Any, threads: int, options: dict[str, Any]) -> dict[str, Any]:
    """Everything a unit's result depends on besides the code.

    Args:
        spec: the unit (`suites.UnitSpec`).
        threads: torch threads per unit.
        options: `options_identity(...)` of the run.
    """
    return {
        "task": spec.task,
        "model": spec.model,
        "seed": spec.seed,
        "suite": spec.suite,
        "budget_s": float(spec.budget_s),
        "threads": threads,
        "options": options,
    }


def fingerprint(inputs: dict[str, Any]) -> str:
    """sha256 of `inputs` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
