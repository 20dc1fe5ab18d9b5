"""The in-project digits classifier: accurate, deterministic, cached, with a Frechet floor."""

from __future__ import annotations

from pathlib import Path

import torch

from diffrnn.data.images import levels_to_unit, load_digits
from diffrnn.evaluation.digits_classifier import train_digits_classifier


def test_classifier_is_accurate_deterministic_and_cached(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    digits = load_digits()
    x = levels_to_unit(torch.as_tensor(digits.images[digits.test]))[:, None]  # (360, 1, 8, 8)
    y = torch.as_tensor(digits.labels[digits.test])
    first = train_digits_classifier(seed=0, cache_dir=tmp_path)
    with torch.no_grad():
        accuracy = (first.probabilities(x).argmax(1) == y).float().mean().item()
        cached = train_digits_classifier(seed=0, cache_dir=tmp_path)
        assert torch.equal(cached.features(x), first.features(x))
        assert first.features(x).shape == (360, 128)
    assert accuracy > 0.95
    assert (tmp_path / "digits-classifier-v1-seed0" / "model.safetensors").is_file()
