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
