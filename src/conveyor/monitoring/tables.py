"""Monitoring tables, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0003_monitoring``. Times are epoch milliseconds (UTC).

* ``monitors`` — the declarative monitors (what is watched, how often, when to alert).
* ``monitor_checks`` — one row per evaluation: value, status, window.
* ``alerts`` — one row per alert, its lifecycle pending → firing → resolved and the
  notifications sent. ``open_key`` holds the monitor id while the alert is open (pending or
  firing) and NULL once resolved; its unique constraint makes "one open alert per monitor"
  a database guarantee, also under concurrent evaluators.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import DOUBLE, ID, MS, NAME, metadata

__all__ = ["alerts", "monitor_checks", "monitors"]

monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("endpoint", NAME, nullable=False),
    sa.Column("metric", NAME, nullable=False),
    sa.Column("window_s", DOUBLE, nullable=False),
    sa.Column("schedule_s", DOUBLE, nullable=False),
    sa.Column("comparison", sa.String(8), nullable=False),
    sa.Column("threshold", DOUBLE, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("for_s", DOUBLE, nullable=False),
    sa.Column("cooldown_s", DOUBLE, nullable=False),
    sa.Column("model_version", NAME, nullable=True),
    sa.Column("route", NAME, nullable=True),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("notifiers", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("last_evaluated_at", MS, nullable=True),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
    sa.Index("ix_monitors_endpoint", "endpoint"),
)

monitor_checks = sa.Table(
    "monitor_checks",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("monitor_id", ID, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("evaluated_at", MS, nullable=False),
    sa.Column("window_start", MS, nullable=False),
    sa.Column("window_end", MS, nullable=False),
    sa.Column("value", DOUBLE, nullable=True),
    sa.Column("threshold", DOUBLE, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_monitor_checks_monitor_time", "monitor_id", "evaluated_at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("monitor_id", ID, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("open_key", ID, nullable=True, unique=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("value", DOUBLE, nullable=True),
    sa.Column("threshold", DOUBLE, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("started_at", MS, nullable=False),
    sa.Column("fired_at", MS, nullable=True),
    sa.Column("resolved_at", MS, nullable=True),
    sa.Column("updated_at", MS, nullable=False),
    sa.Column("notifications", sa.JSON, nullable=False),
    sa.Index("ix_alerts_monitor_started", "monitor_id", "started_at"),
    sa.Index("ix_alerts_state", "state"),
)
