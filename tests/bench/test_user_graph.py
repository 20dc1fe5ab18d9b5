"""The graph-user task's windows: split in time order, standardised on the training rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffrnn.bench.user_graph import graph_problem, prepare_user_graph
from diffrnn.errors import DataError


def _graph(tmp_path: Path, rows: int) -> Path:
    folder = tmp_path / "net"
    folder.mkdir()
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-01-01") + rows)
    lines = ["date,a,b,c"] + [f"{d},{t},{2 * t},{t % 5}" for t, d in enumerate(days)]
    (folder / "nodes.csv").write_text("\n".join(lines) + "\n")
    (folder / "edges.csv").write_text("src,dst\na,b\nb,c\n")
    return folder


def test_windows_split_in_time_with_no_test_target_in_the_training_rows(tmp_path: Path) -> None:
    options = prepare_user_graph(_graph(tmp_path, 60), horizon=3, context=4)
    p = graph_problem(options)
    assert p.node_ids == ("a", "b", "c") and p.adjacency[0, 1] == 1 and p.adjacency[1, 2] == 1
    windows = 60 - 4 - 3 + 1
    assert len(p.x_train) == int(0.7 * windows) and p.x_train.shape[1:] == (4, 3)
    assert p.y_test.shape[1:] == (3, 3)
    assert len(p.x_train) + 2 + len(p.x_test) == windows  # horizon - 1 windows left between
    np.testing.assert_allclose(p.values[: p.train_rows].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.values[: p.train_rows].std(axis=0), 1.0)
    first_target = p.y_test[0, 0]  # the row right after the training rows
    np.testing.assert_array_equal(first_target, p.values[p.train_rows])
    assert "3 nodes" in options["summary"]["node table"]
    assert options["summary"]["graph notes"] == "none"


def test_too_short_a_table_names_the_rows_needed(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"needs? at least"):
        prepare_user_graph(_graph(tmp_path, 12), horizon=1, context=4)


def test_a_table_without_edges_is_refused(tmp_path: Path) -> None:
    folder = _graph(tmp_path, 60)
    with pytest.raises(DataError, match=r"pass --graph edges\.csv"):
        prepare_user_graph(folder / "nodes.csv")


def test_the_forecast_problem_holds_the_same_test_windows(tmp_path: Path) -> None:
    p = graph_problem(prepare_user_graph(_graph(tmp_path, 60), horizon=3, context=4))
    problem = p.forecast_problem()  # TimeGrad's view: the node series, no graph
    assert problem.train_end == p.train_rows and problem.num_series == 3
    past, future = problem.test_windows()
    np.testing.assert_array_equal(future, p.y_test)
    np.testing.assert_array_equal(past[:, -4:], p.x_test)
    np.testing.assert_array_equal(problem.train, p.values[: p.train_rows])


def test_timegrad_runs_on_the_node_series(tmp_path: Path) -> None:
    from diffrnn.bench.registry import UnitContext
    from diffrnn.bench.units.user_graph import timegrad_user_graph

    options = prepare_user_graph(_graph(tmp_path, 60), horizon=2, context=4)
    ctx = UnitContext(seed=0, budget_s=1.0, suite="quick", out_dir=tmp_path, options=options)
    output = timegrad_user_graph(ctx)
    assert {"mse", "mae", "crps"} <= set(output.metrics) and output.steps
    assert all(np.isfinite(v) for v in output.metrics.values())
    assert output.artefacts["fan_chart"] and output.params > 0
