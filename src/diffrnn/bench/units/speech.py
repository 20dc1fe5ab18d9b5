"""Spoken-digit recognition on FSDD: the `majority` floor and recurrent recognisers.

Official split (takes 0-4 of every speaker and digit are the 300 test recordings). Features are
log-mel frames (40 bands, 10 ms hop) padded or cut to 1 s; each recording's true length masks the
pooling. The full suite also reports leave-one-speaker-out accuracy (each of the 6 speakers held
out in turn, one sixth of the budget each) as `accuracy_loso`.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import TYPE_CHECKING

from diffrnn.bench.registry import RecipeSize, UnitContext, UnitOutput, register_unit
from diffrnn.bench.unit_training import Recipe, fitted_output, seeded_loader, train_for_unit

if TYPE_CHECKING:  # torch stays off the registry's import path
    from diffrnn.rnn.cells import CellType
    from diffrnn.rnn.speech import SpeechConfig

N_FRAMES = 100  # 1 s at a 10 ms hop; 99% of the recordings are shorter
QUICK_TRAIN_PER_CLASS = 20  # the quick suite trains on 200 recordings


def speech_recipes(cell: CellType, n_features: int) -> dict[RecipeSize, Recipe[SpeechConfig]]:
    """The recipe of a `cell` recogniser on speech-fsdd by suite size."""
    from diffrnn.rnn.speech import speech
    from diffrnn.training import budgeted

    return {
        "quick": Recipe(speech("quick", cell, n_features), budgeted(1e-2), batch_size=32),
        "full": Recipe(speech("full", cell, n_features), budgeted(3e-3), batch_size=32),
    }


@lru_cache(maxsize=1)
def _fsdd():  # type: ignore[no-untyped-def]
    from diffrnn.data.audio import load_fsdd

    return load_fsdd()


@lru_cache(maxsize=1)
def _features(indices: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """(features (N, 100, 40), lengths (N,), labels (N,)) of the chosen recordings."""
    import torch

    from diffrnn.data.audio import HOP_LENGTH, stack_features

    fsdd = _fsdd()
    waves = [fsdd.waveforms[i] for i in indices]
    features = torch.from_numpy(stack_features(waves, "log_mel", N_FRAMES))
    lengths = torch.tensor([min(1 + len(w) // HOP_LENGTH, N_FRAMES) for w in waves])
    labels = torch.from_numpy(fsdd.digits[list(indices)])
    return features, lengths, labels


def _quick_subset(train, labels):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.concatenate([train[labels[train] == d][:QUICK_TRAIN_PER_CLASS] for d in range(10)])


@register_unit("speech-fsdd", "majority", family="baseline")
def majority_unit(ctx: UnitContext) -> UnitOutput:
    """Predict the most frequent training digit for every recording."""
    import numpy as np

    fsdd = _fsdd()
    train, test = fsdd.official_split()
    majority = int(np.bincount(fsdd.digits[train]).argmax())
    accuracy = float((fsdd.digits[test] == majority).mean())
    return UnitOutput(metrics={"accuracy": accuracy}, notes=[f"always digit {majority}"])


def fit_and_score(ctx: UnitContext, cell: CellType, data, train, test, share: float, name: str):  # type: ignore[no-untyped-def]
    """Train on rows `train` of `data` = (features, lengths, labels) for `share` of the unit's
    budget, score rows `test`; `name` keeps this training's checkpoints apart from the unit's
    other trainings."""
    import torch
    from torch.utils.data import TensorDataset

    from diffrnn.rnn.speech import SpeechRecogniser

    x_train, len_train, y_train = (t[train] for t in data)
    x_test, len_test, y_test = (t[test] for t in data)
    recipe = ctx.preset(speech_recipes(cell, x_train.shape[-1]))
    torch.manual_seed(ctx.seed)
    model = SpeechRecogniser(recipe.model)
    model.set_normalisation(x_train, len_train)
    loader = seeded_loader(TensorDataset(x_train, len_train, y_train), recipe.batch_size, ctx.seed)
    result = train_for_unit(model, loader, ctx, recipe.train, name=name, share=share)
    accuracy = float((result.model.predict(x_test, len_test) == y_test).float().mean())
    return result, accuracy


def _recogniser(ctx: UnitContext, cell: CellType) -> UnitOutput:
    import numpy as np

    from diffrnn.evaluation.timing import timed_call

    fsdd = _fsdd()
    train, test = fsdd.official_split()
    if ctx.recipe == "quick":  # features of the 700 recordings used only
        train = _quick_subset(train, fsdd.digits)
        used = np.concatenate([train, test])
        data = _features(tuple(int(i) for i in used))
        train, test = np.arange(len(train)), np.arange(len(train), len(used))
    else:
        data = _features(tuple(range(len(fsdd.digits))))
    share = 0.5 if ctx.recipe == "full" else 1.0  # the other half goes to leave-one-speaker-out
    result, accuracy = fit_and_score(ctx, cell, data, train, test, share, "official")
    results = [result]
    x_test, len_test = data[0][test], data[1][test]
    per_sample = timed_call(lambda: result.model.predict(x_test, len_test))[1] / len(test)
    metrics = {"accuracy": accuracy}
    notes = [
        f"official split: {len(train)} train / {len(test)} test recordings, {result.steps} steps"
    ]
    if ctx.recipe == "full":
        loso = {}
        for speaker in fsdd.speaker_names:
            held_in, held_out = fsdd.leave_one_speaker_out(speaker)
            fold_share = (1 - share) / len(fsdd.speaker_names)
            fold, loso[speaker] = fit_and_score(
                ctx, cell, data, held_in, held_out, fold_share, f"loso-{speaker}"
            )
            results.append(fold)
        metrics["accuracy_loso"] = loso
        notes.append(
            "accuracy_loso: each speaker held out in turn (500 recordings), "
            f"{ctx.budget_s * (1 - share) / 6:.0f} s of training each (train seconds and "
            "steps count every training of the unit)"
        )
    return fitted_output(
        results,
        metrics,
        infer_seconds_per_sample=per_sample,
        throughput=1.0 / per_sample,
        throughput_unit="recordings/s",
        curves={"train_loss": result.train_losses},
        notes=notes,
    )


for _cell in ("gru", "lstm"):  # partials pickle into the harness's unit processes
    register_unit(
        "speech-fsdd",
        _cell,
        family="rnn",
        description=f"Bidirectional {_cell} over log-mel frames, mean pooling, softmax.",
    )(partial(_recogniser, cell=_cell))
