"""The user's own text as a corpus for the language models (`compare --data corpus.txt`).

    corpus = load_user_text(Path("book.txt"), tokens="chars")   # a CharCorpus, 90/10 split

A `.txt` file, or a folder of them (read in sorted order, one blank line between files), UTF-8
only (a BOM is dropped): with `tokens="chars"` the vocabulary is the text's characters, as on
Tiny Shakespeare; with `tokens="bytes"` it is the UTF-8 bytes (any encoding is then accepted: a
byte is a byte). The split is contiguous: the first 90% trains, the last 10% is validation, so no
validation character has been seen in context during training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from diffrnn.data.text import TRAIN_FRACTION, CharCorpus
from diffrnn.data.user_kinds import TEXT_SUFFIXES, list_files
from diffrnn.errors import DataError

Tokens = Literal["chars", "bytes"]
TOKENS: tuple[str, ...] = get_args(Tokens)
LONGEST_CONTEXT = 128
"""The longest block a model of the text task reads (the full suite's MDLM and TBPTT length)."""
MIN_VAL_BLOCKS = 8
"""Validation blocks of LONGEST_CONTEXT the validation split must hold at least."""
MIN_TOKENS = round(MIN_VAL_BLOCKS * LONGEST_CONTEXT / (1 - TRAIN_FRACTION))
"""Smallest corpus (10,240 tokens): its last 10% holds MIN_VAL_BLOCKS blocks of the context."""
MAX_BYTES = 200_000_000
"""Largest corpus read (the ids take 8 bytes a token in memory)."""
MAX_VOCAB = 5000
"""Most distinct characters: beyond it the softmax dominates and the text is rarely prose."""
_CONVERT = (
    "convert it to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8 FILE > FILE.utf8), or pass "
    "--tokens bytes to model its raw bytes"
)


@dataclass(frozen=True, eq=False)
class ByteCorpus(CharCorpus):
    """A corpus of UTF-8 bytes: `vocab` holds each byte as the Latin-1 character of its value,
    `encode` takes text (its UTF-8 bytes) and `decode` gives text back (invalid bytes replaced)."""

    def encode(self, text: str) -> np.ndarray:
        """Ids of the UTF-8 bytes of `text`, (n_bytes,) int64; unknown bytes raise."""
        return super().encode(text.encode("utf-8").decode("latin-1"))

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """The text of a sequence of byte ids (a cut multi-byte character is replaced)."""
        raw = super().decode(ids).encode("latin-1")
        return raw.decode("utf-8", errors="replace")


def _read(path: Path, root: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DataError(
                f"{path} is {size:,} bytes; the text task reads at most {MAX_BYTES:,}.",
                "pass a shorter text (its first part, e.g. head -c 100M).",
            )
        return path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"{path} cannot be read ({exc.strerror or exc}).", "check its permissions."
        ) from None


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name} is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start:,}).", _CONVERT
        ) from None


def read_text_bytes(path: Path) -> tuple[bytes, list[str]]:
    """The bytes of a .txt file or of a folder's .txt files joined by blank lines, and notes.

    Raises:
        DataError: an empty folder, an unreadable file, a corpus over MAX_BYTES.
    """
    if not path.is_dir():
        return _read(path, path.parent), []
    files = [p for p, _ in list_files(path, TEXT_SUFFIXES)]
    if not files:
        raise DataError(f"--data {path} holds no .txt files.", "put the text in .txt files.")
    parts, total = [], 0
    for file in files:
        parts.append(_read(file, path))
        total += len(parts[-1])
        if total > MAX_BYTES:
            raise DataError(
                f"the .txt files of {path} hold more than {MAX_BYTES:,} bytes.",
                "pass a folder with fewer of them.",
            )
    return b"\n\n".join(parts), [f"{len(files)} files joined in name order"]


def load_user_text(path: Path, tokens: Tokens = "chars") -> tuple[CharCorpus, list[str]]:
    """The user's text as a `CharCorpus` split 90/10, and notes for the report.

    Args:
        path: a .txt file or a folder of .txt files (resolved).
        tokens: "chars" (UTF-8 characters) or "bytes" (UTF-8 bytes, any encoding accepted).

    Returns:
        The corpus (`train_ids` (T_train,), `val_ids` (T_val,) int64; a `ByteCorpus` for bytes)
        and the loader's notes.

    Raises:
        DataError: not UTF-8 (with chars), fewer than MIN_TOKENS tokens, more than MAX_VOCAB
            distinct characters, unreadable or too large.
    """
    if tokens not in TOKENS:
        raise DataError(f"--tokens must be one of {', '.join(TOKENS)}, got {tokens!r}.", "")
    raw, notes = read_text_bytes(path)
    if tokens == "chars":
        text = _decode(raw, str(path))
        if raw.startswith(b"\xef\xbb\xbf"):
            notes.append("a UTF-8 byte-order mark was dropped")
    else:
        text = raw.decode("latin-1")  # one character per byte: the byte's value
    if len(text) < MIN_TOKENS:
        unit = "characters" if tokens == "chars" else "bytes"
        raise DataError(
            f"{path} holds {len(text):,} {unit}; the text task needs at least {MIN_TOKENS:,} "
            f"(its last 10% must hold {MIN_VAL_BLOCKS} blocks of {LONGEST_CONTEXT}, the longest "
            "context).",
            "give a longer text (or join several files in a folder).",
        )
    vocab = tuple(sorted(set(text)))
    if len(vocab) > MAX_VOCAB:
        raise DataError(
            f"{path} uses {len(vocab):,} distinct characters; the character models take at "
            f"most {MAX_VOCAB:,}.",
            "pass --tokens bytes (at most 256 symbols).",
        )
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (T,)
    lookup = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    lookup[[ord(ch) for ch in vocab]] = np.arange(len(vocab))
    ids = lookup[codes]
    n_train = int(len(text) * TRAIN_FRACTION)
    kind = ByteCorpus if tokens == "bytes" else CharCorpus
    corpus = kind(
        train_text=text[:n_train],
        val_text=text[n_train:],
        vocab=vocab,
        train_ids=ids[:n_train],
        val_ids=ids[n_train:],
    )
    return corpus, notes
