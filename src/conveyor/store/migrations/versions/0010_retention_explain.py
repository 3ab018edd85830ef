"""Governance: legal holds (retention purge skips what they cover), stored explanation
summaries of model versions, and audit hashes that cover the details from now on (events
already written keep verifying as they were hashed).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_MS = sa.BigInteger()


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(
            sa.Column("details_from_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute("UPDATE audit_head SET details_from_seq = seq + 1")
    op.create_table(
        "legal_holds",
        sa.Column("id", _ID, nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("released_by", _NAME, nullable=True),
        sa.Column("released_at", _MS, nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_holds_open", "legal_holds", ["released_at"])
    op.create_table(
        "model_explanations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("model_version_id", _ID, nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_version_id", "method"),
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("details_from_seq")
    op.drop_table("model_explanations")
    op.drop_index("ix_legal_holds_open", table_name="legal_holds")
    op.drop_table("legal_holds")
