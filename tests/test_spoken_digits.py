"""`diffrnn sample`'s library: the generator names and the saved model are checked before use."""

from __future__ import annotations

import pytest
from torch import nn

from diffrnn.errors import ConfigError
from diffrnn.spoken_digits import check_generator, check_name


def test_only_the_tasks_generators_are_accepted() -> None:
    check_name("audio-gru")
    check_name("audio-diffusion")
    with pytest.raises(ConfigError, match="audio-diffusion, audio-gru"):
        check_name("wavenet")


def test_a_saved_model_of_another_kind_is_refused() -> None:
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU, SpectrogramGRUConfig

    check_generator(SpectrogramGRU(SpectrogramGRUConfig(n_frames=8, hidden_size=8, num_layers=1)))
    with pytest.raises(ConfigError, match="Linear, not a spoken-digit generator"):
        check_generator(nn.Linear(2, 2))
