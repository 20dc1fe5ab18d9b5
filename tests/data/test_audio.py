"""FSDD: 3,000 recordings at 8 kHz, the official and leave-one-speaker-out splits, features."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from diffrnn.data import audio


@pytest.fixture(scope="module")
def fsdd() -> audio.FSDD:
    return audio.load_fsdd()


def test_fsdd_metadata_and_official_split(fsdd: audio.FSDD) -> None:
    assert len(fsdd.waveforms) == 3000 and fsdd.sample_rate == 8000
    assert len(fsdd.speaker_names) == 6
    assert np.bincount(fsdd.digits).tolist() == [300] * 10
    train, test = fsdd.official_split()
    assert (len(train), len(test)) == (2700, 300)
    assert set(fsdd.takes[test].tolist()) == {0, 1, 2, 3, 4}
    assert set(fsdd.speakers[test].tolist()) == set(fsdd.speaker_names)
    i = fsdd.files.index("3_jackson_7.wav")
    assert (fsdd.digits[i], fsdd.speakers[i], fsdd.takes[i]) == (3, "jackson", 7)
    durations = np.array([len(w) for w in fsdd.waveforms]) / 8000
    assert durations.min() >= 0.14 and durations.max() <= 2.29
    assert max(np.abs(w).max() for w in fsdd.waveforms) <= 1.0


def test_leave_one_speaker_out(fsdd: audio.FSDD) -> None:
    train, test = fsdd.leave_one_speaker_out("theo")
    assert len(test) == 500 and set(fsdd.speakers[test].tolist()) == {"theo"}
    assert "theo" not in set(fsdd.speakers[train].tolist()) and len(train) == 2500
    with pytest.raises(ValueError, match="speaker"):
        fsdd.leave_one_speaker_out("nobody")


def test_features_frames_padding_and_librosa_parity(fsdd: audio.FSDD) -> None:
    wave = fsdd.waveforms[0]
    n_frames = 1 + len(wave) // audio.HOP_LENGTH
    mel = audio.log_mel(wave)
    assert mel.shape == (n_frames, audio.N_MELS)
    power = librosa.feature.melspectrogram(
        y=wave, sr=8000, n_fft=256, win_length=200, hop_length=80, n_mels=40
    )
    np.testing.assert_allclose(mel, np.log(power + audio.LOG_MEL_FLOOR).T, rtol=1e-5, atol=1e-5)
    coefficients = audio.mfcc(wave)
    assert coefficients.shape == (n_frames, audio.N_MFCC)
    padded = audio.log_mel(wave, n_frames=n_frames + 20)
    assert padded.shape == (n_frames + 20, audio.N_MELS)
    np.testing.assert_allclose(padded[-10:], np.log(audio.LOG_MEL_FLOOR), atol=1e-6)  # silence
    cut = audio.mfcc(wave, n_frames=10)
    assert cut.shape == (10, audio.N_MFCC)
    stacked = audio.stack_features(fsdd.waveforms[:3], "mfcc", n_frames=50)
    assert stacked.shape == (3, 50, audio.N_MFCC)
    with pytest.raises(ValueError, match="kind"):
        audio.stack_features(fsdd.waveforms[:1], "spectrogram", n_frames=5)  # type: ignore[arg-type]
