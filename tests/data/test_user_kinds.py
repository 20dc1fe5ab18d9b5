"""What `compare --data` recognises in a path, and the folder listing's refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from diffrnn.data.user_kinds import IMAGE_SUFFIXES, detect_kind, list_files
from diffrnn.errors import DataError


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        ({"a.txt": b"Call me Ishmael. Some years ago\nnever mind how long\n"}, "text"),
        ({"one/a.png": b"", "two/b.JPG": b""}, "images"),
        ({"a.png": b"", "b.jpeg": b""}, "images"),
        ({"yes/a.wav": b"", "no/b.flac": b""}, "audio"),
        ({"nodes.csv": b"", "edges.csv": b""}, "graph"),
    ],
)
def test_a_folder_is_recognised_by_its_files(
    tmp_path: Path, files: dict[str, bytes], kind: str
) -> None:
    for name, data in files.items():
        _touch(tmp_path / name, data)
    assert detect_kind(tmp_path)[0] == kind


def test_a_file_is_recognised_by_its_suffix_and_a_csv_saved_as_txt_stays_a_series(
    tmp_path: Path,
) -> None:
    prose = _touch(tmp_path / "book.txt", b"It was a dark and stormy night; the rain fell.\n" * 3)
    table = _touch(tmp_path / "sales.txt", b"date,shop\n2025-01-01,3.5\n2025-01-02,4\n")
    csv = _touch(tmp_path / "sales.csv", b"date,shop\n")
    assert detect_kind(prose) == ("text", "a .txt file")
    assert detect_kind(table)[0] == "series"
    assert detect_kind(csv)[0] == "series"
    assert detect_kind(csv, graph=tmp_path / "edges.csv")[0] == "graph"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "holds no .txt, PNG/JPEG or WAV/FLAC files"),
        ({"a.txt": b"", "b.png": b""}, "mixes kinds of files (1 text, 1 images)"),
        ({"notes.md": b""}, "holds no .txt"),
    ],
)
def test_a_folder_without_one_kind_is_refused_naming_what_it_holds(
    tmp_path: Path, files: dict[str, bytes], message: str
) -> None:
    for name, data in files.items():
        _touch(tmp_path / name, data)
    with pytest.raises(DataError, match=r"\(--data|--data") as info:
        detect_kind(tmp_path)
    assert message in str(info.value) and "--kind" in str(info.value)


def test_an_unknown_suffix_is_refused_with_what_is_read(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a kind of data known") as info:
        detect_kind(_touch(tmp_path / "model.pkl"))
    assert ".txt file" in info.value.fix and "--graph" in info.value.fix


def test_listing_gives_class_folders_and_refuses_symlinks_out_and_non_utf8_names(
    tmp_path: Path,
) -> None:
    root = tmp_path / "photos"
    _touch(root / "cat" / "1.png")
    _touch(root / "dog" / "2.PNG")
    _touch(root / "3.jpg")
    _touch(root / ".hidden.png")
    assert [(p.name, c) for p, c in list_files(root, IMAGE_SUFFIXES)] == [
        ("3.jpg", None),
        ("1.png", "cat"),
        ("2.PNG", "dog"),
    ]
    (root / "inside.png").symlink_to(root / "3.jpg")  # a link within the folder is fine
    assert len(list_files(root, IMAGE_SUFFIXES)) == 4
    outside = _touch(tmp_path / "secret.png")
    (root / "cat" / "out.png").symlink_to(outside)
    with pytest.raises(DataError, match="symlink leading out of"):
        list_files(root, IMAGE_SUFFIXES)
    (root / "cat" / "out.png").unlink()
    bad = os.fsencode(root / "dog") + b"/caf\xe9.png"
    with open(bad, "wb") as handle:
        handle.write(b"x")
    with pytest.raises(DataError, match="not UTF-8") as info:
        list_files(root, IMAGE_SUFFIXES)
    assert "rename it" in info.value.fix
