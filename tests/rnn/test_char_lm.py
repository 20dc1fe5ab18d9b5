"""Character LM: state carried across TBPTT batches, overfitting, sampling contract, save/load."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import DataLoader

from diffrnn.data.tbptt import TBPTTChunks
from diffrnn.errors import CheckpointError
from diffrnn.modeling import load
from diffrnn.rnn.char_lm import CharLM, CharLMConfig, char_lm
from diffrnn.training import OptimConfig, TrainConfig, fit

CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")


@pytest.fixture(autouse=True)
def _one_thread(_seed_and_threads: None) -> None:
    torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation


@pytest.mark.parametrize("cell", CELLS)
def test_stateful_loss_equals_one_long_pass(cell: str) -> None:
    """Two consecutive TBPTT batches with the carried state score exactly what one pass over the
    concatenated chunk scores; a reset batch scores what a fresh start scores."""
    model = CharLM(char_lm("quick", cell, vocab_size=11))
    tokens = torch.randint(0, 11, (3 * 17,))
    first, second = list(TBPTTChunks(tokens, batch_size=3, seq_len=8))[:2]
    whole = torch.cat([first["tokens"], second["tokens"][:, 1:]], dim=1)  # (B, 17)
    model.train()
    loss_a, loss_b = model.loss(first), model.loss(second)
    model.eval()
    logits, _ = model(whole[:, :-1])
    per_char = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), whole[:, 1:], reduction="none"
    )  # (B, 16)
    torch.testing.assert_close(loss_a, per_char[:, :8].mean())
    torch.testing.assert_close(loss_b, per_char[:, 8:].mean())
    model.train()
    reset = {"tokens": second["tokens"], "reset": torch.tensor(True)}
    model.eval()
    fresh = model.loss(second)
    model.train()
    torch.testing.assert_close(model.loss(reset), fresh)
    assert not torch.allclose(fresh, loss_b)


def test_carried_state_is_detached() -> None:
    model = CharLM(char_lm("quick", "lstm", vocab_size=5))
    batch = next(iter(TBPTTChunks(torch.randint(0, 5, (41,)), 2, 8)))
    model.train()
    model.loss(batch)
    assert all(not s.requires_grad for s in model.carried)


def test_nats_per_char_matches_a_single_pass() -> None:
    """The chunked, state-carrying evaluation equals one forward pass over each row."""
    model = CharLM(char_lm("quick", "gru", vocab_size=7))
    tokens = torch.randint(0, 7, (2 * 50,))
    chunked = model.nats_per_char(tokens, batch_size=2, seq_len=7)
    rows = tokens.reshape(2, 50)
    logits, _ = model(rows[:, :-1])
    whole = torch.nn.functional.cross_entropy(logits.transpose(1, 2), rows[:, 1:])
    assert math.isclose(chunked, float(whole.detach()), rel_tol=1e-5)


def test_block_nll_is_the_chain_rule_inside_each_block() -> None:
    """Block scoring = -log p(first) - sum of in-block next-character log-probs, and the
    state does not leak from one block into the next."""
    model = CharLM(char_lm("quick", "lstm", vocab_size=6))
    blocks = torch.randint(0, 6, (5, 9))
    first = torch.log_softmax(torch.randn(6), 0)
    expected = 0.0
    for row in blocks:
        logits, _ = model(row[None, :-1])  # fresh state per block
        log_probs = torch.log_softmax(logits[0], -1)
        expected -= float(first[row[0]]) + float(log_probs.gather(1, row[1:, None]).sum())
    got = model.block_nats_per_char(blocks, first, batch_size=2)
    assert math.isclose(got, expected / blocks.numel(), rel_tol=1e-5)


def test_overfits_a_repeating_text() -> None:
    torch.manual_seed(0)
    model = CharLM(char_lm("quick", "lstm", vocab_size=4))
    tokens = torch.tensor([0, 1, 2, 3, 2, 1] * 60)  # deterministic given two characters
    loader = DataLoader(TBPTTChunks(tokens, batch_size=4, seq_len=16), batch_size=None)
    result = fit(model, loader, config=TrainConfig(max_steps=150, optim=OptimConfig(lr=1e-2)))
    assert result.model.nats_per_char(tokens, batch_size=2) < 0.05


def test_sampling_contract() -> None:
    model = CharLM(char_lm("quick", "mingru", vocab_size=9))
    prompt = torch.randint(0, 9, (3, 4))
    a = model.sample(
        3,
        length=12,
        prompt=prompt,
        temperature=0.8,
        top_k=3,
        generator=torch.Generator().manual_seed(1),
    )
    b = model.sample(
        3,
        length=12,
        prompt=prompt,
        temperature=0.8,
        top_k=3,
        generator=torch.Generator().manual_seed(1),
    )
    assert a.shape == (3, 12) and a.dtype == torch.long
    assert torch.equal(a, b)
    greedy = model.sample(
        3, length=5, prompt=prompt, top_k=1, generator=torch.Generator().manual_seed(2)
    )
    logits, _ = model(prompt)
    assert torch.equal(greedy[:, 0], logits[:, -1].argmax(-1))  # top-1 is argmax decoding


def test_save_load_round_trip(tmp_path) -> None:
    model = CharLM(CharLMConfig(vocab_size=6, cell="minlstm", embed_dim=4, hidden_size=8))
    model.save_pretrained(tmp_path / "lm")
    loaded = load(tmp_path / "lm")
    tokens = torch.randint(0, 6, (2, 10))
    torch.testing.assert_close(loaded(tokens)[0], model.eval()(tokens)[0])
    assert loaded.config == model.config


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_carried_state_round_trips_and_a_foreign_one_is_refused(cell: str) -> None:
    config = CharLMConfig(vocab_size=10, cell=cell, embed_dim=4, hidden_size=8, num_layers=2)
    model = CharLM(config).train()
    batch = {"tokens": torch.randint(0, 10, (3, 6)), "reset": torch.tensor(False)}
    model.loss(batch)
    state = model.carried_state()
    twin = CharLM(config).train()
    twin.load_state_dict(model.state_dict())
    twin.load_carried_state(state)
    assert torch.equal(twin.loss(batch), model.loss(batch))  # both continue from the same state
    twin.load_carried_state({})
    assert twin.carried is None
    wrong = [{"h": torch.zeros(2, 3, 9)}, {"h": torch.full((2, 3, 8), math.nan)}, {"x": None}]
    for bad in wrong:
        with pytest.raises(CheckpointError, match="carried recurrent state"):
            twin.load_carried_state(bad)
