"""Pixel AR: exact normalised likelihood, causality, overfitting, sampling, save/load."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from diffrnn.modeling import load
from diffrnn.rnn.pixel_ar import PixelAR, PixelARConfig, pixel_lstm


@pytest.fixture(autouse=True)
def _one_thread(_seed_and_threads: None) -> None:
    torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation


def test_untrained_model_is_near_uniform_and_bits_use_log2() -> None:
    model = PixelAR(pixel_lstm("tiny", "gru"))
    images = torch.randint(0, 17, (8, 8, 8))
    nats = float(model.nll_per_dim(images).mean().detach())
    assert math.isclose(model.bits_per_dim(images), nats / math.log(2), rel_tol=1e-6)
    assert abs(model.bits_per_dim(images) - math.log2(17)) < 0.3


def test_likelihood_sums_to_one_over_a_tiny_alphabet() -> None:
    """With 2 levels, fix all pixels but the last two: the 4 completions' probabilities sum to 1
    times the probability of the shared prefix (the chain rule holds exactly)."""
    model = PixelAR(PixelARConfig(levels=2, cell="lstm", embed_dim=4, hidden_size=8)).eval()
    prefix = torch.randint(0, 2, (62,))
    images = torch.stack(
        [
            torch.cat([prefix, torch.tensor(tail)]).reshape(8, 8)
            for tail in itertools.product([0, 1], repeat=2)
        ]
    )
    log_p = -model.nll_per_dim(images) * 64  # (4,)
    logits = model(images[:1])  # (1, 64, 2)
    log_prefix = torch.log_softmax(logits, -1)[0, torch.arange(62), prefix].sum()
    torch.testing.assert_close(torch.logsumexp(log_p, 0), log_prefix)


def test_outputs_are_causal() -> None:
    model = PixelAR(pixel_lstm("tiny", "minlstm")).eval()
    a = torch.randint(0, 17, (1, 8, 8))
    b = a.clone()
    b[0, 4, 5] = (a[0, 4, 5] + 1) % 17  # pixel 37
    la, lb = model(a), model(b)
    torch.testing.assert_close(la[:, :38], lb[:, :38])  # logits of pixels 0..37 ignore pixel 37
    assert not torch.allclose(la[:, 38:], lb[:, 38:])


def test_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = PixelAR(pixel_lstm("tiny", "lstm", conditional=True))
    images, labels = torch.randint(0, 17, (4, 8, 8)), torch.arange(4)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(150):
        optimiser.zero_grad()
        model.loss((images, labels)).backward()
        optimiser.step()
    assert model.bits_per_dim(images, labels) < 0.5  # from 4.09 bits/dim


def test_sampling_contract() -> None:
    model = PixelAR(pixel_lstm("tiny", "mingru", conditional=True))
    labels = torch.tensor([0, 3, 9])
    a = model.sample(3, labels=labels, generator=torch.Generator().manual_seed(4))
    b = model.sample(3, labels=labels, generator=torch.Generator().manual_seed(4))
    assert a.shape == (3, 8, 8) and a.dtype == torch.long
    assert torch.equal(a, b) and int(a.min()) >= 0 and int(a.max()) <= 16
    balanced = model.sample(3, generator=torch.Generator().manual_seed(4))  # labels 0, 1, 2
    given = model.sample(3, labels=torch.arange(3), generator=torch.Generator().manual_seed(4))
    assert torch.equal(balanced, given)
    with pytest.raises(ValueError, match="labels must be a \\(3,\\)"):
        model.sample(3, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="labels must lie in \\[0, 10\\)"):
        model.sample(2, labels=torch.tensor([0, 10]))


def test_save_load_round_trip(tmp_path) -> None:
    model = PixelAR(pixel_lstm("tiny", "gru", conditional=True))
    model.save_pretrained(tmp_path / "px")
    loaded = load(tmp_path / "px")
    images, labels = torch.randint(0, 17, (2, 8, 8)), torch.tensor([1, 2])
    torch.testing.assert_close(loaded(images, labels), model.eval()(images, labels))
