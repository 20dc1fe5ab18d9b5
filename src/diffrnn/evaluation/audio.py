"""Judging generated speech with the in-project recogniser, as DiffWave did on SC09 (Kong et al.
2021, section 5.3) with its ResNeXt classifier:

- accuracy: how often the recogniser hears the digit that was asked for;
- fd: Frechet distance between the recogniser's penultimate features of the generated clips and
  of held-out real clips (the FID formula, `diffrnn.evaluation.frechet`);
- inception_score: exp(E_x KL(p(y|x) || p(y))) over the recogniser's class probabilities
  (Salimans et al. 2016): 1 for indistinct or one-class output, at most the number of classes.

`generated_audio` draws a generator's log-mel spectrograms and voices them with Griffin-Lim.
Every waveform (generated or real) goes through the same features, the fixed-length log-mel of
`diffrnn.data.spectrograms.log_mel_batch`, before it reaches the recogniser, so a real clip
through the Griffin-Lim round trip is scored exactly like a generated one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from diffrnn.data.spectrograms import N_FRAMES, MelScaling, log_mel_batch, log_mel_to_audio
from diffrnn.evaluation.frechet import frechet_distance
from diffrnn.rnn.speech import SpeechRecogniser


def inception_score(probs: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) with p(y) the mean of the rows.

    Args:
        probs: (N, C) class probabilities, rows summing to 1.

    Returns:
        A score in [1, C]: C when every row is one-hot and the classes are used equally often.
    """
    p = np.asarray(probs, np.float64)
    marginal = p.mean(axis=0, keepdims=True)  # (1, C)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(axis=1)  # (N,)
    return float(np.exp(kl.mean()))


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose most probable class is the label. probs (N, C), labels (N,)."""
    return float((np.asarray(probs).argmax(axis=1) == np.asarray(labels)).mean())


@dataclass(frozen=True)
class AudioScores:
    """The recogniser's verdict on a set of clips (see the module docstring)."""

    accuracy: float
    fd: float
    inception_score: float
    n: int

    def metrics(self) -> dict[str, float]:
        """The task's metric keys."""
        return {"accuracy": self.accuracy, "fd": self.fd, "inception_score": self.inception_score}


@torch.no_grad()
def recogniser_outputs(
    recogniser: SpeechRecogniser,
    waveforms: Sequence[np.ndarray],
    n_frames: int = N_FRAMES,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features (N, F) and class probabilities (N, C) of waveforms at 8 kHz, each
    read as `n_frames` log-mel frames (padded with silence or cut)."""
    features, probs = [], []
    for start in range(0, len(waveforms), batch_size):
        log_mels = log_mel_batch(waveforms[start : start + batch_size], n_frames)  # (B, M, T)
        frames = torch.from_numpy(log_mels).transpose(1, 2)  # (B, T, M)
        lengths = torch.full((frames.shape[0],), n_frames, dtype=torch.long)
        embedding, p = recogniser.embed_and_probs(frames, lengths)
        features.append(embedding.numpy())
        probs.append(p.numpy())
    return np.concatenate(features), np.concatenate(probs)


def score_audio(
    recogniser: SpeechRecogniser,
    waveforms: Sequence[np.ndarray],
    digits: np.ndarray,
    reference_features: np.ndarray,
    n_frames: int = N_FRAMES,
) -> AudioScores:
    """Accuracy, Frechet distance and inception-style score of clips meant to say `digits`.

    Args:
        recogniser: a trained recogniser over `n_frames` x 40 log-mel frames.
        waveforms: N clips at 8 kHz.
        digits: (N,) the digit each clip should say.
        reference_features: (M, F) the recogniser's features of held-out real clips.
        n_frames: frames each clip is read as.
    """
    features, probs = recogniser_outputs(recogniser, waveforms, n_frames)
    return AudioScores(
        accuracy=accuracy(probs, digits),
        fd=frechet_distance(features, reference_features),
        inception_score=inception_score(probs),
        n=len(waveforms),
    )


def generated_audio(
    model: Any, digits: np.ndarray, seed: int, **sample_kwargs: Any
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Sample spectrograms for `digits` and voice them.

    Args:
        model: a spoken-digit generator (`SpectrogramDiffusion` or `SpectrogramGRU`) whose
            `log_mel_range` buffer holds its training data's log-mel range.
        digits: (N,) the digit of each clip.
        seed: seeds the sampling noise (a `torch.Generator`).
        sample_kwargs: passed to `model.sample` (e.g. the diffusion sampler's `steps`).

    Returns:
        (waveforms (N, n_samples), log-mel spectrograms (N, n_mels, n_frames), seconds spent
        sampling the spectrograms, seconds spent in Griffin-Lim).
    """
    low, high = model.log_mel_range.tolist()
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    x = model.sample(
        len(digits), generator=generator, labels=torch.from_numpy(digits), **sample_kwargs
    )
    sample_s = time.perf_counter() - start
    log_mels = MelScaling(low, high).denormalise(x.cpu().numpy())
    start = time.perf_counter()
    waveforms = log_mel_to_audio(log_mels)
    return waveforms, log_mels, sample_s, time.perf_counter() - start
