"""Digits: 1,797 8x8 images in 0..16 and a fixed, stratified, disjoint split."""

from __future__ import annotations

import numpy as np
import torch

from diffrnn.data.images import levels_to_unit, load_digits, unit_to_levels


def test_digits_shapes_levels_and_split() -> None:
    digits = load_digits()
    assert digits.images.shape == (1797, 8, 8)
    assert digits.images.min() == 0 and digits.images.max() == 16 == digits.levels
    sizes = [len(digits.train), len(digits.val), len(digits.test)]
    assert sizes == [1257, 180, 360]
    everything = np.concatenate([digits.train, digits.val, digits.test])
    np.testing.assert_array_equal(np.sort(everything), np.arange(1797))
    overall = np.bincount(digits.labels, minlength=10) / 1797
    for part in (digits.train, digits.val, digits.test):  # stratified: class shares kept
        share = np.bincount(digits.labels[part], minlength=10) / len(part)
        assert np.abs(share - overall).max() < 0.01


def test_digits_split_is_fixed() -> None:
    first, second = load_digits(), load_digits()
    np.testing.assert_array_equal(first.test, second.test)
    assert first.test[:5].tolist() == second.test[:5].tolist()


def test_levels_map_to_the_unit_interval_and_back() -> None:
    levels = levels_to_unit(torch.arange(17))  # (17,)
    assert levels[0] == -1.0 and levels[-1] == 1.0 and levels[8] == 0.0
    torch.testing.assert_close(levels[1] - levels[0], torch.tensor(2 / 16))
    assert torch.equal(unit_to_levels(levels + 0.03), torch.arange(17))
    assert torch.equal(unit_to_levels(torch.tensor([-3.0, 3.0])), torch.tensor([0, 16]))
