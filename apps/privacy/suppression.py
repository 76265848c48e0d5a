"""Primary and complementary suppression of one hour of personal data over both public partitions.

The sources of one hour fall into atoms: the sources sharing a district AND an H3 cell. Every published
cell (a district or an H3 cell) is a sum over its atoms, so the hour is a bipartite graph: districts on one
side, H3 cells on the other, one edge per atom weighted by its number of sources. An attacker who holds
every published value of the hour can compute exactly the linear combinations of those sums. Any nonzero
such combination gives weight to every atom on the boundary of some set S of published cells (the edges
with one end in S: to an unpublished cell or to a published one outside S; see docs/privacy.md for the
argument). So the hour is safe when every set S of published cells has a boundary of 0 or at least k
sources: a global minimum-cut question, which Stoer-Wagner answers exactly, per connected part, with the
unpublished cells merged into one node.

Primary suppression drops the cells with fewer than k sources; then, while some set S has a cut in
(0, k), the cell of S with the fewest sources is suppressed too (the least information lost), until a fixed
point: every step suppresses a cell, so it ends. The result depends only on the atoms' source counts, so
it is memoised (hours with the same reporting sources share it)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import networkx as nx

Node = tuple[str, str]  # ("district", "12") or ("h3", "881f1d4a9bfffff")
Atom = tuple[str, str, int]  # (district, h3 cell, number of sources)
_HIDDEN: Node = ("", "suppressed")


def suppressed_cells(atoms: Iterable[Atom], k: int) -> frozenset[Node]:
    """The cells of both partitions to suppress in this hour."""
    merged: dict[tuple[str, str], int] = {}
    for district, cell, n in atoms:
        merged[(district, cell)] = merged.get((district, cell), 0) + n
    return _suppress(tuple(sorted(merged.items())), k)


@lru_cache(maxsize=4096)
def _suppress(atoms: tuple[tuple[tuple[str, str], int], ...], k: int) -> frozenset[Node]:
    counts: dict[Node, int] = {}
    for (district, cell), n in atoms:
        for node in (("district", district), ("h3", cell)):
            counts[node] = counts.get(node, 0) + n
    hidden = {node for node, n in counts.items() if n < k}
    while True:
        exposed = smallest_exposed_set(atoms, hidden, k)
        if exposed is None:
            return frozenset(hidden)
        hidden.add(min(exposed, key=lambda node: (counts[node], node)))


def smallest_exposed_set(
    atoms: tuple[tuple[tuple[str, str], int], ...], hidden: set[Node], k: int
) -> frozenset[Node] | None:
    """A set of published cells whose boundary holds between 1 and k-1 sources, or None if there is none."""
    graph = nx.Graph()
    for (district, cell), n in atoms:
        a, b = ("district", district), ("h3", cell)
        a, b = (_HIDDEN if a in hidden else a), (_HIDDEN if b in hidden else b)
        if a == b:
            continue  # both ends suppressed: the atom is in no published value
        weight = graph.get_edge_data(a, b, {"weight": 0})["weight"]
        graph.add_edge(a, b, weight=weight + n)
    published = graph.subgraph(node for node in graph if node != _HIDDEN)
    for part in sorted(nx.connected_components(published), key=sorted):
        nodes = set(part)
        if any(graph.has_edge(node, _HIDDEN) for node in nodes):
            nodes.add(_HIDDEN)
        if len(nodes) < 2:
            continue
        cut, (side_a, side_b) = nx.stoer_wagner(graph.subgraph(nodes), weight="weight")
        if cut < k:
            return frozenset(side_b if _HIDDEN in side_a else side_a)
    return None
