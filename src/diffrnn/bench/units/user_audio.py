"""Units of `speech-user`: the recognisers of speech-fsdd on the user's class folders.

The majority class and the bidirectional GRU and LSTM over log-mel frames, trained and scored by
speech-fsdd's own code (`units.speech.fit_and_score`) on the user's split (see
`diffrnn.bench.user_audio`).
"""

from __future__ import annotations

from functools import partial

from diffrnn.bench.registry import UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import fitted_output
from diffrnn.bench.units.speech import fit_and_score
from diffrnn.bench.user_audio import TASK, user_speech
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
