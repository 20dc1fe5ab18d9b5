"""MDLM units: the full recipe's held-out selection, budget-end decay and snapshot curve, on the
same held-out slice and validation blocks as the char LMs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from diffrnn.bench.train import train_unit


def test_the_full_bigru_recipe_decays_to_the_budget_end_and_keeps_the_best_weights() -> None:
    from diffrnn.bench.units.masked_diffusion import mdlm_recipes

    train = mdlm_recipes("bigru", 65)["full"].train
    assert train.optim.schedule == "budget_cosine"
    assert train.keep_best and train.validate_at_end and train.val_every_n_steps
    assert mdlm_recipes("bigru", 65)["quick"].train.keep_best is False


def test_the_held_out_blocks_are_the_char_lms_held_out_slice() -> None:
    """Both families select on the same start of the training text and train on the rest."""
    import torch

    from diffrnn.bench.units.language import _held_out
    from diffrnn.bench.units.masked_diffusion import held_out_blocks
    from diffrnn.data.text import load_tinyshakespeare

    corpus = load_tinyshakespeare()
    blocks, loader = held_out_blocks(corpus.train_ids, 128)
    lm_train, lm_loader = _held_out(corpus.train_ids, 128)
    held = torch.cat([batch[0] for batch in loader])  # (N_held, 128)
    assert held.shape[1] == 128 and held.shape[0] == len(corpus.train_ids) // 20 // 128
    assert torch.equal(held.reshape(-1), lm_loader.dataset.rows.reshape(-1)[: held.numel()])
    assert torch.equal(blocks.reshape(-1), lm_train[: blocks.numel()])  # trained on the rest


def test_a_keep_best_mdlm_unit_selects_on_held_out_text_and_scores_its_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full recipe's path on a tiny bi-GRU: the snapshots are scored like the final model,
    whose held-out loss is the lowest validated."""
    from diffrnn.bench.unit_training import Recipe
    from diffrnn.bench.units import masked_diffusion

    def tiny(denoiser, vocab_size):  # type: ignore[no-untyped-def]
        full = recipes(denoiser, vocab_size)["full"]
        model = dataclasses.replace(full.model, d_model=16, n_layers=1)
        train = dataclasses.replace(full.train, val_every_n_steps=5)
        return {"full": Recipe(model, train, batch_size=8)}

    recipes = masked_diffusion.mdlm_recipes
    monkeypatch.setattr(masked_diffusion, "mdlm_recipes", tiny)
    monkeypatch.setattr(masked_diffusion, "SNAPSHOT_S", (0.5, 1.0, 60.0))
    monkeypatch.setattr(masked_diffusion, "VALIDATION", {"full": (32, 2)})
    out = train_unit("lm-shakespeare", "mdlm-bigru", 0, tmp_path, suite="full", budget_s=2.0)
    curve = out.curves["nats_per_char_vs_cpu_s"]
    assert len(curve["x"]) == 3 and curve["x"][0] >= 0.5 and curve["x"][-1] >= 2.0
    assert curve["y"][-1] == out.metrics["nats_per_char"]
    assert curve["y"][0] > curve["y"][-1]  # a tiny model still learns in its first seconds
    held = out.curves["held_out_loss_vs_cpu_s"]["y"]
    assert held[-1] == min(out.curves["val_loss"])
    assert any("held-out start of the training text" in note for note in out.notes)
    assert out.curves["chars_per_s_vs_steps"]["x"] == [16, 64, 128, 256]
