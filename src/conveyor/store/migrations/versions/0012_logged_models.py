"""Logged models (MLflow 3 ``LoggedModel`` records; files stay run artifacts).

Revision ID: 0012
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("id", _ID, nullable=False),
        sa.Column("experiment_id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("model_type", _NAME, nullable=False),
        sa.Column("source_run_id", _ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", _MS, nullable=False),
        sa.Column("updated_at", _MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name="fk_logged_models_experiment_id_experiments",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_logged_models_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_logged_models"),
    )
    op.create_index(
        "ix_logged_models_experiment_created", "logged_models", ["experiment_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_logged_models_experiment_created", table_name="logged_models")
    op.drop_table("logged_models")
