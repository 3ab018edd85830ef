"""Legal holds, on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0010_retention_explain``. A legal hold is written once and released
once (``released_at`` set, never deleted): while it is open, the retention purge skips
everything its scope covers.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["legal_holds"]

legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("scope", sa.String(300), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("released_by", NAME, nullable=True),
    sa.Column("released_at", MS, nullable=True),
    sa.Column("release_reason", sa.Text, nullable=True),
    sa.Index("ix_legal_holds_open", "released_at"),
)
