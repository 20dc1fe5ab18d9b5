"""Graphs with signals on their nodes: Hungarian chickenpox, LOS-loop traffic, the METR-LA graph."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from diffrnn.data import registry

CHICKENPOX_LAGS = 4  # PyTorch Geometric Temporal's ChickenpoxDatasetLoader default
CHICKENPOX_TRAIN_RATIO = 0.2  # the split of PyTorch Geometric Temporal's examples


@dataclass(frozen=True, eq=False)
class Chickenpox:
    """Hungarian chickenpox: `fx` (T, N) = (521, 20) z-scored weekly changes on 20 counties.

    `edges` (E, 2) = (102, 2) are directed (source, target) node indices; `node_ids[i]` names
    county i. `counts` (522, 20) are the raw weekly cases of `count_columns` (the UCI CSV, whose
    column order differs from the node order), `weeks` their dates.
    """

    fx: np.ndarray  # (T, N) float64
    edges: np.ndarray  # (E, 2) int64
    node_ids: tuple[str, ...]
    counts: np.ndarray  # (T + 1, N) int64
    count_columns: tuple[str, ...]
    weeks: np.ndarray  # (T + 1,) datetime64[D]

    def lag_windows(self, lags: int = CHICKENPOX_LAGS) -> tuple[np.ndarray, np.ndarray]:
        """Snapshots as PyTorch Geometric Temporal builds them: x (S, N, lags), y (S, N).

        Snapshot s has features fx[s : s + lags].T and target fx[s + lags], S = T - lags.
        """
        n_snapshots = self.fx.shape[0] - lags
        starts = np.arange(n_snapshots)[:, None] + np.arange(lags)[None, :]  # (S, lags)
        features = self.fx[starts].transpose(0, 2, 1)  # (S, lags, N) -> (S, N, lags)
        return features, self.fx[lags:]

    def train_test_split(
        self, lags: int = CHICKENPOX_LAGS, train_ratio: float = CHICKENPOX_TRAIN_RATIO
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """((x_train, y_train), (x_test, y_test)): the first int(ratio * S) snapshots train.

        As `torch_geometric_temporal.signal.temporal_signal_split`; lags 4, ratio 0.2 -> 103 / 414.
        """
        x, y = self.lag_windows(lags)
        n_train = int(train_ratio * len(y))
        return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


@dataclass(frozen=True, eq=False)
class LosLoop:
    """LOS-loop: `speeds` (T, N) = (2016, 207) in mph every 5 minutes, `adjacency` (N, N)."""

    speeds: np.ndarray  # (T, N) float64
    adjacency: np.ndarray  # (N, N) float64, symmetric
    sensor_ids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class MetrLaGraph:
    """The DCRNN METR-LA sensor graph: directed weighted `adjacency` (N, N) = (207, 207)."""

    adjacency: np.ndarray  # (N, N) float32; adjacency[i, j] weights the road from i to j
    sensor_ids: tuple[str, ...]
    latitude: np.ndarray  # (N,)
    longitude: np.ndarray  # (N,)


def load_chickenpox() -> Chickenpox:
    """The PyTorch Geometric Temporal chickenpox JSON plus the raw UCI weekly counts."""
    blob = json.loads(registry.path("chickenpox", "graph/chickenpox/chickenpox.json").read_text())
    node_ids = sorted(blob["node_ids"], key=blob["node_ids"].get)  # name -> index
    csv = registry.path("chickenpox", "graph/chickenpox/hungary_chickenpox.csv")
    with csv.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    counties = header[2:-1]  # leading unnamed index and Date; trailing Total
    weeks = np.array(
        ["-".join(reversed(r[1].split("/"))) for r in rows], dtype="datetime64[D]"
    )  # DD/MM/YYYY -> YYYY-MM-DD
    return Chickenpox(
        fx=np.array(blob["FX"], dtype=np.float64),
        edges=np.array(blob["edges"], dtype=np.int64),
        node_ids=tuple(node_ids),
        counts=np.array([r[2:-1] for r in rows], dtype=np.int64),
        count_columns=tuple(counties),
        weeks=weeks,
    )


def load_los_loop() -> LosLoop:
    """LOS-loop speeds (header row = sensor ids) and the symmetrised sensor adjacency."""
    speed_path = registry.path("los_loop", "graph/los_loop/los_speed.csv")
    with speed_path.open(encoding="ascii") as f:
        sensor_ids = tuple(f.readline().strip().split(","))
        speeds = np.loadtxt(f, delimiter=",", dtype=np.float64)
    adjacency = np.loadtxt(
        registry.path("los_loop", "graph/los_loop/los_adj.csv"), delimiter=",", dtype=np.float64
    )
    return LosLoop(speeds=speeds, adjacency=adjacency, sensor_ids=sensor_ids)


def load_metr_la_graph() -> MetrLaGraph:
    """The METR-LA graph from its npz (read with allow_pickle=False) and sensor locations."""
    with np.load(
        registry.path("metr_la_graph", "graph/metr_la/adj_mx_la.npz"), allow_pickle=False
    ) as npz:
        adjacency, sensor_ids = npz["adj"], tuple(str(s) for s in npz["sensor_ids"])
    locations = np.loadtxt(
        registry.path("metr_la_graph", "graph/metr_la/graph_sensor_locations.csv"),
        delimiter=",",
        skiprows=1,
        dtype=np.float64,
    )  # (N, 4): index, sensor_id, latitude, longitude
    by_id = {str(int(row[1])): row for row in locations}
    return MetrLaGraph(
        adjacency=adjacency,
        sensor_ids=sensor_ids,
        latitude=np.array([by_id[s][2] for s in sensor_ids]),
        longitude=np.array([by_id[s][3] for s in sensor_ids]),
    )
