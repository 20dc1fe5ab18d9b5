"""Every figure of diffrnn as a PNG file: the report's plots, sample grids, fan charts.

The one place that sets matplotlib up: `pyplot()` selects the Agg backend (matplotlib is imported
only when drawing, so the CLI starts fast) and `save_png` writes a figure atomically, so a full
disk keeps the previous file whole (StorageError).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAMILY_COLOURS = {
    "baseline": "#7f7f7f",
    "rnn": "#1f77b4",
    "diffusion": "#d62728",
    "hybrid": "#9467bd",
    "reference": "#2ca02c",
}
DPI = 110
OUTLIER_QUANTILE = 0.98
"""Linear-scale curve plots show values up to this quantile (spikes above it are cut)."""


@dataclass(frozen=True)
class Point:
    """A model on the quality-vs-inference-time plane."""

    model: str
    family: str
    seconds_per_sample: float
    quality: float


@dataclass(frozen=True)
class Series:
    """A curve of one model."""

    label: str
    family: str
    x: Sequence[float]
    y: Sequence[float]
    dashed: bool = False


@dataclass(frozen=True)
class Ladder:
    """One model's quality against its training CPU seconds, a point per budget (mean and
    standard deviation over seeds)."""

    label: str
    family: str
    cpu_seconds: Sequence[float]
    mean: Sequence[float]
    std: Sequence[float]


def pyplot() -> Any:
    """`matplotlib.pyplot` on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path, dpi: float = DPI, layout: bool = True, **savefig: Any) -> Path:
    """Write `fig` as a PNG atomically and close it.

    Args:
        dpi: dots per inch of the file.
        layout: apply `tight_layout` first (sample grids without axes skip it).
        savefig: further arguments of `Figure.savefig` (e.g. `bbox_inches="tight"`).
    """
    from diffrnn.fileio import atomic_write_with

    if layout:
        fig.tight_layout()
    try:
        atomic_write_with(path, lambda name: fig.savefig(name, dpi=dpi, format="png", **savefig))
    finally:
        pyplot().close(fig)
    return path


def pareto_front(points: Sequence[Point], lower_is_better: bool) -> list[Point]:
    """The points no other point beats on both inference time and quality, fastest first."""
    sign = 1.0 if lower_is_better else -1.0
    front: list[Point] = []
    for p in sorted(points, key=lambda p: (p.seconds_per_sample, sign * p.quality)):
        if not front or sign * p.quality < sign * front[-1].quality:
            front.append(p)
    return front


