"""Walking the lineage graph from any object, upstream (back to the data) or downstream
(forward to everything built on it), to a depth limit.

``get_lineage(conn, "model:churn/3", direction="upstream")`` is the operation the table
declares (``GET /lineage?ref=...``); :func:`walk` returns the typed graph.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import Rule, check_limit
from conveyor.errors import ConveyorError, NotFound, ValidationFailed
from conveyor.lineage import _data_kinds, _ops_kinds  # noqa: F401  (register the kinds)
from conveyor.lineage._base import KINDS
from conveyor.lineage.graph import Edge, LineageGraph, Node
from conveyor.lineage.refs import parse_ref

__all__ = ["DEFAULT_DEPTH", "DIRECTIONS", "MAX_DEPTH", "get_lineage", "walk"]

DIRECTIONS = ("both", "upstream", "downstream")
DEFAULT_DEPTH = 8
MAX_DEPTH = 50
#: a walk stops adding nodes past this many (and says it was truncated)
MAX_NODES = 500


def _resolve(conn: sa.Connection, node: Node) -> Node:
    return KINDS[node.type].resolve(conn, node)


def _try_resolve(conn: sa.Connection, node: Node) -> Node:
    """A neighbour's details; one that no longer resolves stays in the graph, marked."""
    try:
        return _resolve(conn, node)
    except ConveyorError as exc:
        node.label = node.label or node.id
        node.attrs = {**node.attrs, "missing": exc.message}
        return node


def _one_way(
    conn: sa.Connection,
    root: Node,
    upstream: bool,
    depth: int,
    nodes: dict[str, Node],
    edges: dict[tuple[str, str, str], Edge],
    distance: dict[str, int],
) -> bool:
    """Breadth-first from ``root`` one way; True when the depth or size limit cut it."""
    truncated = False
    queue: deque[tuple[Node, int]] = deque([(root, 0)])
    expanded: set[str] = set()
    while queue:
        node, d = queue.popleft()
        if node.id in expanded or "missing" in node.attrs:
            continue
        expanded.add(node.id)
        kind = KINDS[node.type]
        links = kind.upstream(conn, node) if upstream else kind.downstream(conn, node)
        if links and d >= depth:
            truncated = True
            continue
        for other, relation in links:
            if other.id not in nodes:
                if len(nodes) >= MAX_NODES:
                    truncated = True
                    continue
                other = _try_resolve(conn, other)
                nodes.setdefault(other.id, other)
                distance.setdefault(other.id, d + 1)
            other = nodes[other.id]
            source, target = (other.id, node.id) if upstream else (node.id, other.id)
            edges.setdefault((source, target, relation), Edge(source, target, relation))
            queue.append((other, d + 1))
    return truncated


def walk(
    conn: sa.Connection, ref: str, *, direction: str = "both", depth: int = DEFAULT_DEPTH
) -> LineageGraph:
    """The lineage of ``ref`` (``model:churn/3``, ``dataset:customers/2``, ``run:<id>``,
    ``prediction:<id>``, ``deployment:<endpoint>[/<revision>]``, ``alert:<id>``,
    ``pipeline-run:<id>`` …) ``direction`` ``upstream``, ``downstream`` or ``both``, at
    most ``depth`` edges away."""
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        )
    check_limit(depth, "depth", MAX_DEPTH)
    root = parse_ref(ref)
    try:
        root = _resolve(conn, root)
    except NotFound as exc:
        raise NotFound(f"{ref}: {exc.message}", details={"ref": ref}) from None
    nodes: dict[str, Node] = {root.id: root}
    edges: dict[tuple[str, str, str], Edge] = {}
    distance = {root.id: 0}
    truncated = False
    if direction in ("both", "upstream"):
        truncated |= _one_way(conn, root, True, depth, nodes, edges, distance)
    if direction in ("both", "downstream"):
        truncated |= _one_way(conn, root, False, depth, nodes, edges, distance)
    return LineageGraph(
        root=root.id,
        direction=direction,
        depth=depth,
        nodes=list(nodes.values()),
        edges=list(edges.values()),
        distance=distance,
        truncated=truncated,
    )


def get_lineage(
    conn: sa.Connection,
    ref: str,
    direction: Annotated[str, Rule({"enum": list(DIRECTIONS)})] = "both",
    depth: Annotated[int, Rule({"minimum": 1, "maximum": MAX_DEPTH})] = DEFAULT_DEPTH,
) -> dict[str, Any]:
    """The lineage graph of one object: ``{root, direction, depth, truncated, nodes: [{id,
    type, key, label, attrs, distance}], edges: [{source, target, relation}]}`` (edges
    point from cause to effect)."""
    return walk(conn, ref, direction=direction, depth=depth).to_dict()
