"""Scores of generated speech: inception-style score, accuracy, and the evaluator's pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffrnn.evaluation.audio import accuracy, inception_score, recogniser_outputs, score_audio


def test_confident_and_uniform_over_labels_gives_the_number_of_classes() -> None:
    probs = np.eye(10)[np.repeat(np.arange(10), 3)]  # (30, 10) one-hot, every class 3 times
    assert inception_score(probs) == pytest.approx(10.0)


def test_one_class_or_indistinct_output_scores_one() -> None:
    assert inception_score(np.eye(10)[np.zeros(20, dtype=int)]) == pytest.approx(1.0)
    assert inception_score(np.full((20, 10), 0.1)) == pytest.approx(1.0)


def test_inception_score_closed_form_for_two_classes() -> None:
    # rows (0.9, 0.1) and (0.1, 0.9): marginal (0.5, 0.5), KL = 0.9 ln 1.8 + 0.1 ln 0.2 each
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])
    expected = np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2))
    assert inception_score(probs) == pytest.approx(expected)


def test_accuracy_counts_argmax_matches() -> None:
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.6, 0.4], [0.2, 0.8]])
    assert accuracy(probs, np.array([0, 1, 1, 0])) == 0.5


def test_evaluator_accuracy_equals_the_recognisers_on_real_clips() -> None:
    from diffrnn.data.audio import load_fsdd, stack_features
    from diffrnn.rnn.speech import SpeechRecogniser, speech

    fsdd = load_fsdd()
    _, test = fsdd.official_split()
    pick = test[::15]  # 20 real test clips
    waves = [fsdd.waveforms[i] for i in pick]
    digits = fsdd.digits[pick]
    torch.manual_seed(0)
    recogniser = SpeechRecogniser(speech("tiny")).eval()
    # the recogniser on its own, through the data module's per-clip features
    features = torch.from_numpy(stack_features(waves, "log_mel", 64))  # (N, 64, 40)
    lengths = torch.full((len(waves),), 64)
    direct = (recogniser.predict(features, lengths).numpy() == digits).mean()
    scores = score_audio(recogniser, waves, digits, recogniser_outputs(recogniser, waves)[0])
    assert scores.accuracy == pytest.approx(direct)
    assert scores.fd == pytest.approx(0.0, abs=1e-6)  # the same clips as the reference
    assert scores.n == 20


def test_generated_audio_voices_the_samples_in_the_models_log_mel_range() -> None:
    from diffrnn.data.spectrograms import MelScaling, log_mel_to_audio
    from diffrnn.evaluation.audio import generated_audio
    from diffrnn.rnn.spectrogram_gru import SpectrogramGRU, SpectrogramGRUConfig

    torch.manual_seed(0)
    model = SpectrogramGRU(SpectrogramGRUConfig(n_frames=8, hidden_size=8, num_layers=1))
    model.log_mel_range.copy_(torch.tensor([-13.8, 2.0]))
    digits = np.array([3, 7])
    waves, log_mels, sample_s, vocoder_s = generated_audio(model, digits, seed=5)
    assert waves.shape == (2, (8 - 1) * 80) and log_mels.shape == (2, 40, 8)
    assert sample_s >= 0 and vocoder_s >= 0
    # the log-mels are the model's own samples under the same seed, mapped back to its range
    generator = torch.Generator().manual_seed(5)
    x = model.sample(2, generator=generator, labels=torch.from_numpy(digits))
    np.testing.assert_allclose(log_mels, MelScaling(-13.8, 2.0).denormalise(x.numpy()))
    np.testing.assert_allclose(waves, log_mel_to_audio(log_mels))
    again, *_ = generated_audio(model, digits, seed=5)
    np.testing.assert_array_equal(waves, again)
