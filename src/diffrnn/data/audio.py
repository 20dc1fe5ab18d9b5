"""Audio: the Free Spoken Digit Dataset (8 kHz WAVs) and its MFCC / log-mel features.

Features are time-major `(frames, coefficients)` so a recurrent model reads them as a sequence.
Frames: 25 ms windows (200 samples) every 10 ms (80 samples), FFT size 256, `center=True`
(librosa's default), so a waveform of n samples gives 1 + n // 80 frames.

librosa and soundfile are the optional `audio` extra (`pip install 'diffrnn[audio]'`): every
module imports them through `import_audio`, inside the functions that need them, so that
`import diffrnn` and the tasks without sound never load them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from diffrnn.data import registry
from diffrnn.errors import ConfigError

SAMPLE_RATE = 8000
N_FFT = 256
WIN_LENGTH = 200  # 25 ms at 8 kHz
HOP_LENGTH = 80  # 10 ms at 8 kHz
N_MELS = 40
N_MFCC = 13
LOG_MEL_FLOOR = 1e-6  # added to the mel power before the log (silence -> log(1e-6) = -13.8)
OFFICIAL_TEST_TAKES = range(5)  # takes 0-4 of every speaker/digit are the official test set


AUDIO_EXTRA_FIX = "pip install 'diffrnn[audio]'"
"""The fix a missing audio package's error names."""


def import_audio(name: Literal["librosa", "soundfile"]) -> ModuleType:
    """`librosa` or `soundfile`, the optional audio extra, imported where it is first needed.

    Raises:
        ConfigError: the package is not installed (or fails to import); the fix names the extra.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(
            f"audio tasks and audio data need {name}, which cannot be imported here ({exc}).",
            AUDIO_EXTRA_FIX,
        ) from None


@dataclass(frozen=True, eq=False)
class FSDD:
    """The 3,000 recordings: waveforms (float32 in [-1, 1], 8 kHz) with digit, speaker, take."""

    waveforms: tuple[np.ndarray, ...]  # N x (n_samples,)
    digits: np.ndarray  # (N,) int64
    speakers: np.ndarray  # (N,) str
    takes: np.ndarray  # (N,) int64
    files: tuple[str, ...]  # file names, e.g. "3_jackson_7.wav"
    sample_rate: int = SAMPLE_RATE

    @property
    def speaker_names(self) -> tuple[str, ...]:
        """The distinct speakers, sorted."""
        return tuple(sorted(set(self.speakers.tolist())))

    def official_split(self) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) indices: takes 5-49 train (2,700), takes 0-4 test (300)."""
        is_test = np.isin(self.takes, OFFICIAL_TEST_TAKES)
        return np.flatnonzero(~is_test), np.flatnonzero(is_test)

    def leave_one_speaker_out(self, speaker: str) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) indices with every recording of `speaker` (500) held out as test."""
        if speaker not in self.speaker_names:
            raise ValueError(f"speaker must be one of {self.speaker_names}, got {speaker!r}")
        held_out = self.speakers == speaker
        return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _parse_name(name: str) -> tuple[int, str, int]:
    digit, speaker, take = Path(name).stem.split("_")
    return int(digit), speaker, int(take)


def load_fsdd() -> FSDD:
    """All 3,000 FSDD recordings (each checked against the vendored SHA256SUMS), sorted by name."""
    soundfile = import_audio("soundfile")

    paths = sorted((p for p in registry.verify("fsdd") if p.suffix == ".wav"), key=lambda p: p.name)
    waveforms, meta, names = [], [], []
    for path in paths:
        waveform, rate = soundfile.read(path, dtype="float32")
        if rate != SAMPLE_RATE:
            raise ValueError(f"{path}: sample rate {rate}, expected {SAMPLE_RATE}")
        waveforms.append(waveform)
        meta.append(_parse_name(path.name))
        names.append(path.name)
    digits, speakers, takes = zip(*meta, strict=True)
    return FSDD(
        waveforms=tuple(waveforms),
        digits=np.array(digits, dtype=np.int64),
        speakers=np.array(speakers),
        takes=np.array(takes, dtype=np.int64),
        files=tuple(names),
    )


def fit_frames(waveform: np.ndarray, n_frames: int | None) -> np.ndarray:
    """Zero-pad or cut the waveform so that it gives exactly `n_frames` frames."""
    if n_frames is None:
        return waveform
    n_samples = (n_frames - 1) * HOP_LENGTH  # 1 + n_samples // HOP_LENGTH == n_frames
    if len(waveform) >= n_samples:
        return waveform[:n_samples]
    return np.pad(waveform, (0, n_samples - len(waveform)))


def _framing(waveform: np.ndarray, n_frames: int | None) -> dict[str, Any]:
    """librosa's arguments for this module's frames of `waveform` (fitted to `n_frames`)."""
    return {
        "y": fit_frames(waveform.astype(np.float32), n_frames),
        "sr": SAMPLE_RATE,
        "n_fft": N_FFT,
        "win_length": WIN_LENGTH,
        "hop_length": HOP_LENGTH,
    }


def log_mel(waveform: np.ndarray, n_mels: int = N_MELS, n_frames: int | None = None) -> np.ndarray:
    """Natural-log mel power spectrogram, (frames, n_mels) float32.

    Args:
        waveform: (n_samples,) at 8 kHz.
        n_mels: mel bands between 0 Hz and 4 kHz.
        n_frames: pad with silence or truncate to this many frames (None: 1 + n_samples // 80).
    """
    librosa = import_audio("librosa")

    mel = librosa.feature.melspectrogram(
        **_framing(waveform, n_frames), n_mels=n_mels, power=2.0
    )  # (n_mels, frames)
    return np.log(mel + LOG_MEL_FLOOR).T.astype(np.float32)


def mfcc(waveform: np.ndarray, n_mfcc: int = N_MFCC, n_frames: int | None = None) -> np.ndarray:
    """MFCCs (librosa: DCT-II of the dB mel spectrogram), (frames, n_mfcc) float32.

    Args:
        waveform: (n_samples,) at 8 kHz.
        n_mfcc: coefficients kept.
        n_frames: pad with silence or truncate to this many frames (None: 1 + n_samples // 80).
    """
    librosa = import_audio("librosa")

    coefficients = librosa.feature.mfcc(
        **_framing(waveform, n_frames), n_mfcc=n_mfcc, n_mels=N_MELS
    )  # (n_mfcc, frames)
    return coefficients.T.astype(np.float32)


FeatureKind = Literal["mfcc", "log_mel"]
_FEATURES = {"mfcc": mfcc, "log_mel": log_mel}


def stack_features(waveforms: Sequence[np.ndarray], kind: FeatureKind, n_frames: int) -> np.ndarray:
    """Features of many waveforms padded/truncated to `n_frames`: (N, n_frames, D) float32."""
    if kind not in _FEATURES:
        raise ValueError(f"kind must be one of {tuple(_FEATURES)}, got {kind!r}")
    return np.stack([_FEATURES[kind](w, n_frames=n_frames) for w in waveforms])
