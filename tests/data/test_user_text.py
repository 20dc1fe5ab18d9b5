"""The user's text as a corpus: the split, the tokens, and the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffrnn.data.user_text import (
    LONGEST_CONTEXT,
    MIN_TOKENS,
    MIN_VAL_BLOCKS,
    ByteCorpus,
    load_user_text,
)
from diffrnn.errors import DataError

PROSE = "The quick brown fox jumps over the lazy dog; naïve café, 5 €.\n"


def _text(n_chars: int) -> str:
    return (PROSE * (n_chars // len(PROSE) + 1))[:n_chars]


def test_chars_split_contiguously_90_10_and_round_trip(tmp_path: Path) -> None:
    text = _text(20_000)
    (tmp_path / "book.txt").write_text(text, encoding="utf-8")
    corpus, notes = load_user_text(tmp_path / "book.txt")
    assert corpus.train_ids.shape == (18_000,) and corpus.val_ids.shape == (2_000,)
    assert corpus.train_ids.dtype == np.int64
    assert corpus.vocab == tuple(sorted(set(text))) and notes == []
    assert corpus.decode(corpus.train_ids) + corpus.decode(corpus.val_ids) == text
    assert corpus.val_text == text[18_000:]  # the last 10%, contiguous


def test_bytes_take_any_encoding_and_decode_back_to_text(tmp_path: Path) -> None:
    text = _text(12_000)
    (tmp_path / "latin.txt").write_bytes(text.replace("€", "E").encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 \(byte 0xef at offset 47\)") as info:
        load_user_text(tmp_path / "latin.txt")
    assert "iconv" in info.value.fix and "--tokens bytes" in info.value.fix
    corpus, _ = load_user_text(tmp_path / "latin.txt", tokens="bytes")
    assert isinstance(corpus, ByteCorpus) and corpus.vocab_size <= 256
    (tmp_path / "utf8.txt").write_text(text, encoding="utf-8")
    corpus, _ = load_user_text(tmp_path / "utf8.txt", tokens="bytes")
    n = len(text.encode("utf-8"))
    assert len(corpus.train_ids) + len(corpus.val_ids) == n
    assert corpus.decode(corpus.encode("naïve café")) == "naïve café"


def test_a_folder_joins_its_txt_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text(_text(6_000))
    (tmp_path / "a.txt").write_text("A" * 6_000)
    (tmp_path / "skip.md").write_text("Z" * 10)
    corpus, notes = load_user_text(tmp_path)
    whole = corpus.decode(corpus.train_ids) + corpus.decode(corpus.val_ids)
    assert whole == "A" * 6_000 + "\n\n" + _text(6_000)
    assert notes == ["2 files joined in name order"]


def test_too_small_a_corpus_names_the_minimum(tmp_path: Path) -> None:
    (tmp_path / "short.txt").write_text(_text(MIN_TOKENS - 1))
    with pytest.raises(DataError, match=f"needs at least {MIN_TOKENS:,}") as info:
        load_user_text(tmp_path / "short.txt")
    assert f"holds {MIN_TOKENS - 1:,} characters" in str(info.value)
    (tmp_path / "short.txt").write_text(_text(MIN_TOKENS))
    corpus, _ = load_user_text(tmp_path / "short.txt")
    assert corpus.val_ids.size >= MIN_VAL_BLOCKS * LONGEST_CONTEXT


def test_an_empty_folder_and_an_unreadable_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no \.txt files"):
        load_user_text(tmp_path)
    locked = tmp_path / "locked.txt"
    locked.write_text(_text(MIN_TOKENS))
    locked.chmod(0)
    try:
        if locked.open("rb"):  # root reads anything: nothing to test then
            pytest.skip("running as root")
    except PermissionError:
        with pytest.raises(DataError, match="cannot be read"):
            load_user_text(locked)
    finally:
        locked.chmod(0o644)
