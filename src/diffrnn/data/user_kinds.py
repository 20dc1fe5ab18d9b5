"""What the user's `--data` holds: series, text, images, audio or a graph, and its files listed.

    kind, why = detect_kind(Path("corpus/"), graph=None)   # ("text", "a folder of 12 .txt files")
    files = list_files(Path("photos/"), IMAGE_SUFFIXES)      # every image, class folders included

A file is recognised by its suffix (a `.txt` that reads as a delimited table of numbers is a
series, as `compare --data` has always read it); a folder by the files in it and in its
subfolders one level down (class folders). `--graph edges.csv`, or a folder holding `edges.csv`
beside one other table, makes a graph. `--kind` replaces the guess. Listing a folder refuses what
would otherwise surprise later: a symlink leading out of it, a name that is not UTF-8, a folder
with nothing of the kind in it. Every refusal is a `DataError` naming the path and the fix.
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from pathlib import Path
from typing import Literal, get_args

from diffrnn.errors import DataError

Kind = Literal["series", "text", "images", "audio", "graph"]
KINDS: tuple[str, ...] = get_args(Kind)
TEXT_SUFFIXES = (".txt",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
AUDIO_SUFFIXES = (".wav", ".flac")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
EDGES_FILE = "edges.csv"
"""The edge list a graph folder holds beside its node table."""
MAX_FILES = 1_000_000
"""Most files a folder may list (a typo such as `--data /` stops here, not after an hour)."""
SNIFF_LINES = 5
"""Lines of a `.txt` file read to tell a delimited table from prose."""
_DELIMITERS = (",", ";", "\t", "|")
_KIND_OF_SUFFIX = {
    **dict.fromkeys(TEXT_SUFFIXES, "text"),
    **dict.fromkeys(IMAGE_SUFFIXES, "images"),
    **dict.fromkeys(AUDIO_SUFFIXES, "audio"),
    **dict.fromkeys(TABLE_SUFFIXES, "series"),
}
_READS = (
    "compare --data reads a CSV/Parquet table (series), a .txt file or folder of them (text), a "
    "folder of PNG/JPEG (images) or of WAV/FLAC in class folders (audio), or a table with "
    "--graph edges.csv (graph)"
)


def check_kind(kind: str) -> Kind:
    """`kind` checked against KINDS (a DataError naming the allowed values)."""
    if kind not in KINDS:
        raise DataError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}.", "")
    return kind  # type: ignore[return-value]


def _name_ok(path: Path, root: Path) -> None:
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(
            f"{str(path.relative_to(root))!a} in {root} has a name that is not UTF-8.",
            "rename it (e.g. convmv -f latin1 -t utf-8 --notest -r DIR).",
        ) from None


def _inside(path: Path, root: Path) -> None:
    try:
        target = path.resolve()
        if target.is_symlink():  # still a link after resolving: Python 3.13's symlink loop
            raise OSError(errno.ELOOP, "symlink loop")
    except (RuntimeError, OSError) as exc:  # RuntimeError: Python 3.11's symlink loop
        raise DataError(
            f"{path} is a symlink that loops or cannot be followed ({exc}).",
            "remove it from the folder, or point --data at a folder without it.",
        ) from None
    if target != root and root not in target.parents:
        raise DataError(
            f"{path} is a symlink leading out of {root} (to {target}).",
            "copy the file into the folder, or point --data at a folder that holds it.",
        )


def _entries(folder: Path, root: Path) -> list[Path]:
    """The entries of `folder`, sorted, each checked (UTF-8 name, no symlink out of `root`)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise DataError(
            f"{folder} cannot be listed ({exc.strerror or exc}).", "check its permissions."
        ) from None
    out = []
    for name in names:
        path = folder / name
        _name_ok(path, root)
        if path.is_symlink():
            _inside(path, root)
        out.append(path)
    return out


