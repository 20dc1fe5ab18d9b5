"""The figures: the Pareto front, and every figure written through the one Agg set-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffrnn.plots import Point, image_grid, pareto_front, pyplot, save_png, spectrogram_grid

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_pareto_front_keeps_points_nothing_beats() -> None:
    pts = [Point("a", "rnn", 1.0, 0.5), Point("b", "rnn", 2.0, 0.6), Point("c", "rnn", 3.0, 0.2)]
    assert [p.model for p in pareto_front(pts, lower_is_better=True)] == ["a", "c"]
    assert [p.model for p in pareto_front(pts, lower_is_better=False)] == ["a", "b"]


def test_figures_are_drawn_on_agg_and_written_as_png(tmp_path: Path) -> None:
    import matplotlib

    plt = pyplot()
    assert matplotlib.get_backend().lower() == "agg"
    fig, _ = plt.subplots()
    save_png(fig, tmp_path / "empty.png")
    assert not plt.get_fignums()  # closed once written
    levels = np.linspace(-1, 1, 17)
    images = np.broadcast_to(levels[:, None, None], (17, 8, 8))  # (17, 8, 8) one level each
    image_grid(images, tmp_path / "grid.png", columns=4)
    log_mels = np.random.default_rng(0).normal(size=(20, 40, 16))
    spectrogram_grid(log_mels, np.repeat(np.arange(10), 2), tmp_path / "mels.png", "title")
    for name in ("empty.png", "grid.png", "mels.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)


def test_the_grid_frames_each_image_with_one_blank_pixel(tmp_path: Path) -> None:
    from matplotlib.image import imread

    image_grid(np.ones((2, 3, 3)), tmp_path / "grid.png", columns=2)  # two black 3x3 squares
    grey = imread(tmp_path / "grid.png")[..., :3].mean(axis=-1)  # (H, W), 1 = white
    dark = grey < 0.5
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark.any(axis=0))
    # one band of 3 pixels' height; two 3-pixel squares with 2 blank pixels between them
    height = rows.max() - rows.min() + 1
    assert len(rows) == height
    gaps = np.flatnonzero(np.diff(cols) > 1)
    assert len(gaps) == 1
    gap = cols[gaps[0] + 1] - cols[gaps[0]] - 1
    assert gap / height == pytest.approx(2 / 3, abs=0.1)
    assert (cols.max() - cols.min() + 1) / height == pytest.approx(8 / 3, abs=0.2)


def test_the_spectrogram_grid_has_a_column_per_class_even_an_empty_one(tmp_path: Path) -> None:
    from matplotlib.image import imread

    log_mels = np.random.default_rng(0).normal(size=(3, 40, 16))
    labels = np.array([1, 1, 2])  # class "a" (0) has no clip, as in a user's test split
    spectrogram_grid(log_mels, labels, tmp_path / "three.png", "t", classes=("a", "b", "c"))
    spectrogram_grid(log_mels, labels, tmp_path / "four.png", "t", classes=("a", "b", "c", "d"))
    three, four = imread(tmp_path / "three.png"), imread(tmp_path / "four.png")
    assert three.shape[0] == four.shape[0]  # two rows: class "b" has two clips
    assert four.shape[1] / three.shape[1] == pytest.approx(4 / 3, abs=0.02)  # a column a class
