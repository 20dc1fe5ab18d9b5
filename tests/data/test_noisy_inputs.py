"""Noisy inputs of the noise-reduction tasks: ETTh1 windows and digits, fixed noise."""

from __future__ import annotations

import pytest
import torch

from diffrnn.data.noisy_inputs import add_noise, noisy_data, noisy_digits, noisy_etth1
from diffrnn.data.timeseries import etth1_windows


def test_etth1_windows_have_the_stated_shapes_and_do_not_overlap() -> None:
    assert etth1_windows("train").shape == (8617, 24, 7)  # 8640 rows, stride 1
    clean, noisy = noisy_etth1("test", 0.1, seed=0)
    assert clean.shape == noisy.shape == (120, 24, 7)  # 2880 test rows / 24
    assert noisy_etth1("val", 0.1, seed=0)[0].shape == (120, 24, 7)
    rows = clean.reshape(-1, 7)  # non-overlapping windows tile the split row after row
    torch.testing.assert_close(rows[24], clean[1, 0])


def test_noise_is_fixed_by_seed_level_and_split() -> None:
    clean, noisy = noisy_etth1("test", 0.3, seed=0)
    assert torch.equal(noisy, noisy_etth1("test", 0.3, seed=0)[1])
    assert not torch.equal(noisy, noisy_etth1("test", 0.3, seed=1)[1])
    assert not torch.equal(noisy - clean, noisy_etth1("test", 0.5, seed=0)[1] - clean)
    assert abs((noisy - clean).std().item() - 0.3) < 0.01  # data range 1
    x = torch.zeros(100, 10)
    assert not torch.equal(add_noise(x, 0.1, 1.0, "val", 0), add_noise(x, 0.1, 1.0, "test", 0))
    # the sd is fraction x data range, with the same draws for either range
    torch.testing.assert_close(
        add_noise(x, 0.1, 2.0, "val", 3), 2 * add_noise(x, 0.1, 1.0, "val", 3)
    )
    with pytest.raises(ValueError, match="split"):
        add_noise(x, 0.1, 1.0, "train", 0)


def test_noisy_digits_are_repeatable_and_have_the_asked_noise() -> None:
    clean, noisy = noisy_digits("test", 0.3, seed=0)
    _, again = noisy_digits("test", 0.3, seed=0)
    _, other = noisy_digits("val", 0.3, seed=0)
    assert torch.equal(noisy, again) and clean.shape == (360, 1, 8, 8) and other.shape[0] == 180
    assert abs((noisy - clean).std().item() - 0.6) < 0.01


def test_noisy_data_describes_both_tasks() -> None:
    digits, etth1 = noisy_data("digits"), noisy_data("etth1")
    assert (digits.data_range, digits.low) == (2.0, -1.0)
    assert (etth1.data_range, etth1.low) == (1.0, 0.0)
    assert digits.train().shape == (1257, 1, 8, 8) and etth1.train().shape == (8617, 24, 7)
    torch.testing.assert_close(
        etth1.clamp(torch.tensor([-0.5, 0.5, 1.5])), torch.tensor([0, 0.5, 1])
    )
    with pytest.raises(ValueError, match="name"):
        noisy_data("cifar")  # type: ignore[arg-type]
