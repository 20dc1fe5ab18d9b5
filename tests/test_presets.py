"""Model presets: every size a model names builds, sizes grow, an unknown size is one ValueError."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from diffrnn.presets import pick


def _presets() -> list[tuple[Callable[..., Any], type, tuple[str, ...]]]:
    from diffrnn.diffusion.audio import SpectrogramDiffusion, spectrogram_diffusion
    from diffrnn.diffusion.gaussian import GaussianDiffusion
    from diffrnn.diffusion.masked import MDLM, mdlm
    from diffrnn.diffusion.ts_generator import WindowDiffusion, window_diffusion
    from diffrnn.diffusion.unet import ddpm_digits
    from diffrnn.rnn.ar_generator import ARGenerator, ar_generator
    from diffrnn.rnn.char_lm import CharLM, char_lm
    from diffrnn.rnn.denoiser import RNNDenoiser, rnn_denoiser
    from diffrnn.rnn.long_range import LongRangeModel, long_range
    from diffrnn.rnn.pixel_ar import PixelAR, pixel_lstm
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU, spectrogram_gru
    from diffrnn.rnn.speech import SpeechRecogniser, speech

    return [
        (char_lm, CharLM, ("quick", "full")),
        (mdlm, MDLM, ("quick", "full")),
        (pixel_lstm, PixelAR, ("tiny", "quick", "full")),
        (ddpm_digits, GaussianDiffusion, ("quick", "full")),
        (speech, SpeechRecogniser, ("tiny", "quick", "full")),
        (long_range, LongRangeModel, ("quick", "full")),
        (window_diffusion, WindowDiffusion, ("quick", "full")),
        (ar_generator, ARGenerator, ("quick", "full")),
        (rnn_denoiser, RNNDenoiser, ("quick", "full")),
        (spectrogram_diffusion, SpectrogramDiffusion, ("quick", "full")),
        (spectrogram_gru, SpectrogramGRU, ("quick", "full")),
    ]


def _params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("index", range(11))
def test_every_size_builds_and_the_larger_sizes_have_more_parameters(index: int) -> None:
    preset, model_class, sizes = _presets()[index]
    counts = [_params(model_class(preset(size))) for size in sizes]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    with pytest.raises(ValueError, match=r"size must be one of .*'full'"):
        preset("enormous")


def test_dcrnn_sizes() -> None:
    import torch

    from diffrnn.hybrid.dcrnn import DCRNN, dcrnn

    adjacency = torch.ones(3, 3)
    quick, full = (DCRNN(dcrnn(size, 3), adjacency) for size in ("quick", "full"))
    assert _params(quick) < _params(full)


def test_pick_names_the_sizes_it_offers() -> None:
    assert pick("quick", {"quick": 1, "full": 2}) == 1
    with pytest.raises(ValueError, match=r"size must be one of \('quick', 'full'\), got 'tiny'"):
        pick("tiny", {"quick": 1, "full": 2})


def test_the_registry_with_every_recipe_table_loads_without_torch() -> None:
    """Recipe tables are functions: a table built at import would pull torch into the CLI."""
    code = (
        "import sys; from diffrnn.bench.registry import load_registry; load_registry(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
