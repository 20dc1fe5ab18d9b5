"""Every path a user hands the command line, checked once before anything is read or written.

    run_dir = paths.run_dir(out)              # compare --out: a new, empty or diffrnn run directory
    data = paths.input_file(data, "--data")    # an existing regular file (symlinks resolved)
    wav = paths.output_file(output, "--output")

Only regular files and directories are accepted: no device, FIFO or socket, nothing under
/proc, /sys or /dev, no symlink loop, no empty string (which would otherwise mean the current
directory). Each check resolves the path (symlinks followed) first, so what is checked is what
is then written, and returns that resolved path. A refusal is a `ConfigError`: one line naming
the option, the path, what is wrong and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from diffrnn.errors import ConfigError

SYSTEM_DIRS = ("/proc", "/sys", "/dev")
"""Pseudo-filesystems: never a place for a run, a model or a data file."""
RUN_MARKERS = ("run.json", "results.jsonl")
"""Files that make a directory a diffrnn run (which `compare --out` may resume)."""
RUN_OUTPUTS = ("report.md", "report.html", "plots", "units")
"""What `compare` writes into its run directory: a directory holding one of them without being a
run is someone else's, and `--out` refuses it rather than write over it."""
LOCK_FILE = ".lock"
"""In a run directory while a `compare` writes to it (holds the writer's pid)."""


F = TypeVar("F", bound=Callable[..., Path])


def _os_errors_are_config_errors(check: F) -> F:
    """An OSError while checking (permission denied on a parent, a name too long) -> one line."""

    @functools.wraps(check)
    def checked(value: str | os.PathLike[str], option: str = "--out") -> Path:
        try:
            return check(value, option)
        except OSError as exc:
            raise ConfigError(
                f"{option} {os.fspath(value)} cannot be used ({exc.strerror or exc}).",
                "pass another path.",
            ) from exc

    return checked  # type: ignore[return-value]


def _kind(mode: int) -> str:
    """What a file mode describes, in words."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def resolve(value: str | os.PathLike[str], option: str) -> Path:
    """`value` as an absolute path with every symlink followed, or a ConfigError.

    Refused: an empty string, a NUL byte, a symlink loop, a path under /proc, /sys or /dev.
    """
    text = os.fspath(value)
    if not text.strip():
        raise ConfigError(f"{option} is empty.", f"pass {option} a file or directory name.")
    if "\0" in text:
        raise ConfigError(f"{option} {text!r} holds a NUL byte.", "pass a plain path.")
    try:
        resolved = Path(text).resolve(strict=False)
        if resolved.is_symlink():  # still a link after resolving: it loops or cannot be read
            raise OSError(errno.ELOOP, "symlink loop")
        # stat, not exists(): Python 3.13 resolves `loop/x` to itself, and its exists() is False
        # on any error; a path still to be created has its ancestors checked where it is used
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            resolved.stat()
    except (RuntimeError, OSError) as exc:  # RuntimeError: Python 3.11's symlink loop
        loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
        why = "is a symlink loop" if loop else f"cannot be used ({exc.strerror or exc})"
        raise ConfigError(f"{option} {text} {why}.", "pass another path.") from exc
    for system in SYSTEM_DIRS:
        if resolved == Path(system) or Path(system) in resolved.parents:
            raise ConfigError(
                f"{option} {text} is under {system}, a system pseudo-filesystem.",
                "pass a path in an ordinary directory.",
            )
    return resolved


def _existing_ancestor(path: Path, option: str, text: str) -> Path:
    """The nearest existing directory above `path`, checked to be a writable directory."""
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(
            f"{option} {text} lies under {ancestor}, which is {_kind(ancestor.stat().st_mode)}.",
            "pass a path under a directory.",
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {text}: {ancestor} is not writable.", "pass another path.")
    return ancestor


@_os_errors_are_config_errors
def output_dir(value: str | os.PathLike[str], option: str = "--out") -> Path:
    """A directory to write into: existing (and writable) or creatable. Returns it resolved."""
    text = os.fspath(value)
    path = resolve(value, option)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(
                f"{option} {text} is {_kind(path.stat().st_mode)}, not a directory.",
                f"pass {option} a new or existing directory.",
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{option} {text} is not writable.", "pass another directory.")
    else:
        _existing_ancestor(path, option, text)
    return path


@_os_errors_are_config_errors
def run_dir(value: str | os.PathLike[str], option: str = "--out") -> Path:
    """A `compare` run directory: new, empty, or a diffrnn run (resumed). Returns it resolved.

    Refused besides `output_dir`'s cases: a directory holding a report.md or report.html that no
    run made (they would be overwritten), and a run's results.jsonl or run.json that is not a
    regular file (a symlink would have its target appended to or truncated).
    """
    path = output_dir(value, option)
    if path == Path(path.anchor):
        raise ConfigError(f"{option} {os.fspath(value)} is the filesystem root.", "pass a folder.")
    if not path.exists():
        return path
    is_run = any((path / name).exists() or (path / name).is_symlink() for name in RUN_MARKERS)
    theirs = [name for name in RUN_OUTPUTS if (path / name).exists()]
    if theirs and not is_run:
        raise ConfigError(
            f"{option} {os.fspath(value)} holds {theirs[0]} but is not a diffrnn run directory "
            "(no run.json or results.jsonl): compare would overwrite it.",
            "pass --out a new or empty directory.",
        )
    for name in RUN_MARKERS:
        check_run_file(path / name)
    return path


def check_run_file(path: Path) -> None:
    """A run's own file (results.jsonl, run.json) is absent or a regular file, never a link."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise ConfigError(
            f"{path} is a symbolic link: diffrnn appends to and rewrites this file in place.",
            "replace the link with a copy of the file, or choose another run directory.",
        )
    if not stat.S_ISREG(mode):
        raise ConfigError(
            f"{path} is {_kind(mode)}, not a regular file.", "move it away, or choose another run."
        )


