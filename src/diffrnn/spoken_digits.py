"""Spoken digits from a log-mel generator of audio-fsdd (`audio-diffusion` or `audio-gru`), voiced
by Griffin-Lim: what `diffrnn sample` runs.

    model = quick_generator("audio-gru", seed=0, budget_s=60)  # or diffrnn.load(folder)
    check_generator(model)
    waves, log_mels, sample_s, vocoder_s = generated_audio(model, np.array([7]), seed=0)

`quick_generator` trains the task's quick-suite recipe (`diffrnn.bench.units.audio`) on the FSDD
training split; `generated_audio` (`diffrnn.evaluation.audio`) is the bench's own sampling and
voicing. Heavy imports wait for the call, so a bad name is refused at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diffrnn.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from diffrnn.bench.units.audio import GeneratorName


def check_name(model: str) -> None:
    """A ConfigError unless `model` names one of audio-fsdd's generators."""
    from diffrnn.bench.units.audio import GENERATORS

    if model not in GENERATORS:
        raise ConfigError(f"--model must be one of {', '.join(GENERATORS)}, got {model!r}.")


def quick_generator(name: GeneratorName, seed: int, budget_s: float) -> nn.Module:
    """The quick-suite generator `name` trained for `budget_s` seconds (CPU seconds on a CPU)
    on the FSDD train split."""
    import dataclasses

    from diffrnn.bench.units.audio import generator_training
    from diffrnn.data.audio import load_fsdd
    from diffrnn.data.spectrograms import spectrogram_sets
    from diffrnn.training import fit

    fsdd = load_fsdd()
    train, _ = spectrogram_sets(fsdd.waveforms, fsdd.digits, *fsdd.official_split())
    model, loader, recipe = generator_training(name, train, "quick", seed)
    return fit(model, loader, config=dataclasses.replace(recipe, budget_s=budget_s)).model


def check_generator(model: Any) -> None:
    """A ConfigError unless `model` is one of this task's generators (e.g. loaded by --from)."""
    from diffrnn.diffusion.audio import SpectrogramDiffusion
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU

    if not isinstance(model, SpectrogramDiffusion | SpectrogramGRU):
        raise ConfigError(
            f"the saved model is a {type(model).__name__}, not a spoken-digit generator.",
            "pass the model/ folder of an audio-diffusion or audio-gru run.",
        )
