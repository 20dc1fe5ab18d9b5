"""Scoring of generated digits: snapping, memorisation share."""

from __future__ import annotations

import torch

from diffrnn.evaluation.digit_samples import (
    digits_reference,
    memorisation_share,
    snap,
)


def test_snap_maps_to_the_seventeen_levels() -> None:
    x = torch.tensor([-1.2, -0.97, 0.06, 0.07, 0.99])
    torch.testing.assert_close(snap(x), torch.tensor([-1.0, -1.0, 0.0, 0.125, 1.0]))


def test_memorisation_share_of_copies_is_one_and_of_held_out_images_is_the_quantile() -> None:
    reference = digits_reference()
    assert memorisation_share(reference.train[:200]) == 1.0
    # the held-out set against its own 5% quantile: about 5% (ties at the threshold excluded)
    assert 0.0 < memorisation_share(reference.held_out) <= 0.05 + 1e-6
