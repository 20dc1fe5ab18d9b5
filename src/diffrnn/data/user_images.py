"""The user's images: a folder of PNG/JPEG, optionally one subfolder per class, as arrays.

    survey = survey_images(Path("photos/"))             # headers only: sizes, modes, classes
    images = read_images(survey, size=16)              # (N, C, 16, 16) uint8, one file at a time
    split = stratified_split(survey.labels, seed=0)    # 80/10/10 indices, stratified by class

Nothing is decoded to survey a folder (PIL reads the headers), so an unreadable file, a huge
image or a folder mixing classes and loose files is refused before any pixel is read. Images are
then decoded one at a time, converted to greyscale or RGB (RGB when any image has colour),
resized to `size` x `size` (area averaging) and written into one preallocated uint8 array: the
peak memory is that array plus one image, whatever the number of files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffrnn.data.user_kinds import IMAGE_SUFFIXES, list_files
from diffrnn.errors import DataError

SIZES = (8, 16, 28, 32)
"""The sizes images are resized to; by default the largest the smallest image allows."""
MIN_PER_CLASS = 3
"""Images a class needs at least: one for each of the training, validation and test splits."""
MAX_IMAGE_PIXELS = 40_000_000
"""Largest image accepted (width x height): beyond it decoding one takes gigabytes."""
MAX_IMAGES = 200_000
"""Most images read (200,000 RGB 32 x 32 take 600 MB)."""
SPLIT = (0.8, 0.1, 0.1)
"""Training, validation and test shares, per class."""
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


@dataclass(frozen=True, eq=False)
class ImageSurvey:
    """What a folder of images holds, from the files' headers.

    Attributes:
        root: the folder.
        files: the images, sorted by class then name.
        labels: (N,) int64 class index per file (all 0 without classes).
        classes: class names (the subfolders), empty without classes.
        smallest: the smallest side of any image.
        channels: 1 (every image greyscale) or 3.
        notes: what the report should say (mixed sizes, squashed aspect ratios, ...).
    """

    root: Path
    files: tuple[Path, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    smallest: int
    channels: int
    notes: tuple[str, ...]


def _header(path: Path) -> tuple[int, int, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            return width, height, image.mode
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"{path} is not a readable image ({type(exc).__name__}: {exc}).",
            "remove or re-save it as PNG/JPEG.",
        ) from None


def survey_images(root: Path) -> ImageSurvey:
    """The images of `root` and their classes, from headers only.

    Raises:
        DataError: no images; images both loose and in class folders; a single class; a class
            with fewer than MIN_PER_CLASS images; an unreadable or huge image; an image smaller
            than 8 pixels; more than MAX_IMAGES images.
    """
    found = list_files(root, IMAGE_SUFFIXES)
    if not found:
        raise DataError(f"--data {root} holds no PNG/JPEG images.", "put the images in it.")
    if len(found) > MAX_IMAGES:
        raise DataError(
            f"{root} holds {len(found):,} images; the image task reads at most {MAX_IMAGES:,}.",
            "pass a folder with a sample of them.",
        )
    loose = [p for p, c in found if c is None]
    if loose and len(loose) < len(found):
        raise DataError(
            f"{root} holds {len(loose)} image(s) at its top ({loose[0].name}, ...) beside class "
            "folders.",
            "move every image into a class folder, or every one to the top (no classes).",
        )
    classes = tuple(sorted({c for _, c in found if c is not None}))
    if len(classes) == 1:
        raise DataError(
            f"{root} has a single class folder ({classes[0]}): nothing to tell apart.",
            "add the other classes' folders, or move the images to the top (no classes).",
        )
    counts = {c: sum(1 for _, k in found if k == c) for c in classes}
    thin = [c for c, n in counts.items() if n < MIN_PER_CLASS]
    if thin:
        raise DataError(
            f"class {thin[0]!r} of {root} has {counts[thin[0]]} image(s); each class needs at "
            f"least {MIN_PER_CLASS} (one each to train, validate and test).",
            "add images to it, or remove that class folder.",
        )
    index = {c: k for k, c in enumerate(classes)}
    sizes, modes = [], set()
    for path, _ in found:
        width, height, mode = _header(path)
        if width * height > MAX_IMAGE_PIXELS:
            raise DataError(
                f"{path} is {width} x {height} pixels; the image task reads at most "
                f"{MAX_IMAGE_PIXELS:,} pixels per image.",
                "downscale it first (e.g. mogrify -resize 256x256).",
            )
        sizes.append((width, height))
        modes.add(mode)
    smallest = min(min(s) for s in sizes)
    if smallest < SIZES[0]:
        raise DataError(
            f"an image of {root} is {smallest} pixels on a side; the smallest size modelled is "
            f"{SIZES[0]}.",
            f"remove images under {SIZES[0]} x {SIZES[0]}.",
        )
    notes = []
    if len(set(sizes)) > 1:
        notes.append(f"{len(set(sizes))} different image sizes, from {smallest} px on a side")
    if any(w != h for w, h in sizes):
        notes.append("images that are not square are squashed to a square")
    channels = 1 if modes <= _GRAY_MODES else 3
    if channels == 3 and modes & _GRAY_MODES:
        notes.append("greyscale images among colour ones are read as RGB")
    return ImageSurvey(
        root=root,
        files=tuple(p for p, _ in found),
        labels=np.array([index[c] if c is not None else 0 for _, c in found], dtype=np.int64),
        classes=classes,
        smallest=smallest,
        channels=channels,
        notes=tuple(notes),
    )


def default_size(smallest: int) -> int:
    """The largest of SIZES not above the smallest image's side."""
    return max(s for s in SIZES if s <= smallest)


def read_images(survey: ImageSurvey, size: int) -> np.ndarray:
    """Every image decoded, converted and resized: (N, C, size, size) uint8, one at a time.

    Raises:
        DataError: a file that fails to decode (its header read, its pixels not).
    """
    from PIL import Image

    mode = "L" if survey.channels == 1 else "RGB"
    out = np.empty((len(survey.files), survey.channels, size, size), dtype=np.uint8)
    for k, path in enumerate(survey.files):
        try:
            with Image.open(path) as image:
                small = image.convert(mode).resize((size, size), Image.Resampling.BOX)
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{path} cannot be decoded ({exc}).", "remove or re-save it as PNG/JPEG."
            ) from None
        pixels = np.asarray(small, dtype=np.uint8)  # (S, S) or (S, S, 3)
        out[k] = pixels[None] if survey.channels == 1 else pixels.transpose(2, 0, 1)
    return out


def stratified_split(labels: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Indices of an 80/10/10 split within each class (at least one image in each part).

    Args:
        labels: (N,) class per image (all equal: a plain random split).

    Returns:
        "train", "val", "test": sorted int64 indices.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n = len(members)
        n_val = max(1, round(SPLIT[1] * n))
        n_test = max(1, round(SPLIT[2] * n))
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}
