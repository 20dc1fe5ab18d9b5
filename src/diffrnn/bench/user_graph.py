"""The `graph-user` task: the user's node-by-time table and edge list, as graph-chickenpox.

    options = prepare_user_graph(Path("cases.csv"), Path("edges.csv"), horizon=1, context=4)
    problem = graph_problem(options)              # in each unit: windows and the adjacency

The node table is read by the series loader (long or wide, the same checks and flags), cut to the
time range every node covers, and standardised per node on the training rows (the metrics are on
that scale, as chickenpox's MSE is on z-scored values). Windows of `context` steps in and
`horizon` out slide one step; the first TRAIN_FRACTION of them (in time order) train, and the
test windows start where their first target is the first row after the training rows (no test
target lies in the rows the models were fitted on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from diffrnn.errors import ConfigError, DataError

if TYPE_CHECKING:
    from diffrnn.data.windows import ForecastProblem

TASK = "graph-user"
TRAIN_FRACTION = 0.7
"""Share of the windows, first in time, the models train on."""
DEFAULT_CONTEXT = 4
"""Steps in by default (PyTorch Geometric Temporal's chickenpox lags)."""
MIN_TRAIN_WINDOWS, MIN_TEST_WINDOWS = 8, 4
LOADER_KEYS = ("format", "freq", "fill", "id_column", "time_column", "target_column", "encoding")


@dataclass(frozen=True, eq=False)
class GraphProblem:
    """Windows of the user's graph signal, standardised per node on the training rows.

    Attributes:
        adjacency: (N, N), adjacency[i, j] weights the edge i -> j.
        values: (T, N) standardised values; `train_rows` of them are all the models fit on.
        x_train, y_train, x_test, y_test: (W, context, N) and (W, horizon, N) windows.
        node_ids: the nodes' names.
        freq: the table's frequency.
        notes: the edge list's notes (duplicates, isolated nodes, a disconnected graph).
    """

    adjacency: np.ndarray
    values: np.ndarray
    train_rows: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    node_ids: tuple[str, ...]
    freq: str
    notes: tuple[str, ...] = ()

    def forecast_problem(self) -> ForecastProblem:
        """The same task as a `ForecastProblem` over the standardised node series (T, N): the
        training rows, and one test window per row of `y_test` (sliding by one), ending where
        its targets end; no calendar features (the graph models have none)."""
        from diffrnn.data.windows import ForecastProblem

        context, horizon = self.x_test.shape[1], self.y_test.shape[1]
        first_end = self.train_rows + horizon  # the first test target is the first held-out row
        return ForecastProblem(
            values=self.values,
            train_end=self.train_rows,
            test_ends=tuple(range(first_end, first_end + len(self.y_test))),
            horizon=horizon,
            context=context,
            freq=self.freq,
        )


def _series(options: dict[str, Any]) -> Any:
    from diffrnn.data.user import load_user_data

    return load_user_data(
        options["path"],
        format=options.get("format"),
        freq=options.get("freq"),
        fill=options.get("fill") or "error",
        id_column=options.get("id_column") or "unique_id",
        time_column=options.get("time_column") or "ds",
        target_column=options.get("target_column") or "y",
        date_column=options.get("time_column"),
        encoding=options.get("encoding") or "utf-8",
        surface="cli",
    )


def graph_problem(options: dict[str, Any], data: Any = None) -> GraphProblem:
    """The task's windows and graph from a unit's `ctx.options` (`data`: the loaded table).

    Raises:
        DataError: too few rows for MIN_TRAIN_WINDOWS and MIN_TEST_WINDOWS windows, or the
            edge list's refusals (`diffrnn.data.user_graph.load_edges`).
    """
    from diffrnn.data.user_graph import load_edges
    from diffrnn.data.windows import forecast_windows

    data = data if data is not None else _series(options)
    start, end = int(data.spans[:, 0].max()), int(data.spans[:, 1].min())
    context, horizon = options["context"], options["horizon"]
    rows = max(end - start, 0)
    windows = rows - context - horizon + 1
    need = context + horizon - 1 + MIN_TRAIN_WINDOWS + MIN_TEST_WINDOWS
    n_train = int(windows * TRAIN_FRACTION)
    first_test = n_train + horizon - 1  # its first target is the first row after training's
    if windows - first_test < MIN_TEST_WINDOWS or n_train < MIN_TRAIN_WINDOWS:
        raise DataError(
            f"the node table has {rows} rows common to all nodes; context {context} and horizon "
            f"{horizon} need at least {round(need / TRAIN_FRACTION)} for {MIN_TRAIN_WINDOWS} "
            f"training and {MIN_TEST_WINDOWS} test windows.",
            "give more history, or pass a shorter --context or --horizon.",
        )
    raw = np.ascontiguousarray(data.values[:, start:end].T)  # (T, N)
    train_rows = n_train + context + horizon - 1  # the rows the training windows cover
    mean = raw[:train_rows].mean(axis=0)
    std = raw[:train_rows].std(axis=0)
    values = (raw - mean) / np.where(std > 0, std, 1.0)  # (T, N)
    past, future = forecast_windows(values, context, horizon)  # (W, C, N), (W, H, N)
    adjacency, notes = load_edges(Path(options["edges"]), tuple(data.series_ids))
    return GraphProblem(
        adjacency=adjacency,
        values=values,
        train_rows=train_rows,
        x_train=past[:n_train],
        y_train=future[:n_train],
        x_test=past[first_test:],
        y_test=future[first_test:],
        node_ids=tuple(data.series_ids),
        freq=data.freq,
        notes=tuple(notes),
    )


def split_graph_folder(folder: Path) -> tuple[Path, Path]:
    """(node table, edges.csv) of a folder holding both."""
    from diffrnn.data.user_kinds import EDGES_FILE, TABLE_SUFFIXES

    tables = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
    )
    others = [p for p in tables if p.name != EDGES_FILE]
    if not (folder / EDGES_FILE).is_file() or len(others) != 1:
        raise DataError(
            f"a graph folder holds {EDGES_FILE} and one node table; {folder} holds "
            f"{', '.join(p.name for p in tables) or 'no table'}.",
            "keep the two files alone in the folder, or pass --data TABLE --graph EDGES.",
        )
    return others[0], folder / EDGES_FILE


