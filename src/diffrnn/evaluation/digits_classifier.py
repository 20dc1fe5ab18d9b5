"""The in-project digits classifier whose penultimate features score generated digits.

A small MLP trained on the training split of `diffrnn.data.images.load_digits` (inputs in the
[-1, 1] scale of `diffrnn.data.images.levels_to_unit`), deterministically under a seed in
a few seconds. It gives:

- `features(x)`: (B, F) penultimate activations, for the Frechet distance;
- `probabilities(x)`: (B, 10) class probabilities, for the accuracy of class-conditional samples.

`digits_classifier(seed)` trains once per process and once per cache directory
(`$DIFFRNN_CACHE_DIR`, else `~/.cache/diffrnn`): the weights are saved there as safetensors, under
a name that carries `RECIPE_VERSION` (bump it when the recipe changes).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.modeling import PretrainedMixin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigitsClassifierConfig:
    """Args: hidden width, feature_dim F (the penultimate layer), num_classes."""

    hidden: int = 256
    feature_dim: int = 128
    num_classes: int = 10


class DigitsClassifier(PretrainedMixin, nn.Module):
    """flatten -> linear -> ReLU -> linear (features) -> ReLU -> linear (logits), on (B, 1, 8, 8).

    An MLP rather than a CNN: as accurate on 8x8 digits (~97%) at a hundredth of the cost.
    """

    config_class = DigitsClassifierConfig

    def __init__(self, config: DigitsClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.body = nn.Sequential(
            nn.Flatten(),  # (B, 64)
            nn.Linear(64, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(config.feature_dim, config.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (B, F) of images (B, 1, 8, 8) in [-1, 1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 10)."""
        return self.head(self.body(x))

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities (B, 10)."""
        return self(x).softmax(dim=-1)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Cross-entropy of a (images (B, 1, 8, 8), labels (B,)) batch."""
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)


TRAIN_STEPS = 150
BATCH_SIZE = 512
RECIPE_VERSION = 1


def train_digits_classifier(seed: int = 0, cache_dir: str | Path | None = None) -> DigitsClassifier:
    """Train (or load from `cache_dir`) the classifier, in eval mode."""
    from diffrnn.data.images import levels_to_unit, load_digits
    from diffrnn.training import OptimConfig, TrainConfig, fit
    from diffrnn.training.overrides import TrainOverrides, train_overrides

    name = f"digits-classifier-v{RECIPE_VERSION}-seed{seed}"
    cached = Path(cache_dir) / name if cache_dir is not None else None
    if cached is not None and cached.is_dir():
        return DigitsClassifier.from_pretrained(cached)
    digits = load_digits()
    x = levels_to_unit(torch.as_tensor(digits.images[digits.train]))[:, None]  # (N, 1, 8, 8)
    y = torch.as_tensor(digits.labels[digits.train])
    torch.manual_seed(seed)
    model = DigitsClassifier(DigitsClassifierConfig())
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH_SIZE, shuffle=True, drop_last=True)
    config = TrainConfig(max_steps=TRAIN_STEPS, seed=seed, optim=OptimConfig(lr=3e-3))
    with train_overrides(TrainOverrides()):  # the evaluator is fixed, whatever a caller imposes
        result = fit(model, loader, config=config)
    log.info("digits classifier: %d steps in %.1fs", result.steps, result.train_seconds)
    trained = result.model
    assert isinstance(trained, DigitsClassifier)
    if cached is not None:
        trained.save_pretrained(cached)
    return trained


def default_cache_dir() -> Path:
    """`$DIFFRNN_CACHE_DIR`, else `~/.cache/diffrnn`."""
    return Path(os.environ.get("DIFFRNN_CACHE_DIR", Path.home() / ".cache" / "diffrnn"))


@functools.cache
def digits_classifier(seed: int = 0) -> DigitsClassifier:
    """The evaluation classifier of `seed`, trained once per process and cache directory."""
    return train_digits_classifier(seed, default_cache_dir())
