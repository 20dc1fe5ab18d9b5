"""Fixed-length log-mel spectrograms of FSDD for generation, their [-1, 1] scaling, and the way
back to sound (Griffin-Lim through librosa) and to WAV files (soundfile).

The frames are those of `diffrnn.data.audio` (FFT 256, window 200, hop 80, `center=True`), so a
spectrogram of `n_frames` frames is the sound of `(n_frames - 1) * 80` samples; 64 frames are
0.63 s at 8 kHz and hold 95% of the FSDD recordings whole (median 42 frames). Spectrograms here
are mel-major `(n_mels, n_frames)`, the layout of an image and of librosa; the recogniser's
features (`diffrnn.data.audio`) are time-major `(frames, n_mels)`.

Scaling: `MelScaling(low, high)` maps the natural-log mel power linearly from [low, high] onto
[-1, 1]; `low` and `high` are the minimum and maximum over the training split (`low` is the
log of the silence floor, `log(1e-6)`, wherever a clip was padded).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffrnn.data.audio import (
    HOP_LENGTH,
    LOG_MEL_FLOOR,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    WIN_LENGTH,
    fit_frames,
    import_audio,
)
from diffrnn.fileio import atomic_write_bytes

N_FRAMES = 64
"""Frames of a generated clip: 0.63 s, the length of 95% of the FSDD recordings."""
GRIFFIN_LIM_ITERS = 32
"""Griffin-Lim iterations (librosa's default)."""


def n_samples(n_frames: int) -> int:
    """Samples of the waveform whose centred STFT has `n_frames` frames."""
    return (n_frames - 1) * HOP_LENGTH


def log_mel_batch(
    waveforms: Sequence[np.ndarray], n_frames: int = N_FRAMES, n_mels: int = N_MELS
) -> np.ndarray:
    """`diffrnn.data.audio.log_mel` of many waveforms at once (one batched STFT): much faster
    than one call per clip, equal to it to float32 round-off.

    Args:
        waveforms: N x (n_samples,) at 8 kHz; each padded with silence or cut to `n_frames`.
        n_frames: frames per spectrogram.
        n_mels: mel bands between 0 Hz and 4 kHz.

    Returns:
        (N, n_mels, n_frames) float32 natural-log mel power.
    """
    librosa = import_audio("librosa")

    batch = np.stack([fit_frames(np.asarray(w, np.float32), n_frames) for w in waveforms])
    stft = librosa.stft(batch, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH)
    power = np.abs(stft) ** 2  # (N, 1 + N_FFT // 2, n_frames)
    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels)  # (n_mels, freqs)
    mel = np.einsum("mf,nft->nmt", basis, power)  # (N, n_mels, n_frames)
    return np.log(mel + LOG_MEL_FLOOR).astype(np.float32)


@dataclass(frozen=True)
class MelScaling:
    """The affine map between log-mel power in [low, high] and [-1, 1]."""

    low: float
    high: float

    @classmethod
    def fit(cls, log_mels: np.ndarray) -> MelScaling:
        """The range of a training set of log-mel spectrograms (any shape)."""
        return cls(low=float(log_mels.min()), high=float(log_mels.max()))

    def normalise(self, log_mels: np.ndarray) -> np.ndarray:
        """Log-mel -> [-1, 1] (values outside the training range map outside it)."""
        return (2.0 * (log_mels - self.low) / (self.high - self.low) - 1.0).astype(np.float32)

    def denormalise(self, x: np.ndarray) -> np.ndarray:
        """[-1, 1] -> log-mel, clipped to [low, high] first (generated values may overshoot)."""
        x = np.clip(x, -1.0, 1.0)
        return ((x + 1.0) * 0.5 * (self.high - self.low) + self.low).astype(np.float32)


@dataclass(frozen=True, eq=False)
class SpectrogramSet:
    """Normalised fixed-length log-mel spectrograms with their digits.

    Attributes:
        spectrograms: (N, n_mels, n_frames) float32, in [-1, 1] for the training split.
        digits: (N,) int64.
        scaling: the map back to log-mel power (fitted on the training split).
    """

    spectrograms: np.ndarray
    digits: np.ndarray
    scaling: MelScaling


def spectrogram_sets(
    waveforms: Sequence[np.ndarray],
    digits: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    n_frames: int = N_FRAMES,
    n_mels: int = N_MELS,
) -> tuple[SpectrogramSet, SpectrogramSet]:
    """Train and test spectrogram sets, both scaled with the training split's range.

    Args:
        waveforms: all recordings (FSDD's `waveforms`).
        digits: (N,) their labels.
        train, test: index arrays (e.g. `FSDD.official_split()`).
        n_frames, n_mels: the spectrogram size.
    """
    log_mels = log_mel_batch(waveforms, n_frames, n_mels)  # (N, n_mels, n_frames)
    scaling = MelScaling.fit(log_mels[train])
    return tuple(  # type: ignore[return-value]
        SpectrogramSet(scaling.normalise(log_mels[idx]), np.asarray(digits)[idx], scaling)
        for idx in (train, test)
    )


GRIFFIN_LIM_SEED = 0
"""Seed of Griffin-Lim's random starting phases: the same log-mel gives the same waveform."""


def log_mel_to_audio(log_mels: np.ndarray, n_iter: int = GRIFFIN_LIM_ITERS) -> np.ndarray:
    """Waveforms from log-mel spectrograms: NNLS back to a linear power spectrogram, then
    Griffin-Lim (both librosa's `feature.inverse.mel_to_audio`), batched.

    Args:
        log_mels: (N, n_mels, n_frames) natural-log mel power (as `log_mel_batch` returns).
        n_iter: Griffin-Lim iterations.

    Returns:
        (N, (n_frames - 1) * 80) float32 waveforms at 8 kHz.
    """
    librosa = import_audio("librosa")

    mel = np.maximum(np.exp(log_mels.astype(np.float64)) - LOG_MEL_FLOOR, 0.0)
    # `mel_to_audio`'s two steps, with Griffin-Lim's random starting phases seeded: unseeded
    # (librosa's default) the same spectrogram gave different waveforms, and scores, every run
    magnitude = librosa.feature.inverse.mel_to_stft(mel, sr=SAMPLE_RATE, n_fft=N_FFT, power=2.0)
    audio = librosa.griffinlim(
        magnitude,
        n_iter=n_iter,
        hop_length=HOP_LENGTH,
        win_length=WIN_LENGTH,
        n_fft=N_FFT,
        length=n_samples(log_mels.shape[-1]),
        random_state=GRIFFIN_LIM_SEED,
    )
    return audio.astype(np.float32)


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write a mono waveform as 16-bit PCM WAV, peak-normalised to 0.9 if it would clip.

    The file is encoded in memory and replaced atomically: a full disk or a kill leaves the
    previous file at `path` whole (a `StorageError` says so), never a truncated WAV.
    """
    soundfile = import_audio("soundfile")

    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    if peak > 1.0:
        waveform = waveform * (0.9 / peak)
    encoded = io.BytesIO()
    soundfile.write(
        encoded, np.asarray(waveform, np.float32), sample_rate, format="WAV", subtype="PCM_16"
    )
    return atomic_write_bytes(path, encoded.getvalue())
