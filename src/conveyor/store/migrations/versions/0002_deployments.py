"""Deployments: endpoints, append-only revisions, cached deploy-time ONNX compilations.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_deployments_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_deployments_project_id_name")),
    )
    op.create_table(
        "deployment_revisions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("parent_revision", sa.Integer(), nullable=True),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("sticky", sa.JSON(), nullable=False),
        sa.Column("deadline_ms", sa.Integer(), nullable=True),
        sa.Column("rollout_state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("compiled", sa.JSON(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_revisions_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_revisions")),
        sa.UniqueConstraint(
            "deployment_id",
            "revision",
            name=op.f("uq_deployment_revisions_deployment_id_revision"),
        ),
    )
    op.create_table(
        "model_compilations",
        sa.Column("model_version_id", _ID, nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("onnx_sha256", sa.String(length=64), nullable=True),
        sa.Column("parity", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_compilations_model_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("model_version_id", name=op.f("pk_model_compilations")),
    )


def downgrade() -> None:
    op.drop_table("model_compilations")
    op.drop_table("deployment_revisions")
    op.drop_table("deployments")