def pareto_plot(
    points: Sequence[Point], metric: str, lower_is_better: bool, title: str, path: Path
) -> Path:
    """Quality against inference seconds per sample (log x), the Pareto front joined."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for p in points:
        ax.scatter(p.seconds_per_sample, p.quality, color=FAMILY_COLOURS.get(p.family, "k"), s=36)
        ax.annotate(
            p.model,
            (p.seconds_per_sample, p.quality),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    front = pareto_front(points, lower_is_better)
    ax.step(
        [p.seconds_per_sample for p in front],
        [p.quality for p in front],
        where="post",
        color="k",
        alpha=0.35,
        lw=1,
        label="Pareto front",
    )
    for family, colour in FAMILY_COLOURS.items():
        if any(p.family == family for p in points):
            ax.scatter([], [], color=colour, label=family)
    ax.set_xscale("log")
    ax.set_xlabel("inference seconds per sample (log)")
    ax.set_ylabel(f"{metric} ({'lower' if lower_is_better else 'higher'} is better)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def curves_plot(series: Sequence[Series], title: str, xlabel: str, ylabel: str, path: Path) -> Path:
    """Every model's curve overlaid (log y when the values are positive and span 20x or more)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    labels = list(dict.fromkeys(s.label for s in series))  # a model keeps its colour
    for s in series:
        colour = f"C{labels.index(s.label) % 10}"
        name = f"{s.label} ({s.family})" + (" val" if s.dashed else "")
        ax.plot(s.x, s.y, label=name, color=colour, ls="--" if s.dashed else "-", lw=1.2)
    values = sorted(v for s in series for v in s.y)
    if values and values[0] > 0 and values[-1] / values[0] > 20:
        ax.set_yscale("log")
    elif len(values) > 20:  # a spike must not flatten every other curve
        top = values[int(OUTLIER_QUANTILE * (len(values) - 1))]
        ax.set_ylim(values[0] - 0.05 * (top - values[0]), top + 0.1 * (top - values[0]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def ladder_plot(
    ladders: Sequence[Ladder],
    untrained: Sequence[tuple[str, str, float]],
    metric: str,
    lower_is_better: bool,
    title: str,
    path: Path,
) -> Path:
    """Quality against training CPU seconds (log x), a line per family's best model with its
    seed spread as a band; models that do not train (label, family, value) as dotted levels."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for ladder in ladders:
        colour = FAMILY_COLOURS.get(ladder.family, "k")
        lo = [m - s for m, s in zip(ladder.mean, ladder.std, strict=True)]
        hi = [m + s for m, s in zip(ladder.mean, ladder.std, strict=True)]
        ax.fill_between(ladder.cpu_seconds, lo, hi, color=colour, alpha=0.18, lw=0)
        ax.plot(
            ladder.cpu_seconds,
            ladder.mean,
            marker="o",
            ms=4,
            color=colour,
            label=f"{ladder.label} ({ladder.family})",
        )
    for label, family, value in untrained:
        ax.axhline(
            value,
            color=FAMILY_COLOURS.get(family, "k"),
            ls=":",
            lw=1.2,
            label=f"{label} ({family})",
        )
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 30, 100, not 3x10^1
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training CPU seconds (log)")
    ax.set_ylabel(f"{metric} ({'lower' if lower_is_better else 'higher'} is better)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return save_png(fig, path)


def forecast_fan_chart(history: Any, forecast: Any, path: Path, title: str) -> Path:
    """One series' forecast against its recent history, dates on the x axis, written atomically.

    Args:
        history: frame with `ds, y` (the observed values before the forecast).
        forecast: frame with `ds, mean` and quantile columns `q<level>` (`Forecaster.predict`);
            the outermost pair of levels is drawn as the light band, the next pair as the dark.
        path: the PNG to write.
        title: the figure's title (name the series).
    """
    plt = pyplot()
    levels = sorted(float(c[1:]) for c in forecast.columns if c.startswith("q"))
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
    ax.plot(history["ds"], history["y"], color="black", lw=1, label="observed")
    for k, alpha in ((0, 0.18), (1, 0.35)):
        if len(levels) >= 2 * (k + 1):
            low, high = levels[k], levels[-1 - k]
            ax.fill_between(
                forecast["ds"],
                forecast[f"q{low:g}"],
                forecast[f"q{high:g}"],
                color=FAMILY_COLOURS["rnn"],
                alpha=alpha,
                lw=0,
                label=f"{low:g} to {high:g} quantiles",
            )
    ax.plot(forecast["ds"], forecast["mean"], color=FAMILY_COLOURS["rnn"], lw=1.2, label="mean")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return save_png(fig, path)


def image_grid(
    images: Any, path: Path, columns: int = 8, low: float = -1.0, high: float = 1.0
) -> Path:
    """Grey images (N, H, W) with values in [low, high] as one grid, `columns` wide, each image
    framed by one blank pixel, at 20 pixels of the grid per inch (100 dpi: 5 dots a pixel)."""
    import numpy as np

    images = np.asarray(images)
    n, h, w = images.shape
    rows = -(-n // columns)
    tiles = np.full((rows * columns, h + 2, w + 2), low, dtype=np.float64)
    tiles[:n, 1 : h + 1, 1 : w + 1] = images
    grid = tiles.reshape(rows, columns, h + 2, w + 2).transpose(0, 2, 1, 3)  # (R, H+2, C, W+2)
    grid = grid.reshape(rows * (h + 2), columns * (w + 2))
    fig, ax = pyplot().subplots(figsize=(columns * (w + 2) / 20, rows * (h + 2) / 20), dpi=100)
    ax.imshow(grid, cmap="gray_r", vmin=low, vmax=high, interpolation="nearest")
    ax.set_axis_off()
    return save_png(fig, path, dpi=100, layout=False, bbox_inches="tight")


def spectrogram_grid(
    log_mels: Any,
    digits: Any,
    path: Path,
    title: str,
    classes: Sequence[str] = tuple("0123456789"),
    rows: int = 3,
) -> Path:
    """Log-mel spectrograms (N, M, T) in a grid: a column per class (`digits` (N,) the labels,
    indices into `classes`), its first `rows` clips (fewer when no class has as many)."""
    import numpy as np

    rows = min(rows, int(np.bincount(digits, minlength=len(classes)).max()))
    fig, axes = pyplot().subplots(
        rows, len(classes), figsize=(1.5 * len(classes), 1.6 * rows + 0.5), squeeze=False
    )
    for d, name in enumerate(classes):
        for r in range(rows):
            axes[r, d].set_axis_off()
        for r, i in enumerate(np.flatnonzero(digits == d)[:rows]):
            ax = axes[r, d]
            ax.set_axis_on()
            ax.imshow(log_mels[i], origin="lower", aspect="auto", cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name)
    fig.suptitle(title)
    return save_png(fig, path, dpi=80)