@_os_errors_are_config_errors
def input_file(value: str | os.PathLike[str], option: str) -> Path:
    """An existing regular file to read (symlinks followed). Returns it resolved."""
    text = os.fspath(value)
    path = resolve(value, option)
    if not path.exists():
        raise ConfigError(f"No file at {text} ({option}).", "check the path.")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{option} {text} is {_kind(mode)}, not a regular file.", "pass a file.")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{option} {text} is not readable.", "check its permissions.")
    return path


@_os_errors_are_config_errors
def input_dir(value: str | os.PathLike[str], option: str) -> Path:
    """An existing directory to read (symlinks followed). Returns it resolved."""
    text = os.fspath(value)
    path = resolve(value, option)
    if not path.exists():
        raise ConfigError(f"{option} {text}: no such directory.", "check the path.")
    if not path.is_dir():
        raise ConfigError(
            f"{option} {text} is {_kind(path.stat().st_mode)}, not a directory.",
            "pass a directory.",
        )
    return path


@_os_errors_are_config_errors
def output_file(value: str | os.PathLike[str], option: str) -> Path:
    """A file to write: absent (its directory existing or creatable) or a regular file."""
    text = os.fspath(value)
    path = resolve(value, option)
    if path.exists():
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(
                f"{option} {text} is {_kind(mode)}, not a regular file.", "pass a file name."
            )
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{option} {text} is not writable.", "pass another file name.")
    else:
        _existing_ancestor(path, option, text)
    return path


def file_inside(root: str | os.PathLike[str], relative: str | os.PathLike[str]) -> Path | None:
    """`root / relative` resolved, if it is a regular file that stays inside `root` once every
    symlink is followed; else None.

    For what a run directory names (a unit's artefacts, inlined into report.html): a link in the
    run pointing at /etc/passwd, a key or a device is never read into a report.
    """
    try:
        base = Path(root).resolve(strict=True)
        target = (base / relative).resolve(strict=True)
        if not target.is_relative_to(base) or not stat.S_ISREG(target.stat().st_mode):
            return None
    except (OSError, RuntimeError):  # missing, unreadable, a loop (RuntimeError on 3.11)
        return None
    return target


@contextlib.contextmanager
def locked_run(directory: Path) -> Iterator[Path]:
    """Hold `directory`'s lock (created with the directory) while a `compare` writes to it.

    `flock` on `directory/.lock`, which holds the writer's pid; the kernel releases it when the
    process ends, however it ends. A lock file created here in a directory that did not become a
    run (the command stopped before writing anything) is removed again, and so is the directory
    if it was created here too.

    Raises:
        ConfigError: another process holds the lock (its pid is named).
    """
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK_FILE
    lock_created = not lock.exists()
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise ConfigError(
                f"{directory} is in use by another diffrnn compare (pid {holder}).",
                "wait for it to finish, or pass another --out.",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield directory
        finally:
            if lock_created and not any((directory / name).exists() for name in RUN_MARKERS):
                lock.unlink(missing_ok=True)
                if created and not any(directory.iterdir()):
                    directory.rmdir()
    finally:
        os.close(fd)
