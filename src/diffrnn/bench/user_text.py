"""The `lm-user` task: the user's own text, as lm-shakespeare measures Tiny Shakespeare.

    options = prepare_user_text(Path("book.txt"), tokens="chars")  # checks, states the split
    corpus = user_corpus(options)                                   # in each unit

The language units run unchanged on the user's corpus (`units/user_text.py`): exact nats/char for
the autoregressive models and the n-gram, the MDLM bound for the masked diffusion models, both
also on the same independent validation blocks; samples from each model in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diffrnn.data.text import TRAIN_FRACTION

TASK = "lm-user"
PROMPT_CHARS = 16
"""Samples continue the first characters of the validation split."""


def user_corpus(options: dict[str, Any]) -> Any:
    """The user's `CharCorpus` from a unit's `ctx.options`."""
    from diffrnn.data.user_text import load_user_text

    corpus, _ = load_user_text(Path(options["path"]), options["tokens"])
    return corpus


def prompt_of(corpus: Any) -> str:
    """The text samples start from: PROMPT_CHARS characters of the validation split, from the
    first line that starts with a letter (else from its start)."""
    import re

    from diffrnn.data.user_text import ByteCorpus

    text = corpus.val_text
    if isinstance(corpus, ByteCorpus):  # whole characters only: `encode` takes text
        text = text.encode("latin-1").decode("utf-8", errors="ignore")
    line = re.search(r"(?m)^[^\W\d_]", text)
    start = line.start() if line else 0
    return text[start : start + PROMPT_CHARS]


def prepare_user_text(path: Path, tokens: str = "chars") -> dict[str, Any]:
    """Check the user's text once, before any unit runs; the units' options with a summary.

    Args:
        path: a .txt file or a folder of .txt files (resolved).
        tokens: "chars" or "bytes".

    Raises:
        DataError: see `diffrnn.data.user_text.load_user_text`.
    """
    from diffrnn.bench.user_kinds import content_sha256
    from diffrnn.data.user_kinds import TEXT_SUFFIXES, list_files
    from diffrnn.data.user_text import load_user_text

    corpus, notes = load_user_text(path, tokens)  # type: ignore[arg-type]
    files = [p for p, _ in list_files(path, TEXT_SUFFIXES)] if path.is_dir() else [path]
    unit = "characters" if tokens == "chars" else "bytes"
    n_train, n_val = len(corpus.train_ids), len(corpus.val_ids)
    summary = {
        "file": str(path),
        "tokens": f"{tokens}: {corpus.vocab_size} distinct {unit}"
        + ("; nats_per_char below reads nats per byte" if tokens == "bytes" else ""),
        "split": f"contiguous: the first {TRAIN_FRACTION:.0%} ({n_train:,} {unit}) train, the "
        f"last {1 - TRAIN_FRACTION:.0%} ({n_val:,}) validate",
        "samples": f"each model continues {prompt_of(corpus)!r}, from the validation split",
        "loader notes": "; ".join(notes) or "none",
    }
    return {
        "task": TASK,
        "kind": "text",
        "path": str(path),
        "tokens": tokens,
        "data_sha256": content_sha256(files, path if path.is_dir() else path.parent),
        "summary": summary,
    }
