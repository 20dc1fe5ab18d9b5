"""Language units: a step-budgeted char LM stopped mid-pass and resumed scores like one run."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from diffrnn.bench.train import train_unit

STEPS, STOP = 24, 11  # the quick recipe's pass is about 980 batches: the stop is mid-pass


def test_a_stopped_lm_unit_resumes_to_the_metrics_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    """The TBPTT chunks continue at the batch after the checkpoint and the carried recurrent
    state comes back with it, so the metrics are equal, and Lightning has nothing to warn of."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        whole = train_unit("lm-shakespeare", "lstm", 0, tmp_path / "whole", max_steps=STEPS)
        train_unit("lm-shakespeare", "lstm", 0, tmp_path / "stopped", max_steps=STOP)
        resumed = train_unit(
            "lm-shakespeare", "lstm", 0, tmp_path / "stopped", max_steps=STEPS, resume=True
        )
    assert resumed.steps == whole.steps == STEPS
    assert resumed.metrics == whole.metrics
    assert not [w for w in caught if "not resumable" in str(w.message)]


def test_the_full_recipe_regularises_and_its_settings_reach_the_model_and_optimiser() -> None:
    from diffrnn.bench.units.language import char_lm_recipes
    from diffrnn.rnn.char_lm import CharLM
    from diffrnn.training import LitModel

    short, long = (char_lm_recipes("lstm", 65, budget)["full"] for budget in (120.0, 1800.0))
    assert (short.model.num_layers, long.model.num_layers) == (1, 2)
    assert long.model.dropout > 0
    for recipe in (short, long):
        assert recipe.train.optim.weight_decay > 0
        assert recipe.train.optim.schedule == "budget_cosine"
        assert recipe.train.keep_best and recipe.train.validate_at_end
        model = CharLM(recipe.model)
        assert model.drop.p == recipe.model.dropout  # before the read-out
        if recipe.model.num_layers > 1:
            assert model.rnn.rnn.dropout == recipe.model.dropout  # between layers
        optimiser = LitModel(model, recipe.train.optim).configure_optimizers()["optimizer"]
        decay = {group["weight_decay"] for group in optimiser.param_groups}
        assert decay == {recipe.train.optim.weight_decay}


def test_the_held_out_slice_is_the_start_of_the_training_text_never_the_validation_split() -> None:
    import torch

    from diffrnn.bench.units.language import HELD_OUT_FRACTION, _held_out
    from diffrnn.data.text import load_tinyshakespeare

    corpus = load_tinyshakespeare()
    train, loader = _held_out(corpus.train_ids, 128)
    cut = int(len(corpus.train_ids) * HELD_OUT_FRACTION)
    assert torch.equal(train, torch.from_numpy(corpus.train_ids[cut:]))
    rows = loader.dataset.rows  # (16, N // 16): the held-out text, row after row
    held = torch.from_numpy(corpus.train_ids[:cut])
    assert torch.equal(rows.reshape(-1), held[: rows.numel()])
    assert rows.numel() > 0.99 * len(held)


def test_a_keep_best_lm_unit_selects_on_the_held_out_slice_and_scores_its_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full recipe's path on a tiny model: selection on held-out training text, the
    validation split only scored, and the snapshots scored like the final model."""
    import dataclasses

    from diffrnn.bench.unit_training import Recipe
    from diffrnn.bench.units import language
    from diffrnn.rnn.char_lm import char_lm

    def tiny(cell, vocab_size, budget_s):  # type: ignore[no-untyped-def]
        full = language_recipes(cell, vocab_size, budget_s)["full"]
        model = dataclasses.replace(char_lm("quick", cell, vocab_size), hidden_size=16)
        train = dataclasses.replace(full.train, val_every_n_steps=5)
        return {"full": Recipe(model, train, batch_size=8)}

    language_recipes = language.char_lm_recipes
    monkeypatch.setattr(language, "char_lm_recipes", tiny)
    monkeypatch.setattr(language, "SNAPSHOT_S", (0.5, 1.0, 60.0))
    out = train_unit("lm-shakespeare", "lstm", 0, tmp_path, suite="full", budget_s=2.0)
    curve = out.curves["nats_per_char_vs_cpu_s"]
    assert len(curve["x"]) == 3 and curve["x"][0] >= 0.5 and curve["x"][-1] >= 2.0
    assert curve["y"][-1] == out.metrics["nats_per_char"]
    blocks = out.curves["nats_per_char_blocks_vs_cpu_s"]  # the MDLM's protocol at each point
    assert blocks["x"] == curve["x"] and blocks["y"][-1] == out.metrics["nats_per_char_blocks"]
    assert blocks["y"][0] != curve["y"][0]
    held = out.curves["held_out_loss_vs_cpu_s"]["y"]
    assert held[-1] == min(out.curves["val_loss"])  # the selected weights' held-out loss
    assert any("held-out first 5% of the training text" in note for note in out.notes)
