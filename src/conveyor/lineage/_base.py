"""What every node kind implements for the walk, and helpers the kinds share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.lineage.edges import recorded_edges
from conveyor.lineage.graph import NODE_TYPES, Node

__all__ = ["KINDS", "Kind", "Link", "node_of_ref", "recorded", "run_node"]

#: a neighbour and the relation of the edge (always read cause → effect).
Link = tuple[Node, str]

#: at most this many neighbours of one kind per node (newest first); more marks the walk
#: truncated.
FANOUT = 50

_TYPE_OF = {prefix: type_ for type_, prefix in NODE_TYPES.items()}


class Kind:
    """One node type: how to find it (``resolve``: label, facts, canonical key) and its
    neighbours against (``upstream``) and along (``downstream``) the edges."""

    type: str = ""

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        raise NotImplementedError

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        return []

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        return []


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.type] = kind
    return kind


def node_of_ref(ref: str) -> Node:
    prefix, _, key = ref.partition(":")
    return Node(_TYPE_OF[prefix], key)


def recorded(conn: sa.Connection, node: Node, *, upstream: bool) -> list[Link]:
    """The node's links kept in ``lineage_edges``."""
    out = []
    for other, relation in recorded_edges(conn, node.id, upstream=upstream):
        prefix = other.partition(":")[0]
        if prefix in _TYPE_OF:
            out.append((node_of_ref(other), relation))
    return out


def run_node(conn: sa.Connection, run_id: str) -> Node:
    """A tracked run's node: a ``pipeline_run`` when the run is a pipeline run's parent."""
    from conveyor.pipelines.tables import pipeline_runs

    found = conn.execute(sa.select(pipeline_runs.c.id).where(pipeline_runs.c.id == run_id)).first()
    return Node("pipeline_run" if found is not None else "run", run_id)


def model_node(name: str, version: Any) -> Node:
    return Node("model_version", f"{name}/{int(version)}")


def dataset_uri_node(uri: Any) -> Node | None:
    """``datasets:/name/3`` → the dataset version's node (None for anything else)."""
    if not isinstance(uri, str) or not uri.startswith("datasets:/"):
        return None
    name, _, version = uri.removeprefix("datasets:/").rpartition("/")
    return Node("dataset_version", f"{name}/{version}") if name and version.isdigit() else None


def split_versioned(key: str) -> tuple[str, int]:
    name, _, version = key.rpartition("/")
    return name, int(version)
