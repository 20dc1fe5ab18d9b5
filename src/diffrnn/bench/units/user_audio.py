"""Units of the user's class folders of recordings: `speech-user` and `audio-user`.

speech-user: the majority class and the bidirectional GRU and LSTM over log-mel frames, trained
and scored by speech-fsdd's own code (`units.speech.fit_and_score`) on the user's split (see
`diffrnn.bench.user_audio`).

audio-user: audio-fsdd's class-conditional spectrogram diffusion and spectrogram GRU generator
and its `real-griffinlim` row (`units.audio.generator_unit`, `griffinlim_unit`) on the same
split, judged by a recogniser of the user's classes trained on the training recordings (shared by
the task's units of a run, as on audio-fsdd). Beside audio-fsdd's metrics each unit reports
`fd_real_vs_real`, the floor of `fd`.
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output
from diffrnn.bench.units.audio import (
    AudioBench,
    GeneratorName,
    generator_unit,
    griffinlim_unit,
    judge_bench,
    judge_cache,
)
from diffrnn.bench.units.speech import fit_and_score
from diffrnn.bench.user_audio import GENERATE_TASK, TASK, user_recordings, user_speech
from diffrnn.rnn.cells import CellType


@register_unit(TASK, "majority", family="baseline")
def majority_user_audio(ctx: UnitContext) -> UnitOutput:
    """Predict the most frequent training class for every test recording."""
    s = user_speech(ctx.options)
    import numpy as np

    labels = s.data[2].numpy()
    majority = int(np.bincount(labels[s.train]).argmax())
    accuracy = float((labels[s.test] == majority).mean())
    return UnitOutput(metrics={"accuracy": accuracy}, notes=[f"always {s.classes[majority]!r}"])


def _recogniser_user(ctx: UnitContext, cell: CellType) -> UnitOutput:
    from diffrnn.evaluation.timing import timed_call

    s = user_speech(ctx.options)
    result, accuracy = fit_and_score(ctx, cell, s.data, s.train, s.test, 1.0, "user")
    x_test, len_test = s.data[0][s.test], s.data[1][s.test]
    per_sample = timed_call(lambda: result.model.predict(x_test, len_test))[1] / len(s.test)
    return fitted_output(
        result,
        {"accuracy": accuracy},
        infer_seconds_per_sample=per_sample,
        throughput=1.0 / per_sample,
        throughput_unit="recordings/s",
        notes=[f"{len(s.train)} train / {len(s.test)} test recordings ({s.split})"],
    )


for _cell in ("gru", "lstm"):  # partials pickle into the harness's unit processes
    register_unit(
        TASK,
        _cell,
        family="rnn",
        description=f"Bidirectional {_cell} over log-mel frames, mean pooling, softmax.",
    )(partial(_recogniser_user, cell=_cell))


@lru_cache(maxsize=2)
def _user_bench(path: str, suite: str, seed: int, cache_dir: Path | None) -> AudioBench:
    """audio-fsdd's bench (spectrograms, judge, references) on the recordings of `path`."""
    data = user_recordings(path)
    labels, classes = data.survey.labels, data.survey.classes
    return judge_bench(data.waves, labels, data.train, data.test, classes, suite, seed, cache_dir)


def _generated_user(ctx: UnitContext, name: GeneratorName | None) -> UnitOutput:
    """Generator `name` (None: the real clips through Griffin-Lim) on the user's recordings."""
    bench = _user_bench(ctx.options["path"], ctx.suite, ctx.seed, judge_cache(ctx, GENERATE_TASK))
    out = griffinlim_unit(ctx, bench) if name is None else generator_unit(ctx, name, bench)
    out.metrics["fd_real_vs_real"] = bench.floor_fd
    return out


register_unit(
    GENERATE_TASK,
    "audio-diffusion",
    family="diffusion",
    description="Class-conditional log-mel diffusion (DiffWave-style 1-D denoiser, CFG, "
    "DPM-Solver++) over your classes.",
)(partial(_generated_user, name="audio-diffusion"))
register_unit(
    GENERATE_TASK,
    "audio-gru",
    family="rnn",
    description="Class-conditional GRU generating the log-mel frame by frame over your classes.",
)(partial(_generated_user, name="audio-gru"))
register_unit(
    GENERATE_TASK,
    "real-griffinlim",
    family="reference",
    description="Your test recordings through the log-mel + Griffin-Lim round trip: the "
    "vocoder's own loss.",
)(partial(_generated_user, name=None))
