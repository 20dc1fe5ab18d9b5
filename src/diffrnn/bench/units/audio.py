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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

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
C = TypeVar("C")
DIGITS = tuple(str(d) for d in range(10))
"""FSDD's class names."""

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


def _generator_recipes(preset: Callable[[RecipeSize], C], lr: float) -> dict[RecipeSize, Recipe[C]]:
    """A generator's recipes: `preset(size)`, Adam at `lr` with 10 (quick) or 100 (full) warm-up
    steps, batches of 32 (quick) or 64 (full)."""
    from diffrnn.training import OptimConfig, TrainConfig

    def train(warmup_steps: int) -> TrainConfig:
        return TrainConfig(max_steps=-1, optim=OptimConfig(lr=lr, warmup_steps=warmup_steps))

    return {
        "quick": Recipe(preset("quick"), train(10), batch_size=32),
        "full": Recipe(preset("full"), train(100), batch_size=64),
    }


def audio_diffusion_recipes(
    num_classes: int = 10,
) -> dict[RecipeSize, Recipe[SpectrogramDiffusionConfig]]:
    """The recipe of `audio-diffusion` by suite size (`num_classes`: the classes said). No EMA
    of the weights: at the reference budgets (a few hundred steps) an EMA of 0.995 kept the
    evaluated weights near their start (30 CPU s, seed 0, guidance 4: 0.15 recognised with it,
    0.61 without; BENCHMARKS.md)."""
    from diffrnn.diffusion.audio import spectrogram_diffusion

    return _generator_recipes(lambda size: spectrogram_diffusion(size, num_classes), lr=2e-3)


def audio_gru_recipes(num_classes: int = 10) -> dict[RecipeSize, Recipe[SpectrogramGRUConfig]]:
    """The recipe of `audio-gru` by suite size (`num_classes`: the classes said)."""
    from diffrnn.rnn.spectrogram_gru import spectrogram_gru

    return _generator_recipes(lambda size: spectrogram_gru(size, num_classes), lr=1e-3)


GENERATOR_RECIPES = {"audio-diffusion": audio_diffusion_recipes, "audio-gru": audio_gru_recipes}


@dataclass(frozen=True, eq=False)
class AudioBench:
    """What every unit of a synthesis task shares: the data, the judge and the real-clip
    references.

    Attributes:
        train, test: the spectrogram sets (labels in `digits`, 0 to len(classes) - 1).
        recogniser_accuracy: the judge's accuracy on the untouched test clips.
        reference_features: (N_test, F) the judge's features of the test clips.
        floor_fd: the real-vs-real floor, `floor_n` real training clips (up to `n_per_class` of
            each class) against the test clips.
        classes: the class names by label; the WAV artefacts are `<wav_prefix>_<label>.wav`.
    """

    train: SpectrogramSet
    test: SpectrogramSet
    test_waveforms: tuple[np.ndarray, ...]
    recogniser: SpeechRecogniser
    recogniser_accuracy: float
    reference_features: np.ndarray
    floor_fd: float
    floor_n: int
    n_per_class: int
    classes: tuple[str, ...] = DIGITS
    wav_prefix: str = "digit"

    @property
    def num_classes(self) -> int:
        """The classes the generators say."""
        return len(self.classes)


def judge_cache(ctx: UnitContext, task: str = "audio-fsdd") -> Path | None:
    """The task's folder of a `compare` run (`runs/<id>/units/<task>/<model>/seed<k>/`, or
    `.../<model>/b<budget>/seed<k>/` on a compute ladder), shared by the task's units; None
    (train the judge in this process) for any other layout."""
    for task_dir in ctx.out_dir.resolve().parents[1:3]:
        if task_dir.name == task and task_dir.parent.name == "units":
            return task_dir
    return None


def _balanced(labels: np.ndarray, n_per_class: int, num_classes: int) -> np.ndarray:
    """The first `n_per_class` indices (fewer where there are fewer) of each class, class-major."""
    return np.concatenate([np.flatnonzero(labels == c)[:n_per_class] for c in range(num_classes)])


def train_recogniser(
    train: SpectrogramSet, suite: str, seed: int, num_classes: int = 10
) -> SpeechRecogniser:
    """A recogniser of `num_classes` classes over the 64 x 40 log-mel frames of the training
    clips (all frames valid)."""
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
    recogniser = SpeechRecogniser(dataclasses.replace(recipe.model, n_classes=num_classes))
    recogniser.set_normalisation(frames, lengths)
    digits = torch.from_numpy(train.digits)
    loader = seeded_loader(TensorDataset(frames, lengths, digits), recipe.batch_size, seed)
    result = fit(recogniser, loader, config=dataclasses.replace(recipe.train, seed=seed))
    return result.model  # type: ignore[return-value]


