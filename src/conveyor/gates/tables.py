"""Gate tables, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0006_gates``. Policies are versioned per model (append-only: a new
policy is a new row with the next number; the highest number is the current policy).
Gate reports are append-only too; enforcement reads the latest report of a model version
under the model's current policy version.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["gate_policies", "gate_reports"]

gate_policies = sa.Table(
    "gate_policies",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model_id", ID, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("source", sa.Text, nullable=False, default=""),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("model_id", "version"),
)

gate_reports = sa.Table(
    "gate_reports",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model_id", ID, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("model_version_id", ID, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("report", sa.JSON, nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Index("ix_gate_reports_version_time", "model_version_id", "created_at"),
)
