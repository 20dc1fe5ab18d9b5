"""Speech recogniser: masked pooling ignores padding, normalisation, overfitting, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from diffrnn.modeling import load
from diffrnn.rnn.speech import SpeechConfig, SpeechRecogniser, masked_pool, speech


@pytest.fixture(autouse=True)
def _one_thread(_seed_and_threads: None) -> None:
    torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation


def test_masked_pool_on_designed_input() -> None:
    h = torch.arange(12.0).reshape(2, 3, 2)  # (B, T, H)
    lengths = torch.tensor([2, 3])
    torch.testing.assert_close(
        masked_pool(h, lengths, "mean"), torch.tensor([[1.0, 2.0], [8.0, 9.0]])
    )
    torch.testing.assert_close(
        masked_pool(h, lengths, "max"), torch.tensor([[2.0, 3.0], [10.0, 11.0]])
    )
    torch.testing.assert_close(
        masked_pool(h, lengths, "last"), torch.tensor([[2.0, 3.0], [10.0, 11.0]])
    )


def test_padding_does_not_change_a_unidirectional_prediction() -> None:
    x = torch.randn(1, 7, 5)
    padded = torch.cat([x, 100 * torch.randn(1, 4, 5)], dim=1)  # garbage after the end
    for pooling in ("mean", "max", "last"):
        config = SpeechConfig(
            n_features=5,
            bidirectional=False,
            pooling=pooling,
            cell="lstm",
            hidden_size=8,
            num_layers=2,
        )
        model = SpeechRecogniser(config).eval()
        torch.testing.assert_close(model(x, torch.tensor([7])), model(padded, torch.tensor([7])))


def test_normalisation_uses_valid_frames_only() -> None:
    model = SpeechRecogniser(speech("tiny", "gru", n_features=2))
    features = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [99.0, 99.0]]])  # last frame is padding
    model.set_normalisation(features, torch.tensor([2]))
    torch.testing.assert_close(model.feature_mean, torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(model.feature_std, torch.tensor([2.0, 8.0]).sqrt())


@pytest.mark.parametrize("cell", ["gru", "mingru"])
def test_overfits_one_batch(cell: str) -> None:
    torch.manual_seed(0)
    model = SpeechRecogniser(speech("tiny", cell, n_features=6))
    features, labels = torch.randn(10, 12, 6), torch.arange(10)
    lengths = torch.randint(4, 13, (10,))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(60):
        optimiser.zero_grad()
        model.loss((features, lengths, labels)).backward()
        optimiser.step()
    assert torch.equal(model.predict(features, lengths), labels)
    pooled, probs = model.embed_and_probs(features, lengths)
    assert pooled.shape == (10, 64) and probs.shape == (10, 10)
    torch.testing.assert_close(probs.sum(-1), torch.ones(10))


def test_save_load_round_trip(tmp_path) -> None:
    model = SpeechRecogniser(speech("tiny", "lstm", n_features=3))
    model.set_normalisation(torch.randn(4, 5, 3) * 3 + 1, torch.tensor([5, 4, 3, 5]))
    model.save_pretrained(tmp_path / "asr")
    loaded = load(tmp_path / "asr")
    x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 2])
    torch.testing.assert_close(loaded(x, lengths), model.eval()(x, lengths))
    torch.testing.assert_close(loaded.feature_std, model.feature_std)


def test_a_folder_saved_under_the_former_class_name_still_loads(tmp_path) -> None:
    """Recognisers saved before the spelling was settled name `SpeechRecognizer` in config.json."""
    model = SpeechRecogniser(speech("tiny", n_features=3))
    model.save_pretrained(tmp_path / "asr")
    config_path = tmp_path / "asr" / "config.json"
    meta = json.loads(config_path.read_text())
    assert meta["class"] == "diffrnn.rnn.speech.SpeechRecogniser"
    meta["class"] = "diffrnn.rnn.speech.SpeechRecognizer"
    config_path.write_text(json.dumps(meta))
    x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 2])
    for loaded in (load(tmp_path / "asr"), SpeechRecogniser.from_pretrained(tmp_path / "asr")):
        assert type(loaded) is SpeechRecogniser
        torch.testing.assert_close(loaded(x, lengths), model.eval()(x, lengths))
