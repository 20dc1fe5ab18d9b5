"""Fixed-length log-mel spectrograms, their scaling, Griffin-Lim inversion and WAV writing."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import pytest

from diffrnn.data.audio import SAMPLE_RATE, log_mel
from diffrnn.data.spectrograms import (
    MelScaling,
    log_mel_batch,
    log_mel_to_audio,
    n_samples,
    spectrogram_sets,
    write_wav,
)
from diffrnn.errors import StorageError


def _tone(freq: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_batched_log_mel_equals_the_per_clip_one_for_short_and_long_clips() -> None:
    waves = [_tone(440, 0.3), _tone(1000, 0.9), _tone(250, 0.63)]
    batch = log_mel_batch(waves, n_frames=64)
    assert batch.shape == (3, 40, 64)
    for wave, spectrogram in zip(waves, batch, strict=True):
        np.testing.assert_allclose(spectrogram, log_mel(wave, n_frames=64).T, atol=1e-4)


def test_scaling_maps_the_training_range_onto_minus_one_one_and_back() -> None:
    rng = np.random.default_rng(0)
    log_mels = rng.uniform(-13.8, 3.0, size=(5, 40, 64)).astype(np.float32)
    scaling = MelScaling.fit(log_mels)
    x = scaling.normalise(log_mels)
    assert x.min() == pytest.approx(-1.0) and x.max() == pytest.approx(1.0)
    np.testing.assert_allclose(scaling.denormalise(x), log_mels, atol=1e-5)
    assert scaling.denormalise(np.array([5.0, -5.0])).tolist() == pytest.approx(
        [scaling.high, scaling.low]
    )


def test_sets_share_the_training_range() -> None:
    waves = [_tone(300, 0.2), _tone(600, 0.5, 0.9), _tone(900, 0.4, 0.1)]
    train, test = spectrogram_sets(waves, np.array([1, 2, 3]), np.array([0, 1]), np.array([2]))
    assert train.spectrograms.shape == (2, 40, 64) and test.spectrograms.shape == (1, 40, 64)
    assert train.spectrograms.min() == pytest.approx(-1.0)
    assert train.spectrograms.max() == pytest.approx(1.0)
    assert test.scaling == train.scaling and test.digits.tolist() == [3]


def test_griffin_lim_gives_the_clip_length_and_keeps_a_tone_in_its_band() -> None:
    waves = [_tone(500, 1.0), _tone(2000, 1.0)]
    log_mels = log_mel_batch(waves, n_frames=64)
    audio = log_mel_to_audio(log_mels, n_iter=8)
    assert audio.shape == (2, n_samples(64)) == (2, 5040)
    again = log_mel_batch(list(audio), n_frames=64)
    for before, after in zip(log_mels, again, strict=True):
        # the loudest band of the middle frames is the tone's, before and after the round trip
        assert before[:, 10:50].mean(1).argmax() == after[:, 10:50].mean(1).argmax()


def test_griffin_lim_gives_the_same_waveform_every_time() -> None:
    """Its random starting phases are seeded: the audio units' scores repeat between runs."""
    log_mels = log_mel_batch([_tone(700, 0.5)], n_frames=32)
    first = log_mel_to_audio(log_mels, n_iter=4)
    assert np.array_equal(first, log_mel_to_audio(log_mels, n_iter=4))


def test_wav_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import soundfile

    wave = _tone(440, 0.25)
    path = write_wav(tmp_path / "a" / "tone.wav", wave)
    read, rate = soundfile.read(path, dtype="float32")
    assert rate == SAMPLE_RATE and read.shape == wave.shape
    np.testing.assert_allclose(read, wave, atol=1 / 2**15)
    loud = write_wav(tmp_path / "loud.wav", 3.0 * wave)
    assert np.abs(soundfile.read(loud, dtype="float32")[0]).max() == pytest.approx(0.9, abs=1e-3)


def test_a_wav_that_does_not_fit_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "digit.wav", _tone(440, 0.25))
    before = path.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))  # the new file stops at 1000 bytes
    try:
        with pytest.raises(StorageError, match="File too large"):
            write_wav(path, _tone(880, 0.5))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["digit.wav"]  # no temporary file left
