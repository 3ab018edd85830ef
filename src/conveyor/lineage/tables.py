"""The one lineage table, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0011_lineage``. Most lineage is read from the records the domains
already keep (run inputs, a version's source run, gate reports, rollouts, revisions);
``lineage_edges`` holds only the links nothing else stores: the alert (or dataset version)
that made a trigger fire a pipeline run, and the model version a pipeline run produced.
Node ids are lineage references (``alert:<id>``, ``pipeline-run:<id>``, ``model:churn/3``).
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["lineage_edges"]

lineage_edges = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("relation", sa.String(64), nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("source", "target", "relation"),
    sa.Index("ix_lineage_edges_target", "target"),
)
