"""The user's graph: an edge list over the nodes of a node-by-time table (`--graph edges.csv`).

    adjacency, notes = load_edges(Path("edges.csv"), node_ids=("a", "b", "c"))  # (N, N)

The edge list is a CSV with a header naming `src` and `dst` (and optionally `weight`; 1 when
absent), one directed edge per row; node names are matched as written against the table's series
names. Refused, with the line: an unknown node, a self-loop, a negative, missing or non-finite
weight, no edges at all. Noted: duplicate edges (the first is kept), nodes no edge touches and a
graph in several pieces (diffusion convolution then mixes nodes within each piece only).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from diffrnn.errors import DataError

MAX_NODES = 2000
"""Most nodes: the diffusion convolution holds dense (N, N) transition matrices."""
MAX_EDGE_BYTES = 200_000_000
"""Largest edge list read."""
COLUMNS = ("src", "dst")
WEIGHT = "weight"


def components(adjacency: np.ndarray) -> list[int]:
    """Sizes of the weakly connected components of a directed graph (N, N), largest first."""
    n = adjacency.shape[0]
    linked = (adjacency != 0) | (adjacency.T != 0)
    seen = np.zeros(n, dtype=bool)
    sizes = []
    for start in range(n):
        if seen[start]:
            continue
        seen[start] = True
        stack, size = [start], 0
        while stack:
            node = stack.pop()
            size += 1
            for nxt in np.flatnonzero(linked[node] & ~seen):
                seen[nxt] = True
                stack.append(int(nxt))
        sizes.append(size)
    return sorted(sizes, reverse=True)


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        if path.stat().st_size > MAX_EDGE_BYTES:
            raise DataError(
                f"{path.name} is over {MAX_EDGE_BYTES:,} bytes.", "pass a smaller edge list."
            )
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not UTF-8 (byte at offset {exc.start:,}).",
            "save the edge list as UTF-8.",
        ) from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path.name} cannot be read ({exc}).", "check the file.") from None
    if not rows:
        raise DataError(f"{path.name} is empty.", "write a header src,dst[,weight] and edges.")
    return [c.strip().lower() for c in rows[0]], rows[1:]


def load_edges(path: Path, node_ids: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The weighted adjacency (N, N) of the edges in `path` over `node_ids`, and notes.

    Args:
        path: the edge-list CSV.
        node_ids: the node table's series names, in the table's order (row/column order of the
            adjacency: `adjacency[i, j]` weights the edge from node i to node j).

    Raises:
        DataError: no src/dst header, an unknown node, a self-loop, a bad weight, no edges,
            more than MAX_NODES nodes.
    """
    if len(node_ids) > MAX_NODES:
        raise DataError(
            f"the node table has {len(node_ids):,} nodes; the graph models take at most "
            f"{MAX_NODES:,} (dense N x N transition matrices).",
            "pass a subgraph, or run the nodes as plain series with --kind series.",
        )
    header, rows = _rows(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"{path.name} has no {' or '.join(missing)} column (its header: {', '.join(header)}).",
            "name the columns src,dst and optionally weight.",
        )
    i_src, i_dst = header.index("src"), header.index("dst")
    i_w = header.index(WEIGHT) if WEIGHT in header else None
    index = {name: k for k, name in enumerate(node_ids)}
    n = len(node_ids)
    adjacency = np.zeros((n, n))
    given = np.zeros((n, n), dtype=bool)
    duplicates = 0
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise DataError(f"{path.name} line {line} has {len(row)} fields.", "fix that row.")
        src, dst = row[i_src].strip(), row[i_dst].strip()
        for name in (src, dst):
            if name not in index:
                known = ", ".join(node_ids[:5]) + (", ..." if n > 5 else "")
                raise DataError(
                    f"{path.name} line {line} names node {name!r}, which is not a series of the "
                    f"node table ({known}).",
                    "use the node table's series names in src and dst.",
                )
        if src == dst:
            raise DataError(
                f"{path.name} line {line}: {src!r} -> {src!r} is a self-loop.",
                "remove it (the diffusion convolution already keeps each node's own signal).",
            )
        weight = 1.0
        if i_w is not None:
            try:
                weight = float(row[i_w])
            except ValueError:
                weight = float("nan")
            if not np.isfinite(weight) or weight < 0:
                raise DataError(
                    f"{path.name} line {line}: weight {row[i_w]!r} is not a non-negative number.",
                    "give every edge a finite weight >= 0 (or drop the weight column).",
                )
        a, b = index[src], index[dst]
        if given[a, b]:
            duplicates += 1
            continue
        given[a, b] = True
        adjacency[a, b] = weight
    if not given.any():
        raise DataError(
            f"{path.name} holds no edges.",
            "list the edges src,dst; or, without a graph, pass --kind series.",
        )
    notes = []
    if duplicates:
        notes.append(f"{duplicates} duplicate edge(s) ignored (the first of each is kept)")
    untouched = [node_ids[k] for k in np.flatnonzero(~(given.any(0) | given.any(1)))]
    if untouched:
        notes.append(
            f"{len(untouched)} node(s) without any edge ({', '.join(untouched[:5])}"
            + (", ...)" if len(untouched) > 5 else ")")
        )
    sizes = components(adjacency + given)
    if len(sizes) > 1:
        notes.append(
            f"the graph is disconnected: {len(sizes)} pieces of {', '.join(map(str, sizes[:8]))}"
            f"{', ...' if len(sizes) > 8 else ''} nodes; the graph models mix nodes within a "
            "piece only"
        )
    return adjacency, notes
