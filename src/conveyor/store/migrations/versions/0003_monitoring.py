"""Monitoring: monitors, their checks, alerts.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)
_NAME = sa.String(length=250)
_DOUBLE = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("endpoint", _NAME, nullable=False),
        sa.Column("metric", _NAME, nullable=False),
        sa.Column("window_s", _DOUBLE, nullable=False),
        sa.Column("schedule_s", _DOUBLE, nullable=False),
        sa.Column("comparison", sa.String(length=8), nullable=False),
        sa.Column("threshold", _DOUBLE, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("for_s", _DOUBLE, nullable=False),
        sa.Column("cooldown_s", _DOUBLE, nullable=False),
        sa.Column("model_version", _NAME, nullable=True),
        sa.Column("route", _NAME, nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("notifiers", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("last_evaluated_at", sa.BigInteger(), nullable=True),
        sa.Column("created_by", _NAME, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_monitors_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_monitors_project_id_name")),
    )
    op.create_index("ix_monitors_endpoint", "monitors", ["endpoint"], unique=False)
    op.create_table(
        "monitor_checks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("monitor_id", _ID, nullable=False),
        sa.Column("evaluated_at", sa.BigInteger(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("value", _DOUBLE, nullable=True),
        sa.Column("threshold", _DOUBLE, nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_checks_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_checks")),
    )
    op.create_index(
        "ix_monitor_checks_monitor_time",
        "monitor_checks",
        ["monitor_id", "evaluated_at"],
        unique=False,
    )
    op.create_table(
        "alerts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("monitor_id", _ID, nullable=False),
        sa.Column("open_key", _ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("value", _DOUBLE, nullable=True),
        sa.Column("threshold", _DOUBLE, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("fired_at", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("notifications", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_alerts_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    op.create_index("ix_alerts_monitor_started", "alerts", ["monitor_id", "started_at"])
    op.create_index("ix_alerts_state", "alerts", ["state"])


def downgrade() -> None:
    op.drop_index("ix_alerts_state", table_name="alerts")
    op.drop_index("ix_alerts_monitor_started", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_monitor_checks_monitor_time", table_name="monitor_checks")
    op.drop_table("monitor_checks")
    op.drop_index("ix_monitors_endpoint", table_name="monitors")
    op.drop_table("monitors")
