"""Lineage: the links no other record keeps (alert → pipeline run, run → model version).

Revision ID: 0011
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("relation", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=250), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_edges")),
        sa.UniqueConstraint(
            "source", "target", "relation", name=op.f("uq_lineage_edges_source_target_relation")
        ),
    )
    op.create_index("ix_lineage_edges_target", "lineage_edges", ["target"])


def downgrade() -> None:
    op.drop_index("ix_lineage_edges_target", table_name="lineage_edges")
    op.drop_table("lineage_edges")
