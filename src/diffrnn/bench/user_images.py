"""The `image-user` task: the user's folder of images, generated as image-digits generates.

    options = prepare_user_images(Path("photos/"), size=None)   # survey, resize, split, cache
    data = user_images(options)                                  # in each unit: arrays, split

The folder is surveyed from headers (`diffrnn.data.user_images`), decoded once, one image at a
time, into an (N, C, S, S) uint8 array that is cached (`$DIFFRNN_CACHE_DIR`, else
`~/.cache/diffrnn`) under the content's sha256, so the units read one .npz instead of decoding
every file again. The split is 80/10/10 within each class (seed 0, the same for every unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch stays off the CLI's start-up path
    from diffrnn.data.noisy_inputs import NoisyData

TASK = "image-user"
SPLIT_SEED = 0
NO_CLASSES = (
    "your images have no classes to condition on (put each class in a subfolder of its own to "
    "train the class-conditional DDPM)"
)
"""Why `ddpm-cond` is left out of the plan on a folder without class subfolders."""


@dataclass(frozen=True, eq=False)
class UserImages:
    """The user's images: `images` (N, C, S, S) uint8, `labels` (N,), `classes`, and the split
    indices `train`, `val`, `test`."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def unit_scale(self, index: np.ndarray) -> Any:
        """The images at `index` as a float tensor in [-1, 1]: (n, C, S, S)."""
        import torch

        return torch.from_numpy(self.images[index]).float() / 127.5 - 1.0

    def noisy(self) -> NoisyData:
        """The images as a noise-reduction task (`diffrnn.data.noisy_inputs`): the validation and
        test images in [-1, 1] (data range 2) with denoise-digits' fixed Gaussian noise."""
        from diffrnn.data.noisy_inputs import NoisyData, add_noise

        def noisy(split: str, fraction: float, seed: int) -> tuple[Any, Any]:
            clean = self.unit_scale(self.val if split == "val" else self.test)  # (n, C, S, S)
            return clean, add_noise(clean, fraction, 2.0, split, seed)  # refuses other splits

        return NoisyData(2.0, -1.0, noisy, lambda: self.unit_scale(self.train))


def _cache_file(options: dict[str, Any]) -> Path:
    from diffrnn.evaluation.digits_classifier import default_cache_dir

    return default_cache_dir() / f"user-images-{options['data_sha256'][:20]}-{options['size']}.npz"


def _read(options: dict[str, Any], survey: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode the folder (`survey`: its survey, made again when None) and cache the array."""
    from diffrnn.data.user_images import read_images, survey_images
    from diffrnn.fileio import atomic_open

    survey = survey if survey is not None else survey_images(Path(options["path"]))
    images = read_images(survey, options["size"])
    cache = _cache_file(options)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(cache) as handle:
            np.savez(handle, images=images, labels=survey.labels)
    except OSError:  # a read-only home: every unit decodes the folder itself
        pass
    return images, survey.labels


def user_images(options: dict[str, Any]) -> UserImages:
    """The user's images and split from a unit's `ctx.options` (the cache, else the folder)."""
    from diffrnn.data.user_images import stratified_split

    cache = _cache_file(options)
    try:
        with np.load(cache, allow_pickle=False) as stored:
            images, labels = stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError):
        images, labels = _read(options)
    split = stratified_split(labels, SPLIT_SEED)
    return UserImages(images, labels, tuple(options["classes"]), **split)


def prepare_user_images(path: Path, size: int | None = None) -> dict[str, Any]:
    """Check the user's images once, before any unit runs; the units' options with a summary.

    Without class subfolders the options' "left_out" names `ddpm-cond` (model -> why), which
    `compare.prepare` leaves out of the plan.

    Args:
        path: a folder of PNG/JPEG files, optionally one subfolder per class.
        size: the side images are resized to (default: the largest of 8, 16, 28 and 32 that the
            smallest image allows).

    Raises:
        DataError: see `diffrnn.data.user_images.survey_images` and `read_images`.
    """
    from diffrnn.bench.user_kinds import content_sha256
    from diffrnn.data.user_images import SIZES, default_size, survey_images
    from diffrnn.errors import DataError

    survey = survey_images(path)
    if size is not None and not SIZES[0] <= size <= survey.smallest:
        raise DataError(
            f"--size {size} does not fit: the smallest image is {survey.smallest} px on a side.",
            f"pass --size between {SIZES[0]} and {survey.smallest}.",
        )
    side = size or default_size(survey.smallest)
    options: dict[str, Any] = {
        "task": TASK,
        "kind": "images",
        "path": str(path),
        "size": side,
        "channels": survey.channels,
        "classes": list(survey.classes),
        "data_sha256": content_sha256(list(survey.files), path),
    }
    images, labels = _read(options, survey)
    data = user_images(options)
    counts = np.bincount(labels)
    summary = {
        "folder": f"{path}: {len(images):,} images"
        + (
            f" in {len(survey.classes)} classes ({', '.join(survey.classes[:10])}"
            f"{', ...' if len(survey.classes) > 10 else ''}; {counts.min()} to {counts.max()} "
            "per class)"
            if survey.classes
            else ", no classes"
        ),
        "pixels": f"resized to {side} x {side} ("
        + ("--size" if size else "the largest of 8, 16, 28, 32 the smallest image allows")
        + "), "
        + ("greyscale" if survey.channels == 1 else "RGB"),
        "split": f"{len(data.train)} train, {len(data.val)} validation, {len(data.test)} test "
        + ("(80/10/10 within each class)" if survey.classes else "(80/10/10 at random)"),
        "judge": "Frechet distance on the penultimate features of a classifier trained on your "
        "classes (its held-out accuracy in each unit's notes)"
        if survey.classes
        else "Frechet distance on the bottleneck of an autoencoder trained on the training "
        "split (no classes to train a classifier on)",
        "loader notes": "; ".join(survey.notes) or "none",
    }
    if not survey.classes:  # planned, it would train nothing and count as a diffusion run
        options["left_out"] = {"ddpm-cond": NO_CLASSES}
        summary["left out"] = f"ddpm-cond: {NO_CLASSES}"
    options["summary"] = summary
    return options
