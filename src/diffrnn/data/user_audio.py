"""The user's recordings: a folder of WAV/FLAC files, one subfolder per class, as waveforms.

    survey = survey_audio(Path("words/"))          # headers only: classes, rates, durations
    waves = read_audio(survey)                      # mono float32 at SAMPLE_RATE, one at a time
    train, test = held_out_split(survey, seed=0)   # by file-name prefix (speaker) when there is one

Recordings are read one at a time, mixed down to mono and resampled to the recognisers' rate
(8 kHz, `diffrnn.data.audio.SAMPLE_RATE`, polyphase); the features then pad or cut them to one
second as on FSDD. When every file name carries a prefix before an underscore
(`jackson_7.wav`: a speaker) and there are at least two prefixes, whole prefixes are held out for
the test, so the recognisers are scored on voices they never heard; otherwise 20% of each class
at random.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffrnn.data.audio import SAMPLE_RATE, import_audio
from diffrnn.data.user_kinds import AUDIO_SUFFIXES, list_files
from diffrnn.errors import DataError

MIN_PER_CLASS = 2
"""Recordings a class needs at least: one to train on and one to test."""
MAX_SECONDS = 60.0
"""Longest recording read (the recognisers read its first second)."""
MAX_FILES = 100_000
TEST_SHARE = 0.2
"""Share of the recordings (whole prefixes, or per class) held out for the test."""


@dataclass(frozen=True, eq=False)
class AudioSurvey:
    """What a folder of recordings holds, from the files' headers.

    Attributes:
        files: the recordings, sorted by class then name; labels (N,) their class indices.
        classes: the class folders' names.
        prefixes: (N,) the file names' prefix before the first underscore ("" without one).
        rates: the distinct sample rates found; notes: what the report should say.
    """

    root: Path
    files: tuple[Path, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    prefixes: np.ndarray
    rates: tuple[int, ...]
    notes: tuple[str, ...]


def _info(path: Path) -> tuple[int, int]:
    soundfile = import_audio("soundfile")

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.LibsndfileError) as exc:
        raise DataError(
            f"{path} is not a readable recording ({exc}).", "remove it or re-save it as WAV/FLAC."
        ) from None
    return int(info.samplerate), int(info.frames)


def survey_audio(root: Path) -> AudioSurvey:
    """The recordings of `root` and their classes, from headers only.

    Raises:
        DataError: no recordings, files outside class folders, a single class, a class with
            fewer than MIN_PER_CLASS recordings, an unreadable, empty or over-long recording.
    """
    found = list_files(root, AUDIO_SUFFIXES)
    if not found:
        raise DataError(f"--data {root} holds no WAV/FLAC recordings.", "put them in it.")
    if len(found) > MAX_FILES:
        raise DataError(
            f"{root} holds {len(found):,} recordings; at most {MAX_FILES:,} are read.",
            "pass a folder with a sample of them.",
        )
    loose = [p for p, c in found if c is None]
    if loose:
        raise DataError(
            f"{root} holds {len(loose)} recording(s) outside class folders ({loose[0].name}, ...).",
            "put each recording in a subfolder named after its class (e.g. yes/, no/).",
        )
    classes = tuple(sorted({c for _, c in found if c is not None}))
    if len(classes) < 2:
        raise DataError(
            f"{root} has a single class folder ({classes[0]}): nothing to recognise.",
            "add a subfolder of recordings for every other class.",
        )
    counts = {c: sum(1 for _, k in found if k == c) for c in classes}
    thin = [c for c, n in counts.items() if n < MIN_PER_CLASS]
    if thin:
        raise DataError(
            f"class {thin[0]!r} of {root} has {counts[thin[0]]} recording; each class needs at "
            f"least {MIN_PER_CLASS} (one to train on, one to test).",
            "add recordings to it, or remove that class folder.",
        )
    rates = set()
    for path, _ in found:
        rate, frames = _info(path)
        if frames == 0:
            raise DataError(f"{path} holds no samples.", "remove it.")
        if frames > MAX_SECONDS * rate:
            raise DataError(
                f"{path} lasts {frames / rate:.0f} s; recordings of at most {MAX_SECONDS:.0f} s "
                "are read.",
                "cut it into words or clips first.",
            )
        rates.add(rate)
    other = sorted(rates - {SAMPLE_RATE})
    rates_text = ", ".join(f"{r} Hz" for r in other)
    notes = [f"resampled from {rates_text} to {SAMPLE_RATE} Hz"] if other else []
    index = {c: k for k, c in enumerate(classes)}
    return AudioSurvey(
        root=root,
        files=tuple(p for p, _ in found),
        labels=np.array([index[c] for _, c in found], dtype=np.int64),
        classes=classes,
        prefixes=np.array([p.stem.split("_")[0] if "_" in p.stem else "" for p, _ in found]),
        rates=tuple(sorted(rates)),
        notes=tuple(notes),
    )


def read_audio(survey: AudioSurvey) -> list[np.ndarray]:
    """Every recording as mono float32 at SAMPLE_RATE, read and resampled one at a time."""
    soundfile = import_audio("soundfile")
    from scipy.signal import resample_poly

    waves = []
    for path in survey.files:
        try:
            wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, OSError, soundfile.LibsndfileError) as exc:
            raise DataError(f"{path} cannot be decoded ({exc}).", "remove or re-save it.") from None
        mono = wave.mean(axis=1)  # (n,)
        if rate != SAMPLE_RATE:
            divisor = np.gcd(rate, SAMPLE_RATE)
            mono = resample_poly(mono, SAMPLE_RATE // divisor, rate // divisor).astype(np.float32)
        waves.append(mono)
    return waves


def held_out_split(survey: AudioSurvey, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(train, test) indices and how they were chosen.

    Whole file-name prefixes are held out (shuffled by `seed`, added until TEST_SHARE of the
    recordings) when every file has one and there are at least two; else TEST_SHARE of each
    class at random (at least one).
    """
    rng = np.random.default_rng(seed)
    names = sorted(set(survey.prefixes.tolist()))
    n = len(survey.files)
    if "" not in names and len(names) >= 2:
        test_names: list[str] = []
        for name in rng.permutation(names):
            if np.isin(survey.prefixes, test_names).sum() >= TEST_SHARE * n:
                break
            test_names.append(str(name))
        if len(test_names) < len(names):
            is_test = np.isin(survey.prefixes, test_names)
            how = f"file-name prefixes held out for the test: {', '.join(sorted(test_names))}"
            return np.flatnonzero(~is_test), np.flatnonzero(is_test), how
    test = []
    for label in np.unique(survey.labels):
        members = rng.permutation(np.flatnonzero(survey.labels == label))
        test.append(members[: max(1, round(TEST_SHARE * len(members)))])
    is_test = np.zeros(n, dtype=bool)
    is_test[np.concatenate(test)] = True
    how = f"{TEST_SHARE:.0%} of each class held out at random (file names carry no prefix)"
    return np.flatnonzero(~is_test), np.flatnonzero(is_test), how
