"""Identity and approvals: users, role bindings, API tokens, approval requests and policies.

Revision ID: 0009
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_MS = sa.BigInteger()


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "role_bindings",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("granted_by", _NAME, nullable=False),
        sa.Column("granted_at", _MS, nullable=False),
        _fk("role_bindings", "user_id", "users"),
        _fk("role_bindings", "project_id", "projects"),
        sa.PrimaryKeyConstraint("user_id", "project_id", name=op.f("pk_role_bindings")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("expires_at", _MS, nullable=True),
        sa.Column("revoked_at", _MS, nullable=True),
        sa.Column("revoked_by", _NAME, nullable=True),
        _fk("api_tokens", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"])
    op.create_table(
        "approval_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("model_version_id", _ID, nullable=False),
        sa.Column("model", _NAME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("target", _NAME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("requested_by", _NAME, nullable=False),
        sa.Column("requested_at", _MS, nullable=False),
        sa.Column("decided_by", _NAME, nullable=True),
        sa.Column("decided_at", _MS, nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        _fk("approval_requests", "project_id", "projects"),
        _fk("approval_requests", "model_version_id", "model_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    op.create_index(
        "ix_approval_requests_version",
        "approval_requests",
        ["model_version_id", "target", "status"],
    )
    op.create_table(
        "approval_policies",
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("target", _NAME, nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("updated_by", _NAME, nullable=False),
        sa.Column("updated_at", _MS, nullable=False),
        _fk("approval_policies", "project_id", "projects"),
        sa.PrimaryKeyConstraint("project_id", "target", name=op.f("pk_approval_policies")),
    )


def downgrade() -> None:
    op.drop_table("approval_policies")
    op.drop_index("ix_approval_requests_version", table_name="approval_requests")
    op.drop_table("approval_requests")
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("role_bindings")
    op.drop_table("users")
