"""Identity and approval tables, on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0009_identity``. Users are global; a role binding gives a user one
role in one project. API tokens keep only the sha256 of their secret (the id before the
secret is the lookup key). Approval requests are written once and decided once (pending →
approved | rejected, never changed afterwards); approval policies say which roles may
approve a target pattern and whether the target requires an approval at all.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = [
    "api_tokens",
    "approval_policies",
    "approval_requests",
    "inference_keys",
    "role_bindings",
    "users",
]

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", NAME, nullable=False, unique=True),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
)

role_bindings = sa.Table(
    "role_bindings",
    metadata,
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("granted_by", NAME, nullable=False),
    sa.Column("granted_at", MS, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("expires_at", MS, nullable=True),
    sa.Column("revoked_at", MS, nullable=True),
    sa.Column("revoked_by", NAME, nullable=True),
    sa.Index("ix_api_tokens_user", "user_id"),
)

approval_requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("model_version_id", ID, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("model", NAME, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("target", NAME, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("requested_by", NAME, nullable=False),
    sa.Column("requested_at", MS, nullable=False),
    sa.Column("decided_by", NAME, nullable=True),
    sa.Column("decided_at", MS, nullable=True),
    sa.Column("decision_comment", sa.Text, nullable=True),
    sa.Index("ix_approval_requests_version", "model_version_id", "target", "status"),
)

approval_policies = sa.Table(
    "approval_policies",
    metadata,
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("target", NAME, primary_key=True),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("required", sa.Boolean, nullable=False),
    sa.Column("updated_by", NAME, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
)

#: Inference keys of endpoints (migration ``0017``): only the sha256 of each secret is kept;
#: a revoked key keeps its row (who revoked it, when, why).
inference_keys = sa.Table(
    "inference_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("endpoint", NAME, nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("revoked_by", NAME, nullable=True),
    sa.Column("revoked_at", MS, nullable=True),
    sa.Column("revoke_reason", sa.Text, nullable=True),
    sa.Index("ix_inference_keys_endpoint", "project_id", "endpoint"),
)
