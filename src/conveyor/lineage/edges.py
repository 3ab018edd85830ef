"""Recording the lineage links no domain record keeps, and reading them back.

Producers call :func:`record_edge` in the transaction of the change that created the
link (the trigger controller when it queues a run, CI when it finds the version a run
produced), so the link and the change commit together.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.lineage.tables import lineage_edges
from conveyor.store.dialect import insert_if_absent
from conveyor.store.uow import UnitOfWork

__all__ = ["record_edge", "recorded_edges"]


def record_edge(uow: UnitOfWork, source: str, target: str, relation: str) -> bool:
    """Record ``source`` → ``target`` (lineage references, cause first); True if new.
    Recording the same link twice keeps one row and one audit event."""
    row = {
        "id": new_id(),
        "source": source,
        "target": target,
        "relation": relation,
        "created_by": uow.actor.name,
        "created_at": now_ms(),
    }
    t = lineage_edges.c
    added = insert_if_absent(uow.conn, lineage_edges, row, [t.source, t.target, t.relation])
    if added:
        uow.audit("lineage.link", "lineage_edge", f"{source} -> {target}", {"relation": relation})
    return added


def recorded_edges(conn: sa.Connection, node_id: str, *, upstream: bool) -> list[tuple[str, str]]:
    """``(other node id, relation)`` of the recorded links into (``upstream``) or out of
    ``node_id``."""
    t = lineage_edges.c
    mine, other = (t.target, t.source) if upstream else (t.source, t.target)
    rows = conn.execute(
        sa.select(other, t.relation).where(mine == node_id).order_by(t.created_at, t.id)
    )
    return [(r[0], r[1]) for r in rows]
