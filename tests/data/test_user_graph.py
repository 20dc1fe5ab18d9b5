"""The user's edge list: the adjacency it gives, its notes and its refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffrnn.data.user_graph import components, load_edges
from diffrnn.errors import DataError

NODES = ("a", "b", "c", "d")


def _edges(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edges.csv"
    path.write_text(text)
    return path


def test_edges_give_a_directed_weighted_adjacency_in_the_tables_order(tmp_path: Path) -> None:
    path = _edges(tmp_path, "dst,src,weight\nb,a,2.5\nc,b,1\nd,c,0.5\na,d,1\n")
    adjacency, notes = load_edges(path, NODES)
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[2, 3], expected[3, 0] = 2.5, 1, 0.5, 1
    np.testing.assert_array_equal(adjacency, expected)
    assert notes == []
    adjacency, _ = load_edges(_edges(tmp_path, "src,dst\na,b\n"), NODES)
    assert adjacency[0, 1] == 1.0 and adjacency.sum() == 1.0  # no weight column: 1


def test_a_disconnected_graph_and_duplicates_get_notes(tmp_path: Path) -> None:
    _, notes = load_edges(_edges(tmp_path, "src,dst\na,b\nb,a\na,b\n"), NODES)
    assert notes == [
        "1 duplicate edge(s) ignored (the first of each is kept)",
        "2 node(s) without any edge (c, d)",
        "the graph is disconnected: 3 pieces of 2, 1, 1 nodes; the graph models mix nodes "
        "within a piece only",
    ]
    assert components(np.eye(3, k=1)) == [3]  # a directed chain is one weak component


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("src,dst\na,e\n", "line 2 names node 'e', which is not a series of the node table"),
        ("src,dst\na,b\nc,c\n", "line 3: 'c' -> 'c' is a self-loop"),
        ("src,dst,weight\na,b,-1\n", "line 2: weight '-1' is not a non-negative number"),
        ("src,dst,weight\na,b,nan\n", "weight 'nan' is not a non-negative number"),
        ("src,dst,weight\na,b,heavy\n", "weight 'heavy'"),
        ("from,to\na,b\n", "has no src or dst column"),
        ("src,dst\n", "holds no edges"),
        ("", "is empty"),
    ],
)
def test_bad_edge_lists_are_refused_with_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=r"edges\.csv") as info:
        load_edges(_edges(tmp_path, text), NODES)
    assert message in str(info.value) and info.value.fix
