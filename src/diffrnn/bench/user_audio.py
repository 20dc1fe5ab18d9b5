"""The `speech-user` task: the user's class folders of recordings, recognised as speech-fsdd.

    options = prepare_user_audio(Path("words/"))   # survey, split, summary
    data = user_speech(options)                     # in each unit: log-mel features and split

Each recording becomes 100 log-mel frames (1 s at a 10 ms hop, padded or cut, its true length
masking the pooling) exactly as on FSDD, after `diffrnn.data.user_audio` has made it mono at
8 kHz. The split holds out whole file-name prefixes (speakers) when the names carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

TASK = "speech-user"
SPLIT_SEED = 0


@dataclass(frozen=True, eq=False)
class UserSpeech:
    """`data` = (features (N, 100, 40), lengths (N,), labels (N,)) tensors; `train`, `test`
    index arrays; `classes` the class names; `split` how the test was chosen."""

    data: tuple[Any, Any, Any]
    train: Any
    test: Any
    classes: tuple[str, ...]
    split: str


def user_speech(options: dict[str, Any], survey: Any = None) -> UserSpeech:
    """Features and split from a unit's `ctx.options` (`survey`: the folder's, when made)."""
    import torch

    from diffrnn.bench.units.speech import N_FRAMES
    from diffrnn.data.audio import HOP_LENGTH, stack_features
    from diffrnn.data.user_audio import held_out_split, read_audio, survey_audio

    survey = survey if survey is not None else survey_audio(Path(options["path"]))
    waves = read_audio(survey)
    features = torch.from_numpy(stack_features(waves, "log_mel", N_FRAMES))
    lengths = torch.tensor([min(1 + len(w) // HOP_LENGTH, N_FRAMES) for w in waves])
    labels = torch.from_numpy(survey.labels)
    train, test, how = held_out_split(survey, SPLIT_SEED)
    return UserSpeech((features, lengths, labels), train, test, survey.classes, how)


def prepare_user_audio(path: Path) -> dict[str, Any]:
    """Check the user's recordings once, before any unit runs; the units' options and summary.

    Raises:
        DataError: see `diffrnn.data.user_audio.survey_audio` and `read_audio`.
    """
    import numpy as np

    from diffrnn.bench.user_kinds import content_sha256
    from diffrnn.data.user_audio import survey_audio

    survey = survey_audio(path)
    options: dict[str, Any] = {
        "task": TASK,
        "kind": "audio",
        "path": str(path),
        "data_sha256": content_sha256(list(survey.files), path),
    }
    data = user_speech(options, survey)
    counts = np.bincount(survey.labels)
    options["summary"] = {
        "folder": f"{path}: {len(survey.files):,} recordings in {len(survey.classes)} classes "
        f"({', '.join(survey.classes[:10])}{', ...' if len(survey.classes) > 10 else ''}; "
        f"{counts.min()} to {counts.max()} per class)",
        "features": "mono at 8 kHz, 40-band log-mel frames every 10 ms, padded or cut to 1 s",
        "split": f"{len(data.train)} train, {len(data.test)} test: {data.split}",
        "loader notes": "; ".join(survey.notes) or "none",
    }
    return options
