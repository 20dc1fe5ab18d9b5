"""Spoken-digit synthesis on FSDD (task `audio-fsdd`): `audio-diffusion`, `audio-gru` and the
`real-griffinlim` row, all judged by the in-project recogniser.

Protocol (the official split: takes 5-49 train, takes 0-4 test). Generators learn 40 x 64 log-mel
spectrograms (0.63 s) of the training clips scaled to [-1, 1]; each digit is asked for
`n_per_digit` times, the spectrograms go back to sound through Griffin-Lim, and the sound is
judged: the recogniser (a bidirectional GRU over the same 64 log-mel frames, trained here on the
training clips, once per process and suite) gives the accuracy, the inception-style score and the
features whose Frechet distance to the real test clips is the `fd`. `real-griffinlim` sends the
real test clips through the same spectrogram + Griffin-Lim round trip, so the vocoder's own loss
is visible; the real-vs-real floor (real training clips against the test clips, same N) is in the
notes with the recogniser's accuracy on the untouched test clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from diffrnn.bench.registry import RecipeSize, SuiteName, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:
    from torch import nn
    from torch.utils.data import DataLoader

    from diffrnn.data.spectrograms import SpectrogramSet
    from diffrnn.diffusion.audio import SpectrogramDiffusionConfig
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRUConfig
    from diffrnn.rnn.speech import SpeechConfig, SpeechRecogniser
    from diffrnn.training import TrainConfig

GeneratorName = Literal["audio-diffusion", "audio-gru"]
GENERATORS: tuple[GeneratorName, ...] = ("audio-diffusion", "audio-gru")

N_PER_DIGIT = {"quick": 2, "full": 30, "reference": 10}
"""Clips asked for per digit (full: 300 in all, the size of the official test split; reference:
100, since Griffin-Lim costs ~0.3 CPU s per clip and a ladder runs each generator nine times)."""
TIMING_CLIPS = 10
"""Clips (one per digit) whose generation is timed, repeatedly, for the seconds per sample."""
DIFFUSION_STEPS = {"quick": (10,), "full": (10, 25, 50), "reference": (10,)}
"""DPM-Solver++ step counts evaluated (the first of the full list's headline is the config's;
more steps did not help on the full recipe, BENCHMARKS.md)."""


def judge_recipes() -> dict[SuiteName, Recipe[SpeechConfig]]:
    """The recipe of the judging recogniser by suite: optimiser steps in the quick suite (the
    same judge on any machine), 300 s (CPU seconds on a CPU; 98.7% on the real test clips when
    they were wall seconds on an idle machine) in the full one, 30 s in the reference one
    (trained once per seed; 120 s of wall clock at load ~12, about 15 CPU s, gave 97.0%; its
    accuracy on the real clips is in every unit's notes)."""
    from diffrnn.rnn.speech import speech
    from diffrnn.training import OptimConfig, TrainConfig

    def train(budget_s: float) -> TrainConfig:
        return TrainConfig(max_steps=-1, budget_s=budget_s, optim=OptimConfig(lr=3e-3))

    return {
        "quick": Recipe(
            speech("tiny"), TrainConfig(max_steps=100, optim=OptimConfig(lr=1e-2)), batch_size=64
        ),
        "full": Recipe(speech("full"), train(300.0), batch_size=64),
        "reference": Recipe(speech("full"), train(30.0), batch_size=64),
    }


def audio_diffusion_recipes() -> dict[RecipeSize, Recipe[SpectrogramDiffusionConfig]]:
    """The recipe of `audio-diffusion` by suite size. The full one averages the weights with
    EMA 0.995 (half-life ~140 steps: a CPU budget gives a few thousand steps; 0.999 left the
    evaluated weights mostly at their start after 300 steps)."""
    from diffrnn.diffusion.audio import spectrogram_diffusion
    from diffrnn.training import OptimConfig, TrainConfig

    return {
        "quick": Recipe(
            spectrogram_diffusion("quick"),
            TrainConfig(max_steps=-1, optim=OptimConfig(lr=2e-3, warmup_steps=10)),
            batch_size=32,
        ),
        "full": Recipe(
            spectrogram_diffusion("full"),
            TrainConfig(
                max_steps=-1, ema_decay=0.995, optim=OptimConfig(lr=2e-3, warmup_steps=100)
            ),
            batch_size=64,
        ),
    }


def audio_gru_recipes() -> dict[RecipeSize, Recipe[SpectrogramGRUConfig]]:
    """The recipe of `audio-gru` by suite size."""
    from diffrnn.rnn.spectrogram_gru import spectrogram_gru
    from diffrnn.training import OptimConfig, TrainConfig

    return {
        "quick": Recipe(
            spectrogram_gru("quick"),
            TrainConfig(max_steps=-1, optim=OptimConfig(lr=1e-3, warmup_steps=10)),
            batch_size=32,
        ),
        "full": Recipe(
            spectrogram_gru("full"),
            TrainConfig(max_steps=-1, optim=OptimConfig(lr=1e-3, warmup_steps=100)),
            batch_size=64,
        ),
    }


GENERATOR_RECIPES = {"audio-diffusion": audio_diffusion_recipes, "audio-gru": audio_gru_recipes}


@dataclass(frozen=True, eq=False)
class AudioBench:
    """What every unit of the task shares: the data, the judge and the real-clip references."""

    train: SpectrogramSet
    test: SpectrogramSet
    test_waveforms: tuple[np.ndarray, ...]
    recogniser: SpeechRecogniser
    recogniser_accuracy: float  # on the untouched test clips
    reference_features: np.ndarray  # (N_test, F) recogniser features of the test clips
    floor_fd: float  # real training clips (n_per_digit per digit) against the test clips
    n_per_digit: int


def _judge_cache(ctx: UnitContext) -> Path | None:
    """The task's folder of a `compare` run (`runs/<id>/units/audio-fsdd/<model>/seed<k>/`, or
    `.../<model>/b<budget>/seed<k>/` on a compute ladder), shared by the task's units; None
    (train the judge in this process) for any other layout."""
    for task_dir in ctx.out_dir.resolve().parents[1:3]:
        if task_dir.name == "audio-fsdd" and task_dir.parent.name == "units":
            return task_dir
    return None


def _balanced(digits: np.ndarray, n_per_digit: int) -> np.ndarray:
    """The first `n_per_digit` indices of each digit 0-9, digit-major."""
    return np.concatenate([np.flatnonzero(digits == d)[:n_per_digit] for d in range(10)])


def train_recogniser(train: SpectrogramSet, suite: str, seed: int) -> SpeechRecogniser:
    """A recogniser over the 64 x 40 log-mel frames of the training clips (all frames valid)."""
    import dataclasses

    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.rnn.speech import SpeechRecogniser
    from diffrnn.training import fit

    recipe = judge_recipes()[suite]  # type: ignore[index]
    log_mels = train.scaling.denormalise(train.spectrograms)  # (N, M, T) the log-mel itself
    frames = torch.from_numpy(log_mels).transpose(1, 2).contiguous()  # (N, T, M)
    lengths = torch.full((frames.shape[0],), frames.shape[1], dtype=torch.long)
    torch.manual_seed(seed)
    recogniser = SpeechRecogniser(recipe.model)
    recogniser.set_normalisation(frames, lengths)
    digits = torch.from_numpy(train.digits)
    loader = seeded_loader(TensorDataset(frames, lengths, digits), recipe.batch_size, seed)
    result = fit(recogniser, loader, config=dataclasses.replace(recipe.train, seed=seed))
    return result.model  # type: ignore[return-value]


def cached_recogniser(
    train: SpectrogramSet, suite: str, seed: int, cache_dir: Path | None
) -> SpeechRecogniser:
    """`train_recogniser`, or its copy saved in `cache_dir/recogniser-<suite>-seed<seed>`."""
    from diffrnn.rnn.speech import SpeechRecogniser

    cached = cache_dir / f"recogniser-{suite}-seed{seed}" if cache_dir is not None else None
    if cached is not None and cached.is_dir():
        return SpeechRecogniser.from_pretrained(cached).eval()
    recogniser = train_recogniser(train, suite, seed)
    if cached is not None:
        recogniser.save_pretrained(cached)
    return recogniser


@lru_cache(maxsize=2)
def audio_bench(suite: str, seed: int, cache_dir: Path | None = None) -> AudioBench:
    """Load FSDD, build the spectrogram sets, train the judge (or load it from `cache_dir`, so
    the units of one run, each in its own process, share one) and score the real references.

    Args:
        suite: "quick", "full" or "reference" (the number of clips and the judge's budget).
    """
    from diffrnn.data.audio import load_fsdd
    from diffrnn.data.spectrograms import spectrogram_sets
    from diffrnn.evaluation.audio import accuracy, recogniser_outputs
    from diffrnn.evaluation.frechet import frechet_distance

    fsdd = load_fsdd()
    train_idx, test_idx = fsdd.official_split()
    train, test = spectrogram_sets(fsdd.waveforms, fsdd.digits, train_idx, test_idx)
    recogniser = cached_recogniser(train, suite, seed, cache_dir)
    test_waveforms = tuple(fsdd.waveforms[i] for i in test_idx)
    reference_features, test_probs = recogniser_outputs(recogniser, test_waveforms)
    n_per_digit = N_PER_DIGIT[suite]
    real_train = [fsdd.waveforms[i] for i in train_idx[_balanced(train.digits, n_per_digit)]]
    floor_features, _ = recogniser_outputs(recogniser, real_train)
    return AudioBench(
        train=train,
        test=test,
        test_waveforms=test_waveforms,
        recogniser=recogniser,
        recogniser_accuracy=accuracy(test_probs, test.digits),
        reference_features=reference_features,
        floor_fd=frechet_distance(floor_features, reference_features),
        n_per_digit=n_per_digit,
    )


def build_generator(name: GeneratorName, suite: str) -> nn.Module:
    """An untrained generator: the quick preset for the quick suite, the full one otherwise."""
    from diffrnn.diffusion.audio import SpectrogramDiffusion
    from diffrnn.errors import ConfigError
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU

    if name not in GENERATOR_RECIPES:
        raise ConfigError(f"model must be one of {GENERATORS}, got {name!r}.", "")
    config = GENERATOR_RECIPES[name]()["quick" if suite == "quick" else "full"].model
    return SpectrogramDiffusion(config) if name == "audio-diffusion" else SpectrogramGRU(config)


def generator_training(
    name: GeneratorName, train: SpectrogramSet, suite: str, seed: int
) -> tuple[nn.Module, DataLoader, TrainConfig]:
    """An untrained generator, its loader over the training spectrograms and its recipe (the
    budget is the caller's).

    The model keeps the training log-mel range in its `log_mel_range` buffer, so a saved model
    turns its samples back into sound on its own.
    """
    import dataclasses

    import torch
    from torch.utils.data import TensorDataset

    recipe = GENERATOR_RECIPES[name]()["quick" if suite == "quick" else "full"]
    torch.manual_seed(seed)
    model = build_generator(name, suite)
    model.log_mel_range.copy_(torch.tensor([train.scaling.low, train.scaling.high]))
    loader = seeded_loader(
        TensorDataset(torch.from_numpy(train.spectrograms), torch.from_numpy(train.digits)),
        recipe.batch_size,
        seed,
    )
    return model, loader, dataclasses.replace(recipe.train, seed=seed)


def _write_artefacts(
    out_dir: Path, log_mels: np.ndarray, waveforms: np.ndarray, digits: np.ndarray, title: str
) -> dict[str, str]:
    """One WAV per digit (its first clip) and a grid of spectrograms (a column per digit)."""
    from diffrnn.data.spectrograms import write_wav
    from diffrnn.plots import spectrogram_grid

    artefacts = {}
    for d in range(10):
        first = int(np.flatnonzero(digits == d)[0])
        write_wav(out_dir / f"digit_{d}.wav", waveforms[first])
        artefacts[f"wav_{d}"] = f"digit_{d}.wav"
    spectrogram_grid(log_mels, digits, out_dir / "spectrograms.png", title)
    artefacts["spectrogram_grid"] = "spectrograms.png"
    return artefacts


def _common_notes(bench: AudioBench) -> list[str]:
    return [
        f"recogniser accuracy on the untouched real test clips: {bench.recogniser_accuracy:.3f}; "
        f"real-vs-real fd floor (real training clips vs test, N = {10 * bench.n_per_digit}): "
        f"{bench.floor_fd:.3f}.",
    ]


def _generator_unit(ctx: UnitContext, name: GeneratorName) -> UnitOutput:

    from diffrnn.data.audio import SAMPLE_RATE
    from diffrnn.data.spectrograms import n_samples
    from diffrnn.evaluation.audio import generated_audio, score_audio
    from diffrnn.evaluation.timing import seconds_per_call

    bench = audio_bench(ctx.suite, ctx.seed, _judge_cache(ctx))
    untrained, loader, recipe = generator_training(name, bench.train, ctx.recipe, ctx.seed)
    result = train_for_unit(untrained, loader, ctx, recipe)
    model = result.model
    digits = np.repeat(np.arange(10), bench.n_per_digit)
    audio_s = len(digits) * n_samples(model.config.n_frames) / SAMPLE_RATE
    settings: list[dict[str, Any]] = (
        [{"steps": s} for s in ctx.preset(DIFFUSION_STEPS)] if name == "audio-diffusion" else [{}]
    )
    rows = []
    for kwargs in settings:
        waves, log_mels, sample_s, vocoder_s = generated_audio(model, digits, ctx.seed, **kwargs)
        scores = score_audio(bench.recogniser, list(waves), digits, bench.reference_features)
        rows.append((kwargs, scores, sample_s, vocoder_s, waves, log_mels))
    headline = next(
        (r for r in rows if r[0].get("steps") == getattr(model.config, "steps", None)), rows[0]
    )
    kwargs, scores, sample_s, vocoder_s, waves, log_mels = headline
    probe = np.arange(TIMING_CLIPS) % 10
    # the batch above warmed the model up: time 3 more calls on a probe of one clip per digit
    per_clip = (
        seconds_per_call(lambda: generated_audio(model, probe, ctx.seed, **kwargs), warmup=0)
        / TIMING_CLIPS
    )
    clip_s = audio_s / len(digits)
    notes = _common_notes(bench)
    notes.append(
        f"wall time per second of audio: {sample_s / audio_s:.3f} s generating the spectrograms "
        f"+ {vocoder_s / audio_s:.3f} s Griffin-Lim ({len(digits)} clips of "
        f"{audio_s / len(digits):.2f} s in one batch, {ctx.threads} thread(s)); "
        f"{result.steps} training steps."
    )
    if name == "audio-diffusion":
        notes.append(
            "DPM-Solver++ steps -> accuracy / fd / IS / s per audio s: "
            + "; ".join(
                f"{k['steps']}: {s.accuracy:.3f} / {s.fd:.2f} / {s.inception_score:.2f} / "
                f"{t / audio_s:.3f}"
                for k, s, t, *_ in rows
            )
            + f" (guidance {model.config.guidance_scale})."
        )
    artefacts = _write_artefacts(ctx.out_dir, log_mels, waves, digits, name)
    model.save_pretrained(ctx.out_dir / "model")
    artefacts["model"] = "model"
    return fitted_output(
        result,
        scores.metrics(),
        infer_seconds_per_sample=per_clip,
        throughput=clip_s / per_clip,
        throughput_unit="audio s/s",
        sampler_steps=kwargs.get("steps"),
        curves={
            "train_loss": result.train_losses,
            **(
                {"accuracy_vs_steps": [r[1].accuracy for r in rows]}
                if name == "audio-diffusion"
                else {}
            ),
        },
        artefacts=artefacts,
        notes=notes,
    )


@register_unit("audio-fsdd", "audio-diffusion", family="diffusion")
def audio_diffusion_unit(ctx: UnitContext) -> UnitOutput:
    """Class-conditional log-mel diffusion (DiffWave-style 1-D denoiser, CFG, DPM-Solver++)."""
    return _generator_unit(ctx, "audio-diffusion")


@register_unit("audio-fsdd", "audio-gru", family="rnn")
def audio_gru_unit(ctx: UnitContext) -> UnitOutput:
    """Class-conditional GRU generating the log-mel frame by frame (Gaussian-mixture frames)."""
    return _generator_unit(ctx, "audio-gru")


@register_unit("audio-fsdd", "real-griffinlim", family="reference")
def real_griffinlim_unit(ctx: UnitContext) -> UnitOutput:
    """Real test clips through the log-mel + Griffin-Lim round trip: the vocoder's own loss."""

    from diffrnn.data.spectrograms import log_mel_to_audio
    from diffrnn.evaluation.audio import score_audio
    from diffrnn.evaluation.timing import seconds_per_call

    bench = audio_bench(ctx.suite, ctx.seed, _judge_cache(ctx))
    pick = _balanced(bench.test.digits, bench.n_per_digit)
    digits = bench.test.digits[pick]
    log_mels = bench.test.scaling.denormalise(bench.test.spectrograms[pick])
    waves = log_mel_to_audio(log_mels)
    probe = log_mels[:TIMING_CLIPS]  # warmed up by the call above
    vocoder_s = seconds_per_call(lambda: log_mel_to_audio(probe), warmup=0) / len(probe)
    scores = score_audio(bench.recogniser, list(waves), digits, bench.reference_features)
    return UnitOutput(
        metrics=scores.metrics(),
        infer_seconds_per_sample=vocoder_s,
        notes=_common_notes(bench),
        artefacts=_write_artefacts(ctx.out_dir, log_mels, waves, digits, "real + Griffin-Lim"),
    )