def prepare_user_graph(
    path: Path,
    edges: Path | None = None,
    horizon: int | None = None,
    context: int | None = None,
    **loader: Any,
) -> dict[str, Any]:
    """Check the user's graph once, before any unit runs; the units' options with a summary.

    Args:
        path: the node table (CSV/Parquet, long or wide), or a folder holding it and edges.csv.
        edges: the edge list (`--graph`); None when `path` is a folder.
        horizon: steps out (default 1); context: steps in (default DEFAULT_CONTEXT).
        **loader: the series loader's options (format, freq, fill, id/time/target columns,
            encoding).

    Raises:
        ConfigError: a non-positive horizon or context.
        DataError: the table's, the edge list's or the split's refusals.
    """
    from diffrnn.bench.user_kinds import content_sha256

    for name, value in (("--horizon", horizon), ("--context", context)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}.", f"pass {name} 1 or more.")
    if path.is_dir():
        path, edges = split_graph_folder(path)
    if edges is None:
        raise DataError(
            f"a graph needs its edges beside the node table {path.name}.",
            "pass --graph edges.csv (columns src,dst[,weight]).",
        )
    options: dict[str, Any] = {
        "task": TASK,
        "kind": "graph",
        "path": str(path),
        "edges": str(edges),
        "horizon": horizon or 1,
        "context": context or DEFAULT_CONTEXT,
        **{k: loader.get(k) for k in LOADER_KEYS},
    }
    data = _series(options)
    problem = graph_problem(options, data)
    n = len(problem.node_ids)
    n_edges = int((problem.adjacency != 0).sum())
    options["data_sha256"] = content_sha256([path, edges], path.parent)
    options["summary"] = {
        "node table": f"{path} ({data.format}, frequency {data.freq}; {n} nodes, "
        f"{len(problem.values)} rows common to all)",
        "graph": f"{edges}: {n_edges} directed edges"
        + ("" if np.isin(problem.adjacency, (0.0, 1.0)).all() else ", weighted"),
        "windows": f"{options['context']} steps in -> {options['horizon']} out, sliding by one; "
        f"the first {len(problem.x_train)} ({TRAIN_FRACTION:.0%}) train, the last "
        f"{len(problem.x_test)} test",
        "scale": f"each node standardised on the {problem.train_rows} training rows; mse and "
        "mae are on that scale",
        "graph notes": "; ".join(problem.notes) or "none",
        "loader notes": "; ".join(data.notes) or "none",
    }
    return options
