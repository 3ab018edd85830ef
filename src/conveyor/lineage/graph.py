"""The lineage graph: typed nodes, cause → effect edges, and the walk's result.

Edges always point from cause to effect (``dataset → run → model → gate report →
rollout``); "upstream" walks them backwards, "downstream" forwards. A node's ``id`` is the
reference a user types (``model:churn/3``), so every id in an answer can be walked again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["NODE_TYPES", "Edge", "LineageGraph", "Node"]

#: node type → the reference prefix (``<prefix>:<key>``) that names it.
NODE_TYPES = {
    "dataset_version": "dataset",
    "run": "run",
    "model_version": "model",
    "gate_report": "gate-report",
    "approval": "approval",
    "deployment_revision": "deployment",
    "rollout": "rollout",
    "alert": "alert",
    "trigger": "trigger",
    "pipeline_run": "pipeline-run",
    "prediction": "prediction",
    "commit": "commit",
}


@dataclass
class Node:
    """One object of the graph: ``type`` (a key of ``NODE_TYPES``), ``key`` (what follows
    the prefix in its reference), a human ``label`` and a few facts (``attrs``)."""

    type: str
    key: str
    label: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{NODE_TYPES[self.type]}:{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}


@dataclass(frozen=True)
class Edge:
    """``source`` (cause) → ``target`` (effect), both node ids, and how they relate."""

    source: str
    target: str
    relation: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LineageGraph:
    """What a walk found: the ``root`` node id, the nodes with their distance from it
    (``depth``), the edges between them, and whether the depth limit cut the walk."""

    root: str
    direction: str
    depth: int
    nodes: list[Node]
    edges: list[Edge]
    distance: dict[str, int] = field(default_factory=dict)
    truncated: bool = False

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def ids(self, type_: str | None = None) -> list[str]:
        """Node ids (of one type when given), in walk order."""
        return [n.id for n in self.nodes if type_ is None or n.type == type_]

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "direction": self.direction,
            "depth": self.depth,
            "truncated": self.truncated,
            "nodes": [{**n.to_dict(), "distance": self.distance.get(n.id)} for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageGraph:
        nodes = [
            Node(n["type"], n["key"], n.get("label", ""), dict(n.get("attrs") or {}))
            for n in data["nodes"]
        ]
        return cls(
            root=data["root"],
            direction=data["direction"],
            depth=int(data["depth"]),
            nodes=nodes,
            edges=[Edge(e["source"], e["target"], e["relation"]) for e in data["edges"]],
            distance={
                n["id"]: n["distance"] for n in data["nodes"] if n.get("distance") is not None
            },
            truncated=bool(data.get("truncated", False)),
        )
