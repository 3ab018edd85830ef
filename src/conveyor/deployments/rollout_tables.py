"""Progressive rollout tables, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0007_rollout``. ``rollouts`` holds the whole state of a rollout (so
a controller that was killed resumes from it); ``rollout_decisions`` is append-only, one
row per decision with the statistics it was based on. Times are epoch milliseconds (UTC).
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["rollout_decisions", "rollouts"]

rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("deployment_id", ID, sa.ForeignKey("deployments.id"), nullable=False),
    sa.Column("endpoint", NAME, nullable=False),
    sa.Column("candidate_model", NAME, nullable=False),
    sa.Column("candidate_version", sa.Integer, nullable=False),
    sa.Column("primary_model", NAME, nullable=False),
    sa.Column("primary_version", sa.Integer, nullable=False),
    sa.Column("base_revision", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("step_started_at", MS, nullable=True),
    sa.Column("revision", sa.Integer, nullable=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.Column("ended_at", MS, nullable=True),
    sa.Index("ix_rollouts_endpoint_state", "endpoint", "state"),
)

rollout_decisions = sa.Table(
    "rollout_decisions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("rollout_id", ID, sa.ForeignKey("rollouts.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("revision", sa.Integer, nullable=True),
    sa.Column("analysis", sa.JSON, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("actor", NAME, nullable=False),
    sa.Column("at", MS, nullable=False),
    sa.UniqueConstraint("rollout_id", "seq"),
)
