"""The user's recordings: the survey's refusals, mono 8 kHz waveforms, the held-out split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from diffrnn.data.user_audio import held_out_split, read_audio, survey_audio
from diffrnn.errors import DataError


def _wav(path: Path, seconds: float = 0.25, rate: int = 8000, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(path, np.stack([tone] * channels, axis=1) if channels > 1 else tone, rate)


def test_recordings_become_mono_8khz_with_their_classes(tmp_path: Path) -> None:
    _wav(tmp_path / "no" / "ann_0.wav", rate=16000, channels=2)
    _wav(tmp_path / "no" / "bob_0.flac", rate=8000)
    _wav(tmp_path / "yes" / "ann_1.wav", seconds=0.5, rate=22050)
    _wav(tmp_path / "yes" / "bob_1.wav")
    survey = survey_audio(tmp_path)
    assert survey.classes == ("no", "yes") and survey.labels.tolist() == [0, 0, 1, 1]
    assert survey.prefixes.tolist() == ["ann", "bob", "ann", "bob"]
    assert survey.notes == ("resampled from 16000 Hz, 22050 Hz to 8000 Hz",)
    waves = read_audio(survey)
    assert [len(w) for w in waves] == [2000, 2000, 4000, 2000]
    assert all(w.dtype == np.float32 and w.ndim == 1 for w in waves)
    np.testing.assert_allclose(waves[0][:500], waves[1][:500], atol=0.02)  # the same tone


def test_whole_prefixes_are_held_out_else_a_share_of_each_class(tmp_path: Path) -> None:
    for speaker in ("ann", "bob", "cy", "dee", "eve"):
        for word in ("no", "yes"):
            for take in range(2):
                _wav(tmp_path / "s" / word / f"{speaker}_{take}.wav", seconds=0.05)
                _wav(tmp_path / "p" / word / f"{speaker}{take}.wav", seconds=0.05)
    survey = survey_audio(tmp_path / "s")
    assert survey.notes == ()  # 8 kHz already: nothing resampled
    train, test, how = held_out_split(survey)
    held = set(survey.prefixes[test].tolist())
    assert len(held) == 1 and not held & set(survey.prefixes[train].tolist())
    assert how.startswith("file-name prefixes held out for the test: ")
    train, test, how = held_out_split(survey_audio(tmp_path / "p"))
    assert len(test) == 4 and len(train) == 16 and "at random" in how


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "holds no WAV/FLAC recordings"),
        ({"loose.wav": 0.1, "a/x.wav": 0.1}, "outside class folders"),
        ({"a/x.wav": 0.1, "a/y.wav": 0.1}, "a single class folder (a)"),
        ({"a/x.wav": 0.1, "a/y.wav": 0.1, "b/z.wav": 0.1}, "class 'b' of"),
        ({"a/x.wav": 0.1, "a/y.wav": 0.1, "b/z.wav": 0.1, "b/w.wav": 61.0}, "lasts 61 s"),
        ({"a/x.wav": 0.1, "a/y.wav": 0.1, "b/z.wav": 0.1, "b/w.wav": -1}, "not a readable"),
    ],
)
def test_hostile_folders_are_refused_in_one_line(
    tmp_path: Path, layout: dict[str, float], message: str
) -> None:
    for name, seconds in layout.items():
        if seconds < 0:
            (tmp_path / name).write_bytes(b"RIFF....WAVE not really")
        else:
            _wav(tmp_path / name, seconds=seconds, rate=1000 if seconds > 60 else 8000)
    with pytest.raises(DataError) as info:
        survey_audio(tmp_path)
    assert message in str(info.value) and info.value.fix
