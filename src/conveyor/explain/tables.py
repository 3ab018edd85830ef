"""Stored explanation summaries of model versions (migration ``0010_retention_explain``).

One row per (model version, method): the global feature importance computed from the
version's input example or evaluation data, written once (registration or
``conveyor models explain``) and replaced only by an explicit recompute.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["model_explanations"]

model_explanations = sa.Table(
    "model_explanations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model_version_id", ID, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("model_version_id", "method"),
)
