"""Deployment tables, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0002_deployments`` (``deployment_stops``: ``0017``). Times are epoch
milliseconds (UTC); routes, traffic options and compile results are JSON. Revisions are
append-only: a change of traffic, a rollback included, inserts a new row and moves
``deployments.current_revision``.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["deployment_revisions", "deployment_stops", "deployments", "model_compilations"]

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("current_revision", sa.Integer, nullable=False, default=0),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

deployment_revisions = sa.Table(
    "deployment_revisions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("deployment_id", ID, sa.ForeignKey("deployments.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("parent_revision", sa.Integer, nullable=True),
    sa.Column("routes", sa.JSON, nullable=False),
    sa.Column("sticky", sa.JSON, nullable=False),
    sa.Column("deadline_ms", sa.Integer, nullable=True),
    sa.Column("rollout_state", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("restored_from", sa.Integer, nullable=True),
    sa.Column("compiled", sa.JSON, nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("deployment_id", "revision"),
)

model_compilations = sa.Table(
    "model_compilations",
    metadata,
    sa.Column("model_version_id", ID, sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("onnx_sha256", sa.String(64), nullable=True),
    sa.Column("parity", sa.JSON, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", MS, nullable=False),
)

#: A stopped endpoint (one row while stopped; resuming deletes it, the audit log keeps both):
#: its servers answer 503 naming who stopped it and why.
deployment_stops = sa.Table(
    "deployment_stops",
    metadata,
    sa.Column("deployment_id", ID, sa.ForeignKey("deployments.id"), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("stopped_by", NAME, nullable=False),
    sa.Column("stopped_at", MS, nullable=False),
)
