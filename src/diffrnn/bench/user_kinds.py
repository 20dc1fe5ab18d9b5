"""`compare --data` for every kind: recognise what PATH holds and prepare its task's options.

    options = prepare_data(Path("book.txt"), kind=None, tokens="chars")
    options["task"], options["summary"]["kind"]        # "lm-user", "text (inferred: a .txt file)"

Series keep `user_data.prepare_user_data` (the CLI calls it as before); the other kinds each have
a `prepare_*` in a module of their own, returning the units' `ctx.options`: the task to run, the
path and the content's sha256 (resume refuses a run whose data changed), the kind's settings, and
a "summary" the report shows under "Your data".
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from diffrnn.data.user_kinds import Kind, check_kind, detect_kind


def content_sha256(paths: list[Path], root: Path) -> str:
    """sha256 over the files' names (relative to `root`) and bytes, in the order given."""
    from diffrnn.bench.provenance import file_sha256

    digest = hashlib.sha256()
    for path in paths:
        name = str(path.relative_to(root)) if path != root else path.name
        digest.update(f"{name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def resolve_kind(path: Path, kind: str | None, graph: Path | None) -> tuple[Kind, str]:
    """The kind of `path` (`kind` when given) and the report's line saying how it was chosen."""
    if kind is not None:
        return check_kind(kind), f"{kind} (--kind)"
    found, why = detect_kind(path, graph)
    return found, f"{found} (inferred: {why})"


def prepare_data(path: Path, kind: Kind, stated: str, **settings: Any) -> dict[str, Any]:
    """The options of the task built from `path` as data of `kind` (not series).

    Args:
        path: the user's `--data`, resolved.
        kind: from `resolve_kind`; `stated` its report line.
        **settings: the kind's options (text: tokens; images: size; graph: edges, horizon,
            context and the series loader's options).

    Raises:
        DataError: the data cannot make the kind's task (each loader's messages).
        ConfigError: a kind that has no task yet.
    """
    from diffrnn.errors import ConfigError

    if kind == "text":
        from diffrnn.bench.user_text import prepare_user_text

        options = prepare_user_text(path, **settings)
    elif kind == "images":
        from diffrnn.bench.user_images import prepare_user_images

        options = prepare_user_images(path, **settings)
    elif kind == "audio":
        from diffrnn.bench.user_audio import prepare_user_audio

        options = prepare_user_audio(path, **settings)
    elif kind == "graph":
        from diffrnn.bench.user_graph import prepare_user_graph

        options = prepare_user_graph(path, **settings)
    else:
        raise ConfigError(
            f"--data {path.name} holds {kind}, which compare --data does not run yet.",
            "pass --kind with another kind, or convert the data.",
        )
    options["summary"] = {"kind": stated, **options["summary"]}
    return options
