"""Feature store tables, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0014_features``. Times are epoch milliseconds (UTC).

* ``feature_objects`` — the current definition of each entity, feature view and feature
  service: its JSON spec, the spec's digest and its version number (bumped when the spec
  changes). ``removed_at`` is set when an apply removes it (the history stays).
* ``feature_object_versions`` — every version of every definition, append-only.
* ``feature_materializations`` — one row per view per materialization: the event-time
  window written to the online store, rows written, the profile of the written values,
  and the newest event time seen (freshness).
* ``endpoint_features`` — the feature service a deployment endpoint looks up before it
  predicts, and what to do when a value is missing or the online store is unreachable.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = [
    "endpoint_features",
    "feature_materializations",
    "feature_object_versions",
    "feature_objects",
]

feature_objects = sa.Table(
    "feature_objects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.Column("removed_at", MS, nullable=True),
    sa.UniqueConstraint("project_id", "kind", "name"),
)

feature_object_versions = sa.Table(
    "feature_object_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("object_id", ID, sa.ForeignKey("feature_objects.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("object_id", "version"),
)

feature_materializations = sa.Table(
    "feature_materializations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("view", NAME, nullable=False),
    sa.Column("view_version", sa.Integer, nullable=False),
    sa.Column("online_store", sa.String(500), nullable=False),
    sa.Column("start_ms", MS, nullable=True),
    sa.Column("end_ms", MS, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("newest_event_ms", MS, nullable=True),
    sa.Column("profile", sa.JSON, nullable=True),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Index("ix_feature_materializations_view", "project_id", "view", "end_ms"),
)

endpoint_features = sa.Table(
    "endpoint_features",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("endpoint", NAME, nullable=False),
    sa.Column("service", NAME, nullable=False),
    sa.Column("on_missing", sa.String(16), nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "endpoint"),
)
