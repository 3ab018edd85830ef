"""Feature store: versioned definitions and materializations.

Revision ID: 0014
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "feature_objects",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("updated_at", _MS, nullable=False),
        sa.Column("removed_at", _MS, nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_feature_objects_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_objects")),
        sa.UniqueConstraint(
            "project_id", "kind", "name", name=op.f("uq_feature_objects_project_id_kind_name")
        ),
    )
    op.create_table(
        "feature_object_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("object_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["feature_objects.id"],
            name=op.f("fk_feature_object_versions_object_id_feature_objects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_object_versions")),
        sa.UniqueConstraint(
            "object_id", "version", name=op.f("uq_feature_object_versions_object_id_version")
        ),
    )
    op.create_table(
        "feature_materializations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("view", _NAME, nullable=False),
        sa.Column("view_version", sa.Integer(), nullable=False),
        sa.Column("online_store", sa.String(length=500), nullable=False),
        sa.Column("start_ms", _MS, nullable=True),
        sa.Column("end_ms", _MS, nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("newest_event_ms", _MS, nullable=True),
        sa.Column("profile", sa.JSON(), nullable=True),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_feature_materializations_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_materializations")),
    )
    op.create_index(
        "ix_feature_materializations_view",
        "feature_materializations",
        ["project_id", "view", "end_ms"],
    )
    op.create_table(
        "endpoint_features",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("endpoint", _NAME, nullable=False),
        sa.Column("service", _NAME, nullable=False),
        sa.Column("on_missing", sa.String(length=16), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("updated_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_endpoint_features_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_features")),
        sa.UniqueConstraint(
            "project_id", "endpoint", name=op.f("uq_endpoint_features_project_id_endpoint")
        ),
    )


def downgrade() -> None:
    op.drop_table("endpoint_features")
    op.drop_index("ix_feature_materializations_view", table_name="feature_materializations")
    op.drop_table("feature_materializations")
    op.drop_table("feature_object_versions")
    op.drop_table("feature_objects")
