"""Pipelines: pipeline runs, their steps (cache keys), triggers and their evaluations.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("pipeline", _NAME, nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("no_cache", sa.Boolean(), nullable=False),
        sa.Column("executor", sa.String(length=64), nullable=False),
        sa.Column("trigger_id", _ID, nullable=True),
        sa.Column("cause", sa.JSON(), nullable=True),
        sa.Column("dedup_key", sa.String(length=500), nullable=True),
        sa.Column("resumed_from", _ID, nullable=True),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("started_at", _MS, nullable=True),
        sa.Column("ended_at", _MS, nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_pipeline_runs_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline", "created_at"])
    op.create_index("ix_pipeline_runs_trigger", "pipeline_runs", ["trigger_id", "status"])
    op.create_index("ix_pipeline_runs_dedup", "pipeline_runs", ["dedup_key", "status"])
    op.create_table(
        "pipeline_steps",
        sa.Column("id", _ID, nullable=False),
        sa.Column("pipeline_run_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=500), nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cache", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("key_parts", sa.JSON(), nullable=False),
        sa.Column("run_id", _ID, nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", _MS, nullable=False),
        sa.Column("ended_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_steps_pipeline_run_id_pipeline_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_steps")),
        sa.UniqueConstraint(
            "pipeline_run_id", "seq", name=op.f("uq_pipeline_steps_pipeline_run_id_seq")
        ),
    )
    op.create_index("ix_pipeline_steps_cache", "pipeline_steps", ["step", "cache_key", "status"])
    op.create_index("ix_pipeline_steps_step", "pipeline_steps", ["step", "ended_at"])
    op.create_table(
        "triggers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("pipeline", sa.String(length=500), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("cause_kind", sa.String(length=16), nullable=False),
        sa.Column("cause", _NAME, nullable=False),
        sa.Column("model", _NAME, nullable=False),
        sa.Column("m", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("cooldown_s", sa.Float(precision=53), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("labels_dataset", _NAME, nullable=True),
        sa.Column("min_labels", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("watermark", sa.String(length=64), nullable=True),
        sa.Column("last_fired_at", _MS, nullable=True),
        sa.Column("last_evaluated_at", _MS, nullable=True),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("updated_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_triggers_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triggers")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_triggers_project_id_name")),
    )
    op.create_table(
        "trigger_evaluations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("trigger_id", _ID, nullable=False),
        sa.Column("evaluated_at", _MS, nullable=False),
        sa.Column("positive", sa.Boolean(), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("pipeline_run_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["trigger_id"], ["triggers.id"], name=op.f("fk_trigger_evaluations_trigger_id_triggers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_evaluations")),
    )
    op.create_index(
        "ix_trigger_evaluations_trigger", "trigger_evaluations", ["trigger_id", "evaluated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_trigger_evaluations_trigger", table_name="trigger_evaluations")
    op.drop_table("trigger_evaluations")
    op.drop_table("triggers")
    op.drop_index("ix_pipeline_steps_step", table_name="pipeline_steps")
    op.drop_index("ix_pipeline_steps_cache", table_name="pipeline_steps")
    op.drop_table("pipeline_steps")
    op.drop_index("ix_pipeline_runs_dedup", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_trigger", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_pipeline", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
