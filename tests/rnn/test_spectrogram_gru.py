"""The frame-by-frame GRU generator: its mixture density, causality and sampling contract."""

from __future__ import annotations

import pytest
import torch
from torch import distributions as D

from diffrnn.rnn.spectrogram_gru import SpectrogramGRU, SpectrogramGRUConfig, mixture_log_prob


def _model(k: int = 3) -> SpectrogramGRU:
    torch.manual_seed(0)
    config = SpectrogramGRUConfig(
        n_mels=6, n_frames=10, n_components=k, hidden_size=16, num_layers=2
    )
    return SpectrogramGRU(config).eval()


def test_mixture_log_prob_equals_torch_distributions() -> None:
    torch.manual_seed(0)
    logits, mean, log_scale = torch.randn(5, 3), torch.randn(5, 3, 4), torch.randn(5, 3, 4) * 0.3
    x = torch.randn(5, 4)
    reference = D.MixtureSameFamily(
        D.Categorical(logits=logits), D.Independent(D.Normal(mean, log_scale.exp()), 1)
    ).log_prob(x)
    torch.testing.assert_close(mixture_log_prob(x, logits, mean, log_scale), reference)


def test_log_prob_is_causal_in_the_frames() -> None:
    model = _model()
    x = torch.rand(2, 6, 10) * 2 - 1
    digits = torch.tensor([1, 8])
    frames = x.transpose(1, 2)
    previous = torch.nn.functional.pad(frames[:, :-1], (0, 0, 1, 0))
    h, _ = model.rnn(model._inputs(previous, digits))
    per_frame = mixture_log_prob(frames, *model._mixture(h))  # (B, T)
    changed = x.clone()
    changed[:, :, 6] += 1.0
    frames2 = changed.transpose(1, 2)
    h2, _ = model.rnn(model._inputs(torch.nn.functional.pad(frames2[:, :-1], (0, 0, 1, 0)), digits))
    per_frame2 = mixture_log_prob(frames2, *model._mixture(h2))
    torch.testing.assert_close(per_frame[:, :6], per_frame2[:, :6])
    assert not torch.allclose(per_frame[:, 6:], per_frame2[:, 6:])
    expected = -per_frame.sum(1).mean().item() / 60
    assert model.loss((x, digits)).item() == pytest.approx(expected, rel=1e-5)


def test_sampling_contract_shape_seed_and_labels() -> None:
    model = _model()
    digits = torch.tensor([0, 3, 3, 9])
    a = model.sample(4, labels=digits, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, labels=digits, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 6, 10)
    assert torch.equal(a, b)
    other = model.sample(
        4, labels=torch.tensor([5, 5, 5, 5]), generator=torch.Generator().manual_seed(1)
    )
    assert not torch.allclose(a, other)


def test_zero_temperature_single_gaussian_follows_the_mean() -> None:
    model = _model(k=1)
    x = model.sample(
        1, labels=torch.tensor([4]), generator=torch.Generator().manual_seed(0), temperature=0
    )
    # with sigma scaled to 0 each frame is the predicted mean given the frames before it
    previous = torch.nn.functional.pad(x.transpose(1, 2)[:, :-1], (0, 0, 1, 0))
    h, _ = model.rnn(model._inputs(previous, torch.tensor([4])))
    _, mean, _ = model._mixture(h)
    torch.testing.assert_close(x.transpose(1, 2), mean[:, :, 0], atol=1e-5, rtol=1e-5)


def test_save_and_load_keep_the_range(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = _model()
    model.log_mel_range.copy_(torch.tensor([-13.8, 2.5]))
    model.save_pretrained(tmp_path / "g")
    loaded = SpectrogramGRU.from_pretrained(tmp_path / "g").eval()
    assert loaded.log_mel_range.tolist() == pytest.approx([-13.8, 2.5])
    g = torch.Generator
    assert torch.equal(
        loaded.sample(1, labels=torch.tensor([2]), generator=g().manual_seed(0)),
        model.sample(1, labels=torch.tensor([2]), generator=g().manual_seed(0)),
    )
