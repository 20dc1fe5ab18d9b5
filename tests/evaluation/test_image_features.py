"""The judge of generated images on the user's data: a classifier (its classes, its accuracy)
or an autoencoder."""

from __future__ import annotations

import pytest
import torch

from diffrnn.evaluation.image_features import FEATURES, fit_judge


def _two_classes(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dark images are class 0 and light ones class 1: (n, 1, 4, 4) in [-1, 1], (n,)."""
    labels = torch.arange(n) % 2
    images = (labels.float() * 1.2 - 0.6)[:, None, None, None] + 0.1 * torch.randn(n, 1, 4, 4)
    return images, labels


def test_the_classifier_judge_classifies_and_its_accuracy_is_its_classify() -> None:
    images, labels = _two_classes(64)
    held, held_labels = _two_classes(20)
    judge = fit_judge(images, labels, seed=0, held_out=(held, held_labels))
    assert judge.kind == "classifier" and judge.features(held).shape == (20, FEATURES)
    predicted = judge.classify(held)
    assert predicted.shape == (20,)
    assert judge.accuracy == float((predicted == held_labels).float().mean()) == 1.0
    assert judge.classify(-held).tolist() == (1 - held_labels).tolist()  # light <-> dark


def test_the_autoencoder_judge_has_no_classes_to_give() -> None:
    images, _ = _two_classes(16)
    judge = fit_judge(images, None, seed=0)
    assert judge.kind == "autoencoder" and judge.accuracy is None
    with pytest.raises(ValueError, match="needs a classifier judge"):
        judge.classify(images)
