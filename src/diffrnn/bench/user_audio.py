"""The tasks of the user's class folders of recordings: `speech-user`, recognised as
speech-fsdd, and `audio-user`, generated as audio-fsdd.

    options = prepare_user_audio(Path("words/"))   # survey, split, summary
    data = user_speech(options)                     # in a speech-user unit: features and split
    recordings = user_recordings(options["path"])   # in an audio-user unit: waveforms and split

`diffrnn.data.user_audio` makes each recording mono at 8 kHz. For recognition it becomes 100
log-mel frames (1 s at a 10 ms hop, padded or cut, its true length masking the pooling) exactly
as on FSDD; for generation audio-fsdd's 64-frame log-mel spectrogram (its first 0.63 s). Both
tasks share one split, which holds out whole file-name prefixes (speakers) when the names carry
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from diffrnn.data.user_audio import AudioSurvey

TASK = "speech-user"
GENERATE_TASK = "audio-user"
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


@dataclass(frozen=True, eq=False)
class UserRecordings:
    """The user's recordings: `waves` mono float32 at 8 kHz, `survey` the folder's (labels,
    classes), `train` and `test` the split's index arrays, `split` how the test was chosen."""

    survey: AudioSurvey
    waves: list[np.ndarray]
    train: np.ndarray
    test: np.ndarray
    split: str


def user_recordings(path: str | Path, survey: AudioSurvey | None = None) -> UserRecordings:
    """The recordings of the folder `path` and the tasks' split (`survey`: the folder's, when
    made)."""
    from diffrnn.data.user_audio import held_out_split, read_audio, survey_audio

    survey = survey if survey is not None else survey_audio(Path(path))
    train, test, how = held_out_split(survey, SPLIT_SEED)
    return UserRecordings(survey, read_audio(survey), train, test, how)


def user_speech(options: dict[str, Any], survey: AudioSurvey | None = None) -> UserSpeech:
    """Features and split from a unit's `ctx.options` (`survey`: the folder's, when made)."""
    import torch

    from diffrnn.bench.units.speech import N_FRAMES
    from diffrnn.data.audio import HOP_LENGTH, stack_features

    data = user_recordings(options["path"], survey)
    waves = data.waves
    features = torch.from_numpy(stack_features(waves, "log_mel", N_FRAMES))
    lengths = torch.tensor([min(1 + len(w) // HOP_LENGTH, N_FRAMES) for w in waves])
    labels = torch.from_numpy(data.survey.labels)
    return UserSpeech(
        (features, lengths, labels), data.train, data.test, data.survey.classes, data.split
    )


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
    untrained = [c for k, c in enumerate(survey.classes) if k not in survey.labels[data.train]]
    options["tasks"] = [TASK] if untrained else [TASK, GENERATE_TASK]
    options["summary"] = {
        "folder": f"{path}: {len(survey.files):,} recordings in {len(survey.classes)} classes "
        f"({', '.join(survey.classes[:10])}{', ...' if len(survey.classes) > 10 else ''}; "
        f"{counts.min()} to {counts.max()} per class)",
        "features": "mono at 8 kHz, 40-band log-mel frames every 10 ms, padded or cut to 1 s",
        "split": f"{len(data.train)} train, {len(data.test)} test: {data.split}",
        "generation": f"not run: class {untrained[0]!r} has no recording in the training split"
        if untrained
        else f"{GENERATE_TASK}: audio-fsdd's 64-frame log-mel spectrograms (the first 0.63 s, "
        "padded or cut) of the training split, one class-conditional generator per family; "
        "judged by a recogniser of your classes trained on the same split (its accuracy on "
        "the test recordings and the real-vs-real fd floor in each unit's notes); WAVs voiced "
        "by Griffin-Lim",
        "loader notes": "; ".join(survey.notes) or "none",
    }
    return options
