"""audio-fsdd: the units of one run share the judge trained in the task's folder; the
diffusion generator learns standardised spectrograms."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffrnn.bench.registry import UnitContext
from diffrnn.bench.runner import unit_dir
from diffrnn.bench.suites import UnitSpec
from diffrnn.bench.units.audio import generator_training, judge_cache
from diffrnn.data.spectrograms import MelScaling, SpectrogramSet


@pytest.mark.parametrize("ladder", [False, True])
def test_every_unit_of_a_run_finds_the_tasks_folder(tmp_path: Path, ladder: bool) -> None:
    spec = UnitSpec("audio-fsdd", "audio-gru", "rnn", 2, 30.0, "reference", ladder=ladder)
    ctx = UnitContext(seed=2, budget_s=30.0, suite="reference", out_dir=unit_dir(tmp_path, spec))
    assert judge_cache(ctx) == (tmp_path / "units" / "audio-fsdd").resolve()


def test_outside_a_run_the_judge_is_not_shared(tmp_path: Path) -> None:
    out = tmp_path / "audio-fsdd" / "model" / "seed0"  # not under a run's units/
    assert judge_cache(UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=out)) is None


def test_the_diffusion_generator_standardises_with_the_training_bands() -> None:
    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    bands = np.linspace(-0.8, 0.2, 40)[None, :, None]  # (1, n_mels, 1) each band's mean
    x = (bands + 0.1 * rng.standard_normal((20, 40, 64))).astype(np.float32)
    train = SpectrogramSet(x, np.arange(20) % 10, MelScaling(low=-13.8, high=3.2))
    model, _, _ = generator_training("audio-diffusion", train, "quick", seed=0)
    assert model.log_mel_range.tolist() == pytest.approx([-13.8, 3.2])
    torch.testing.assert_close(model.band_mean[:, 0], torch.from_numpy(x.mean(axis=(0, 2))))
    assert model.band_std.flatten().tolist() == pytest.approx([0.1] * 40, rel=0.1)
    gru, _, _ = generator_training("audio-gru", train, "quick", seed=0)
    assert not hasattr(gru, "band_mean")  # the GRU models the [-1, 1] scale itself
