"""Human oversight and inference keys: the stop state of a deployment (who stopped it, when,
why: it answers 503 until resumed), and per-endpoint inference keys kept as sha256 digests.

Revision ID: 0017
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "deployment_stops",
        sa.Column("deployment_id", _ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stopped_by", _NAME, nullable=False),
        sa.Column("stopped_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("deployment_id"),
    )
    op.create_table(
        "inference_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("endpoint", _NAME, nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("revoked_by", _NAME, nullable=True),
        sa.Column("revoked_at", _MS, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inference_keys_endpoint", "inference_keys", ["project_id", "endpoint"])


def downgrade() -> None:
    op.drop_index("ix_inference_keys_endpoint", table_name="inference_keys")
    op.drop_table("inference_keys")
    op.drop_table("deployment_stops")
