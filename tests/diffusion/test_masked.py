"""MDLM: the schedule's marginals, the bound's closed forms, the sampler's contract, save/load."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.diffusion.masked import MDLM, MDLMConfig, bound_nats_per_token, mask_tokens
from diffrnn.training import OptimConfig, TrainConfig, fit


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # tiny models gain nothing from a second thread, and on a shared, loaded CPU two threads
    # spin against each other (measured 15x slower); CI's result is the same either way
    torch.set_num_threads(1)


V = 5


class FixedLogits(nn.Module):
    """A denoiser that ignores its input and returns the same logits everywhere."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(*z.shape, -1)


class Oracle(nn.Module):
    """A denoiser that knows the clean sequence: a near-one-hot distribution on it."""

    def __init__(self, x: torch.Tensor) -> None:
        super().__init__()
        self.x = x

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 50.0 * nn.functional.one_hot(self.x, V).float()


def _model(denoiser: str = "transformer", seq_len: int = 16) -> MDLM:
    return MDLM(MDLMConfig(vocab_size=V, seq_len=seq_len, denoiser=denoiser, d_model=16))


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_masking_rate_matches_the_log_linear_schedule(t: float) -> None:
    x = torch.zeros(400, 250, dtype=torch.int64)
    z = mask_tokens(x, torch.full((400,), t), mask_id=V, generator=torch.Generator().manual_seed(1))
    rate = (z == V).float().mean().item()
    assert abs(rate - t) < 4 * math.sqrt(t * (1 - t) / x.numel())  # 1 - alpha_t = t
    assert ((z == V) | (z == x)).all()  # tokens are either kept or absorbed


def test_bound_of_a_perfect_denoiser_is_zero() -> None:
    model = _model()
    x = torch.randint(0, V, (32, 16))
    model.denoiser = Oracle(x)
    t = torch.linspace(0.05, 1.0, 32)
    z = mask_tokens(x, t, V, torch.Generator().manual_seed(0))
    assert (z == V).sum() > 100  # many masked positions contribute ... nothing
    assert model.nelbo(x, t).abs().max() < 1e-6
    assert model.discrete_bound(x, steps=100).abs().max() < 1e-6


def test_bound_of_a_uniform_denoiser_is_log_vocab_per_token() -> None:
    # E_t[(1/t) * #masked * log V] = E_t[(1/t) * t L log V] = L log V, for both bounds.
    model = _model()
    model.denoiser = FixedLogits(torch.zeros(V))
    x = torch.randint(0, V, (4000, 16))
    continuous = model.loss(x).item()
    discrete = bound_nats_per_token(model, x, steps=50, repeats=2)
    assert continuous == pytest.approx(math.log(V), rel=0.03)
    assert discrete == pytest.approx(math.log(V), rel=0.03)


@pytest.mark.parametrize("denoiser", ["transformer", "bigru"])
def test_sampling_contract(denoiser: str) -> None:
    model = _model(denoiser).eval()
    a = model.sample(3, steps=8, generator=torch.Generator().manual_seed(4))
    b = model.sample(3, steps=8, generator=torch.Generator().manual_seed(4))
    c = model.sample(3, steps=8, generator=torch.Generator().manual_seed(5))
    assert a.shape == (3, 16) and a.dtype == torch.int64
    assert ((a >= 0) & (a < V)).all()  # no mask token left
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("steps", [1, 4, 64])
def test_samples_follow_the_denoiser_distribution(steps: int) -> None:
    p = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03])
    model = _model()
    model.denoiser = FixedLogits(p.log())
    tokens = model.sample(500, steps=steps, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(tokens.flatten(), minlength=V).float() / tokens.numel()
    assert torch.allclose(freq, p, atol=4 * math.sqrt(0.25 / tokens.numel()))


def test_one_step_reveals_everything_and_zero_steps_is_refused() -> None:
    model = _model().eval()
    assert (model.sample(2, steps=1) < V).all()
    with pytest.raises(ValueError, match="steps"):
        model.sample(2, steps=0)


def test_unknown_denoiser_is_refused() -> None:
    with pytest.raises(ValueError, match="denoiser must be one of"):
        MDLMConfig(denoiser="lstm")  # type: ignore[arg-type]


@pytest.mark.parametrize("denoiser", ["transformer", "bigru"])
def test_save_load_round_trip(tmp_path: Path, denoiser: str) -> None:
    model = _model(denoiser).eval()
    model.codepoints.copy_(torch.tensor([ord(c) for c in "abcde"]))
    z = torch.randint(0, V + 1, (2, 16))
    model.save_pretrained(tmp_path / "m")
    loaded = MDLM.from_pretrained(tmp_path / "m")
    assert loaded.config == model.config
    assert torch.equal(loaded.log_probs(z), model.log_probs(z))
    assert loaded.decode(torch.tensor([[0, 4, 2]])) == ["aec"]


def test_tiny_bigru_overfits_one_sequence() -> None:
    torch.manual_seed(0)
    model = MDLM(MDLMConfig(vocab_size=V, seq_len=12, denoiser="bigru", d_model=32, n_layers=1))
    x = torch.randint(0, V, (1, 12)).repeat(64, 1)
    loader = DataLoader(TensorDataset(x), batch_size=16, shuffle=True)
    before = bound_nats_per_token(model, x, steps=100)
    fit(model.train(), loader, config=TrainConfig(max_steps=60, optim=OptimConfig(lr=1e-2)))
    after = bound_nats_per_token(model, x, steps=100)
    assert before > 0.8 * math.log(V)
    assert after < 0.1 * math.log(V)


def test_transformer_positions_start_as_strong_as_tokens() -> None:
    """Token and position embeddings on one scale at initialisation: positions 50x weaker than
    the tokens kept the transformer denoiser on the unigram plateau (BENCHMARKS.md)."""
    torch.manual_seed(0)
    denoiser = MDLM(MDLMConfig(denoiser="transformer", d_model=64, seq_len=32)).denoiser
    ratio = denoiser.embed.weight.std() / denoiser.pos.std()
    assert 0.7 < float(ratio) < 1.4


def test_several_mask_draws_are_the_loss_of_the_batch_repeated() -> None:
    """K mask draws per sequence: one loss over K copies of the batch, their times stratified
    together, so each copy gets its own mask and its own t."""
    x = torch.randint(0, V, (8, 16))
    torch.manual_seed(0)
    model = _model("bigru")
    twice = MDLM(dataclasses.replace(model.config, mask_draws=2))
    twice.load_state_dict(model.state_dict())
    torch.manual_seed(3)
    repeated = model.loss(torch.cat([x, x]))
    torch.manual_seed(3)
    assert torch.equal(twice.loss(x), repeated)
    with pytest.raises(ValueError, match="mask_draws"):
        MDLMConfig(mask_draws=0)
