"""Graph datasets: shapes, edges, and the chickenpox lag windows / split of PyG Temporal."""

from __future__ import annotations

import numpy as np

from diffrnn.data.graph import load_chickenpox, load_los_loop, load_metr_la_graph


def test_chickenpox_shapes_and_fx_is_zscored_weekly_change() -> None:
    pox = load_chickenpox()
    assert pox.fx.shape == (521, 20) and pox.edges.shape == (102, 2)
    assert pox.edges.min() == 0 and pox.edges.max() == 19 and len(pox.node_ids) == 20
    assert pox.counts.shape == (522, 20)
    change = np.diff(pox.counts.astype(np.float64), axis=0)  # (521, 20)
    z = (change - change.mean(axis=0)) / change.std(axis=0)
    columns = [pox.count_columns.index(name) for name in pox.node_ids]
    np.testing.assert_allclose(z[:, columns], pox.fx, atol=1e-9)
    assert (np.diff(pox.weeks) == np.timedelta64(7, "D")).all()


def test_chickenpox_lag_windows_and_split() -> None:
    pox = load_chickenpox()
    x, y = pox.lag_windows()
    assert x.shape == (517, 20, 4) and y.shape == (517, 20)
    np.testing.assert_array_equal(x[10, 3], pox.fx[10:14, 3])
    np.testing.assert_array_equal(y[10], pox.fx[14])
    (x_train, y_train), (x_test, y_test) = pox.train_test_split()
    assert len(x_train) == len(y_train) == 103 and len(x_test) == len(y_test) == 414
    np.testing.assert_array_equal(x_test[0], x[103])


def test_los_loop() -> None:
    los = load_los_loop()
    assert los.speeds.shape == (2016, 207) and los.adjacency.shape == (207, 207)
    assert len(los.sensor_ids) == 207 and los.sensor_ids[0] == "773869"
    np.testing.assert_array_equal(los.adjacency, los.adjacency.T)


def test_metr_la_graph_is_directed_and_matches_sensor_ids() -> None:
    graph = load_metr_la_graph()
    assert graph.adjacency.shape == (207, 207) and graph.adjacency.dtype == np.float32
    assert not np.array_equal(graph.adjacency, graph.adjacency.T)
    assert graph.sensor_ids == load_los_loop().sensor_ids
    assert graph.latitude.min() > 33.5 and graph.longitude.max() < -117.5  # Los Angeles
