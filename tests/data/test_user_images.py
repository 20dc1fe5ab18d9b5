"""The user's images: the survey's refusals, the arrays read one file at a time, the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffrnn.data.user_images import (
    default_size,
    read_images,
    stratified_split,
    survey_images,
)
from diffrnn.errors import DataError


def _png(path: Path, size: tuple[int, int] = (12, 12), mode: str = "L", value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 255 - value, 7)
    Image.new(mode, size, colour).save(path)


def test_class_folders_give_labels_and_pixels_resized_to_the_default_size(tmp_path: Path) -> None:
    for k in range(4):
        _png(tmp_path / "cats" / f"{k}.png", value=10 * k)
        _png(tmp_path / "dogs" / f"{k}.png", size=(20, 17), value=200)
    survey = survey_images(tmp_path)
    assert survey.classes == ("cats", "dogs") and survey.channels == 1
    assert survey.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert survey.smallest == 12 and default_size(survey.smallest) == 8
    assert "images that are not square are squashed to a square" in survey.notes
    images = read_images(survey, 8)
    assert images.shape == (8, 1, 8, 8) and images.dtype == np.uint8
    assert images[2].min() == images[2].max() == 20 and images[5].max() == 200


def test_colour_anywhere_reads_every_image_as_rgb(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", mode="RGB", value=30)
    _png(tmp_path / "b.jpg", mode="L", value=90)
    survey = survey_images(tmp_path)
    assert survey.channels == 3 and survey.classes == ()
    images = read_images(survey, 8)
    assert images.shape == (2, 3, 8, 8)
    assert images[0, :, 0, 0].tolist() == [30, 225, 7]


def test_the_split_is_80_10_10_within_every_class(tmp_path: Path) -> None:
    labels = np.repeat([0, 1, 2], [30, 10, 3])
    split = stratified_split(labels, seed=0)
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(43))
    for label, n in ((0, 30), (1, 10), (2, 3)):
        counts = [int((labels[split[k]] == label).sum()) for k in ("train", "val", "test")]
        assert counts == {30: [24, 3, 3], 10: [8, 1, 1], 3: [1, 1, 1]}[n]
    again = stratified_split(labels, seed=0)
    assert all(np.array_equal(split[k], again[k]) for k in split)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "holds no PNG/JPEG images"),
        ({"only/a.png": 12, "only/b.png": 12, "only/c.png": 12}, "a single class folder"),
        ({"x/a.png": 12, "x/b.png": 12, "x/c.png": 12, "y/a.png": 12}, "class 'y'"),
        ({"loose.png": 12, "x/a.png": 12}, "at its top"),
        ({"tiny.png": 5}, "5 pixels on a side"),
        ({"broken.png": 0}, "is not a readable image"),
    ],
)
def test_hostile_folders_are_refused_in_one_line(
    tmp_path: Path, layout: dict[str, int], message: str
) -> None:
    for name, side in layout.items():
        if side:
            _png(tmp_path / name, size=(side, side))
        else:
            (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError) as info:
        survey_images(tmp_path)
    assert message in str(info.value) and info.value.fix


def test_a_huge_image_is_refused_from_its_header(tmp_path: Path, memory_cap: None) -> None:
    _png(tmp_path / "a.png")
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")  # 48 Mpx, a few KB on disk
    with pytest.raises(DataError, match="8000 x 6000 pixels"):
        survey_images(tmp_path)
