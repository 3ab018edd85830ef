"""The metadata schema (SQLAlchemy Core). Migrations in ``migrations/versions`` create it.

Conventions: object ids are 32-char UUID hex strings; times are epoch milliseconds (UTC)
in BIGINT columns; free-form structures (schemas, profiles, environments) are JSON.
Metric values of NaN are stored as NULL (SQLite cannot hold NaN) and read back as NaN.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["DEFAULT_PROJECT_ID", "metadata"]

#: The project every object lives in until access control lands (seeded by migration 0001).
DEFAULT_PROJECT_ID = "0" * 32

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(32)
MS = sa.BigInteger
NAME = sa.String(250)
DOUBLE = sa.Float(precision=53)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", NAME, nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_at", MS, nullable=False),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("lifecycle", sa.String(16), nullable=False, default="active"),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("experiment_id", ID, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("parent_run_id", ID, sa.ForeignKey("runs.id"), nullable=True),
    sa.Column("name", NAME, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("user", NAME, nullable=False),
    sa.Column("start_time", MS, nullable=False),
    sa.Column("end_time", MS, nullable=True),
    sa.Column("source", sa.JSON, nullable=False),
    sa.Column("lifecycle", sa.String(16), nullable=False, default="active"),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_runs_parent", "parent_run_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", NAME, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_params_key_value", "key", "value"),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", NAME, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("run_id", ID, nullable=False),
    sa.Column("key", NAME, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", MS, nullable=False),
    sa.Column("value", DOUBLE, nullable=True),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", NAME, primary_key=True),
    sa.Column("value", DOUBLE, nullable=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", MS, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", MS, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("latest_version", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("dataset_id", ID, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("num_rows", sa.BigInteger, nullable=False),
    sa.Column("num_bytes", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("checks", sa.JSON, nullable=True),
    sa.Column("source", sa.Text, nullable=False, default=""),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("dataset_id", "version"),
    sa.UniqueConstraint("dataset_id", "sha256"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("dataset_version_id", ID, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    sa.Column("context", sa.String(64), primary_key=True, default="training"),
    sa.Column("created_at", MS, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model_id", ID, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=True),
    sa.Column("source", sa.String(1000), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("signature", sa.JSON, nullable=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("approval", sa.String(16), nullable=False, default="none"),
    sa.Column("reference_dataset_version_id", ID, nullable=True),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.UniqueConstraint("model_id", "version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", ID, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("alias", NAME, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("created", MS, nullable=False),
    sa.Column("actor", NAME, nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(64), nullable=False),
    sa.Column("object_id", sa.String(300), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_events_object", "object_type", "object_id"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # first seq whose hash covers the event's details (older events: see governance/audit)
    sa.Column("details_from_seq", sa.BigInteger, nullable=False, server_default="0"),
)
