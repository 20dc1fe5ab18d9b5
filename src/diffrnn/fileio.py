"""Crash-safe file writes: a kill at any moment leaves either the old file or the new one.

    atomic_write_json(out / "results.json", results)
    append_json_line(out / "runs.jsonl", {"unit": "deepar", "crps": 0.01})

A write goes to a temporary file in the target's directory (same filesystem, so the rename is
atomic), is flushed and fsynced, then `os.replace`d over the target; the directory is fsynced so
the rename itself survives a power cut. Appends write one whole line with a single `write` call on
an `O_APPEND` descriptor and fsync it; a reader skips a torn last line (`read_json_lines`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from diffrnn.errors import StorageError

FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
"""errno values meaning there is no room for the write (disk, file-size limit, quota)."""


def _no_room(exc: OSError, path: str | Path, what: str) -> StorageError:
    """The one-line error for a write that did not fit."""
    return StorageError(
        f"could not write {path}: {exc.strerror or exc} ({what}).",
        "free some disk space (or raise the file-size limit or quota) and run the same command "
        "again.",
    )


def fsync_directory(directory: str | Path) -> None:
    """Flush a directory's entries (renames, new files) to disk; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on a clean exit it atomically replaces `path`.

    If the block raises (or the process dies), `path` keeps its previous content and the
    temporary file is removed (or, after a kill, left as a hidden `.name.*.tmp` file).

    Args:
        path: the final location.
        mode: "wb" or "w" (text, UTF-8).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():  # keep the permissions of the file being replaced
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in FULL:
            raise _no_room(exc, target, "its previous version is kept") from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def atomic_write_texts(texts: dict[str | Path, str]) -> list[Path]:
    """Write several UTF-8 files that belong together (a report's Markdown and HTML), so that
    either every one is replaced or none is: all are written and fsynced to temporary files
    first, and renamed into place only when every write succeeded.

    Raises:
        StorageError: a write did not fit; every target keeps its previous version.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in texts.items():
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
            staged.append((Path(tmp_name), target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
            os.chmod(tmp_name, mode)
    except BaseException as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in FULL:
            where = staged[-1][1] if staged else "the files"
            raise _no_room(exc, where, "every file keeps its previous version") from exc
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    for directory in {target.parent for _, target in staged}:
        fsync_directory(directory)
    return [target for _, target in staged]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (temp file, fsync, rename, fsync of the directory)."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(
    path: str | Path, obj: Any, indent: int | None = 2, allow_nan: bool = False
) -> Path:
    """Write `obj` as JSON to `path` atomically.

    NaN/inf are refused unless `allow_nan` (they are not standard JSON; many readers reject them).
    """
    text = json.dumps(obj, indent=indent, allow_nan=allow_nan)
    return atomic_write_text(path, text + "\n")


def atomic_write_with(path: str | Path, writer: Callable[[str], Any]) -> Path:
    """Atomically create `path` with a library that insists on writing to a file name itself.

    `writer(tmp_path)` writes the whole file (e.g. `safetensors.torch.save_model(m, tmp_path)`);
    it is then fsynced and moved into place.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        writer(tmp_name)
        with open(tmp_name, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp made it 0600 whatever the umask
        os.replace(tmp_name, target)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in FULL:
            raise _no_room(exc, target, "its previous version is kept") from exc
        raise
    fsync_directory(target.parent)
    return target


def append_json_line(path: str | Path, obj: Any, allow_nan: bool = False) -> None:
    """Append `obj` as one JSON line to `path` and fsync it.

    The line is written with one `write` on an `O_APPEND` descriptor, so concurrent appenders
    do not interleave within a line (for lines under the pipe/page size) and a kill leaves at
    worst a torn final line, which `read_json_lines` skips. A short write (a file-size limit
    reached mid-line) is continued; one that cannot finish (disk full, quota, size limit) cuts
    the partial line off again and raises.

    Raises:
        StorageError: the line did not fit; the file is as it was.
    """
    line = (json.dumps(obj, allow_nan=allow_nan, separators=(",", ":")) + "\n").encode("utf-8")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    created = not target.exists()
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        start = os.fstat(fd).st_size
        written = 0
        try:
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        except OSError as exc:
            if written and os.fstat(fd).st_size == start + written:  # nobody appended since
                os.ftruncate(fd, start)
            if exc.errno in FULL:
                raise _no_room(exc, target, "the file is as it was") from exc
            raise
    finally:
        os.close(fd)
    if created:
        fsync_directory(target.parent)


def read_json_lines(path: str | Path) -> list[Any]:
    """The complete JSON lines of `path` (a torn or unreadable line is skipped); [] if absent."""
    target = Path(path)
    if not target.exists():
        return []
    records = []
    for raw in target.read_bytes().splitlines():
        try:
            records.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return records


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, does not): a writer's
    leftovers are cleared once it is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
"""Table files `atomic_write_table` writes: CSV, or Parquet by the extension."""


def atomic_write_table(path: str | Path, frame: Any) -> Path:
    """Write a pandas DataFrame atomically: Parquet for `.parquet` / `.pq`, else CSV (no index)."""
    if Path(path).suffix.lower() in (".parquet", ".pq"):
        return atomic_write_with(path, lambda name: frame.to_parquet(name, index=False))
    return atomic_write_with(path, lambda name: frame.to_csv(name, index=False))