def cached_recogniser(
    train: SpectrogramSet, suite: str, seed: int, cache_dir: Path | None, num_classes: int = 10
) -> SpeechRecogniser:
    """`train_recogniser`, or its copy saved in `cache_dir/recogniser-<suite>-seed<seed>`."""
    from diffrnn.rnn.speech import SpeechRecogniser

    cached = cache_dir / f"recogniser-{suite}-seed{seed}" if cache_dir is not None else None
    if cached is not None and cached.is_dir():
        return SpeechRecogniser.from_pretrained(cached).eval()
    recogniser = train_recogniser(train, suite, seed, num_classes)
    if cached is not None:
        recogniser.save_pretrained(cached)
    return recogniser


def judge_bench(
    waveforms: Sequence[np.ndarray],
    labels: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    classes: tuple[str, ...],
    suite: str,
    seed: int,
    cache_dir: Path | None = None,
    wav_prefix: str = "class",
) -> AudioBench:
    """Build the spectrogram sets, train the judge (or load it from `cache_dir`, so the units of
    one run, each in its own process, share one) and score the real references.

    Args:
        waveforms: N clips at 8 kHz; labels (N,) their classes, indices into `classes`.
        train_idx, test_idx: the split (every class must have training clips).
        suite: "quick", "full" or "reference" (the number of clips and the judge's budget).
    """
    from diffrnn.data.spectrograms import spectrogram_sets
    from diffrnn.evaluation.audio import accuracy, recogniser_outputs
    from diffrnn.evaluation.frechet import frechet_distance

    train, test = spectrogram_sets(waveforms, labels, train_idx, test_idx)
    recogniser = cached_recogniser(train, suite, seed, cache_dir, len(classes))
    test_waveforms = tuple(waveforms[i] for i in test_idx)
    reference_features, test_probs = recogniser_outputs(recogniser, test_waveforms)
    n_per_class = N_PER_DIGIT[suite]
    floor_idx = train_idx[_balanced(train.digits, n_per_class, len(classes))]
    floor_features, _ = recogniser_outputs(recogniser, [waveforms[i] for i in floor_idx])
    return AudioBench(
        train=train,
        test=test,
        test_waveforms=test_waveforms,
        recogniser=recogniser,
        recogniser_accuracy=accuracy(test_probs, test.digits),
        reference_features=reference_features,
        floor_fd=frechet_distance(floor_features, reference_features),
        floor_n=len(floor_idx),
        n_per_class=n_per_class,
        classes=classes,
        wav_prefix=wav_prefix,
    )


@lru_cache(maxsize=2)
def audio_bench(suite: str, seed: int, cache_dir: Path | None = None) -> AudioBench:
    """FSDD's `judge_bench` on the official split."""
    from diffrnn.data.audio import load_fsdd

    fsdd = load_fsdd()
    train_idx, test_idx = fsdd.official_split()
    return judge_bench(
        fsdd.waveforms, fsdd.digits, train_idx, test_idx, DIGITS, suite, seed, cache_dir, "digit"
    )


def build_generator(name: GeneratorName, suite: str, num_classes: int = 10) -> nn.Module:
    """An untrained generator: the quick preset for the quick suite, the full one otherwise."""
    from diffrnn.diffusion.audio import SpectrogramDiffusion
    from diffrnn.errors import ConfigError
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU

    if name not in GENERATOR_RECIPES:
        raise ConfigError(f"model must be one of {GENERATORS}, got {name!r}.", "")
    config = GENERATOR_RECIPES[name](num_classes)["quick" if suite == "quick" else "full"].model
    return SpectrogramDiffusion(config) if name == "audio-diffusion" else SpectrogramGRU(config)


def generator_training(
    name: GeneratorName, train: SpectrogramSet, suite: str, seed: int, num_classes: int = 10
) -> tuple[nn.Module, DataLoader, TrainConfig]:
    """An untrained generator of `num_classes` classes, its loader over the training
    spectrograms and its recipe (the budget is the caller's).

    The model keeps the training log-mel range in its `log_mel_range` buffer, so a saved model
    turns its samples back into sound on its own; the diffusion model also keeps the training
    spectrograms' per-band statistics, with which it standardises them.
    """
    import dataclasses

    import torch
    from torch.utils.data import TensorDataset

    recipe = GENERATOR_RECIPES[name](num_classes)["quick" if suite == "quick" else "full"]
    torch.manual_seed(seed)
    model = build_generator(name, suite, num_classes)
    model.log_mel_range.copy_(torch.tensor([train.scaling.low, train.scaling.high]))
    spectrograms = torch.from_numpy(train.spectrograms)  # (N, n_mels, n_frames)
    if name == "audio-diffusion":
        model.set_standardisation(spectrograms)
    loader = seeded_loader(
        TensorDataset(spectrograms, torch.from_numpy(train.digits)),
        recipe.batch_size,
        seed,
    )
    return model, loader, dataclasses.replace(recipe.train, seed=seed)