def list_files(
    root: Path, suffixes: tuple[str, ...], depth: int = 1
) -> list[tuple[Path, str | None]]:
    """The files of `root` with one of `suffixes` (case ignored), sorted, with their class folder.

    Args:
        root: a folder (resolved).
        suffixes: e.g. IMAGE_SUFFIXES.
        depth: subfolder levels listed (1: root and its class folders).

    Returns:
        (path, class) pairs; class is the subfolder's name, None for files directly in `root`.
        Hidden entries (a leading dot) are skipped.

    Raises:
        DataError: a name that is not UTF-8, a symlink leading out of `root`, a folder that
            cannot be listed, more than MAX_FILES files.
    """
    found: list[tuple[Path, str | None]] = []

    def walk(folder: Path, label: str | None, level: int) -> None:
        for path in _entries(folder, root):
            if path.name.startswith("."):
                continue
            if path.is_dir() and level < depth:
                walk(path, path.name if label is None else label, level + 1)
            elif path.is_file() and path.suffix.lower() in suffixes:
                found.append((path, label))
                if len(found) > MAX_FILES:
                    raise DataError(
                        f"{root} holds more than {MAX_FILES:,} files.",
                        "point --data at a smaller folder.",
                    )

    walk(root, None, 0)
    return found


def _looks_like_table(path: Path) -> bool:
    """A `.txt` whose first lines split on one delimiter into the same number of fields, and
    whose second line holds a number beyond its first field (a CSV saved as .txt)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [handle.readline(10_000).rstrip("\r\n") for _ in range(SNIFF_LINES)]
    except OSError:
        return False
    lines = [line for line in lines if line]
    if len(lines) < 2:
        return False
    for sep in _DELIMITERS:
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            for field in lines[1].split(sep)[1:]:
                try:
                    float(field)
                    return True
                except ValueError:
                    continue
    return False


def _folder_kind(root: Path) -> tuple[Kind, str]:
    counts: Counter[str] = Counter()
    tables = []
    for path in _entries(root, root):
        if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
            tables.append(path.name)
    if EDGES_FILE in tables and len(tables) == 2:
        return "graph", f"a folder holding {EDGES_FILE} and a node table"
    for path, _ in list_files(root, tuple(_KIND_OF_SUFFIX)):
        counts[_KIND_OF_SUFFIX[path.suffix.lower()]] += 1
    counts.pop("series", None)  # tables in a folder only make a graph
    if not counts:
        raise DataError(
            f"--data {root} holds no .txt, PNG/JPEG or WAV/FLAC files (tables: "
            f"{', '.join(tables) or 'none'}).",
            _READS + "; or pass --kind.",
        )
    if len(counts) > 1:
        found = ", ".join(f"{n} {k}" for k, n in counts.most_common())
        raise DataError(
            f"--data {root} mixes kinds of files ({found}).",
            "keep one kind per folder, or pass --kind text|images|audio to read only those.",
        )
    kind, n = counts.most_common(1)[0]
    what = {"text": ".txt", "images": "image", "audio": "audio"}[kind]
    return kind, f"a folder of {n} {what} file{'s' * (n > 1)}"  # type: ignore[return-value]


def detect_kind(path: Path, graph: Path | None = None) -> tuple[Kind, str]:
    """What `path` holds, and why that was concluded (for the report).

    Args:
        path: the user's `--data`, resolved (a file or a folder).
        graph: the `--graph` edge list, when given.

    Raises:
        DataError: nothing recognisable, or files of several kinds in one folder.
    """
    if path.is_dir():
        kind, why = _folder_kind(path)
        if graph is not None and kind != "graph":
            raise DataError(
                f"--graph is given, but --data {path} is {why}, not a node table.",
                "pass --data a node-by-time table (CSV/Parquet) with --graph.",
            )
        return kind, why
    suffix = path.suffix.lower()
    if graph is not None:
        if suffix not in (*TABLE_SUFFIXES, ".txt"):
            raise DataError(
                f"--graph needs --data to be a node-by-time table, got {path.name}.",
                "pass --data a CSV or Parquet table of the nodes' series.",
            )
        return "graph", f"a table with --graph {graph.name}"
    if suffix == ".txt":
        if _looks_like_table(path):
            return "series", "a .txt file that reads as a delimited table"
        return "text", "a .txt file"
    if suffix in TABLE_SUFFIXES:
        return "series", f"a {suffix} table"
    raise DataError(
        f"--data {path.name}: {suffix or 'no suffix'} is not a kind of data known.", _READS + "."
    )