def _write_artefacts(
    bench: AudioBench,
    out_dir: Path,
    log_mels: np.ndarray,
    waveforms: np.ndarray,
    labels: np.ndarray,
    title: str,
) -> dict[str, str]:
    """One WAV per class (its first clip) and a grid of spectrograms (a column per class)."""
    from diffrnn.data.spectrograms import write_wav
    from diffrnn.plots import spectrogram_grid

    artefacts = {}
    for k, name in enumerate(bench.classes):
        clips = np.flatnonzero(labels == k)
        if clips.size:  # a class may have no clip in the user's test split
            write_wav(out_dir / f"{bench.wav_prefix}_{k}.wav", waveforms[clips[0]])
            artefacts[f"wav_{name}"] = f"{bench.wav_prefix}_{k}.wav"
    spectrogram_grid(log_mels, labels, out_dir / "spectrograms.png", title, bench.classes)
    artefacts["spectrogram_grid"] = "spectrograms.png"
    return artefacts


def _common_notes(bench: AudioBench) -> list[str]:
    return [
        f"recogniser accuracy on the untouched real test clips: {bench.recogniser_accuracy:.3f}; "
        f"real-vs-real fd floor (real training clips vs test, N = {bench.floor_n}): "
        f"{bench.floor_fd:.3f}.",
    ]


def generator_unit(ctx: UnitContext, name: GeneratorName, bench: AudioBench) -> UnitOutput:
    """Train generator `name` on `bench`'s training spectrograms within the unit's budget, ask
    for `n_per_class` clips of every class, voice them with Griffin-Lim and judge them."""
    from diffrnn.data.audio import SAMPLE_RATE
    from diffrnn.data.spectrograms import n_samples
    from diffrnn.evaluation.audio import generated_audio, score_audio
    from diffrnn.evaluation.timing import seconds_per_call

    untrained, loader, recipe = generator_training(
        name, bench.train, ctx.recipe, ctx.seed, bench.num_classes
    )
    result = train_for_unit(untrained, loader, ctx, recipe)
    model = result.model
    digits = np.repeat(np.arange(bench.num_classes), bench.n_per_class)
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
    probe = np.arange(TIMING_CLIPS) % bench.num_classes
    # the batch above warmed the model up: time 3 more calls on a probe of TIMING_CLIPS clips
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
    artefacts = _write_artefacts(bench, ctx.out_dir, log_mels, waves, digits, name)
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


def griffinlim_unit(ctx: UnitContext, bench: AudioBench) -> UnitOutput:
    """Real test clips (up to `n_per_class` a class) through the log-mel + Griffin-Lim round
    trip, judged as the generators' clips are: the vocoder's own loss."""
    from diffrnn.data.spectrograms import log_mel_to_audio
    from diffrnn.evaluation.audio import score_audio
    from diffrnn.evaluation.timing import seconds_per_call

    pick = _balanced(bench.test.digits, bench.n_per_class, bench.num_classes)
    digits = bench.test.digits[pick]
    log_mels = bench.test.scaling.denormalise(bench.test.spectrograms[pick])
    waves = log_mel_to_audio(log_mels)
    probe = log_mels[:TIMING_CLIPS]  # warmed up by the call above
    vocoder_s = seconds_per_call(lambda: log_mel_to_audio(probe), warmup=0) / len(probe)
    scores = score_audio(bench.recogniser, list(waves), digits, bench.reference_features)
    artefacts = _write_artefacts(bench, ctx.out_dir, log_mels, waves, digits, "real + Griffin-Lim")
    return UnitOutput(
        metrics=scores.metrics(),
        infer_seconds_per_sample=vocoder_s,
        notes=_common_notes(bench),
        artefacts=artefacts,
    )


def _fsdd_bench(ctx: UnitContext) -> AudioBench:
    return audio_bench(ctx.suite, ctx.seed, judge_cache(ctx))


@register_unit("audio-fsdd", "audio-diffusion", family="diffusion")
def audio_diffusion_unit(ctx: UnitContext) -> UnitOutput:
    """Class-conditional log-mel diffusion (DiffWave-style 1-D denoiser, CFG, DPM-Solver++)."""
    return generator_unit(ctx, "audio-diffusion", _fsdd_bench(ctx))


@register_unit("audio-fsdd", "audio-gru", family="rnn")
def audio_gru_unit(ctx: UnitContext) -> UnitOutput:
    """Class-conditional GRU generating the log-mel frame by frame (Gaussian-mixture frames)."""
    return generator_unit(ctx, "audio-gru", _fsdd_bench(ctx))


@register_unit("audio-fsdd", "real-griffinlim", family="reference")
def real_griffinlim_unit(ctx: UnitContext) -> UnitOutput:
    """Real test clips through the log-mel + Griffin-Lim round trip: the vocoder's own loss."""
    return griffinlim_unit(ctx, _fsdd_bench(ctx))
