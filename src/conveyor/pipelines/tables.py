"""Pipeline and trigger tables, defined on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0008_pipelines``. Times are epoch milliseconds (UTC).

* ``pipeline_runs`` — one row per pipeline run; ``id`` is the id of the run's tracked
  (parent) run. ``status``: queued → running → succeeded | failed. ``dedup_key`` holds the
  trigger's (model, cause) key while a triggered run is queued or running.
* ``pipeline_steps`` — one row per step call in a pipeline run: its cache key and the parts
  the key was made of (``key_parts``), hit or miss and why, the tracked run that produced
  its outputs, and how to load the outputs back (``outputs``). The cache is a lookup on
  (``step``, ``cache_key``, ``status='succeeded'``).
* ``triggers`` — a pipeline bound to a cause (alert of a monitor, cron, new dataset
  version) with the controller's rules (M of N, cooldown, concurrency, labelled rows).
* ``trigger_evaluations`` — one row per evaluation of a trigger: positive or not, fired
  or not, and why.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["pipeline_runs", "pipeline_steps", "trigger_evaluations", "triggers"]

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("pipeline", NAME, nullable=False),
    sa.Column("target", sa.String(500), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("no_cache", sa.Boolean, nullable=False),
    sa.Column("executor", sa.String(64), nullable=False),
    sa.Column("trigger_id", ID, nullable=True),
    sa.Column("cause", sa.JSON, nullable=True),
    sa.Column("dedup_key", sa.String(500), nullable=True),
    sa.Column("resumed_from", ID, nullable=True),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("started_at", MS, nullable=True),
    sa.Column("ended_at", MS, nullable=True),
    sa.Index("ix_pipeline_runs_pipeline", "pipeline", "created_at"),
    sa.Index("ix_pipeline_runs_trigger", "trigger_id", "status"),
    sa.Index("ix_pipeline_runs_dedup", "dedup_key", "status"),
)

pipeline_steps = sa.Table(
    "pipeline_steps",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("pipeline_run_id", ID, sa.ForeignKey("pipeline_runs.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("step", sa.String(500), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cache", sa.String(8), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=False),
    sa.Column("key_parts", sa.JSON, nullable=False),
    sa.Column("run_id", ID, nullable=True),
    sa.Column("outputs", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", MS, nullable=False),
    sa.Column("ended_at", MS, nullable=False),
    sa.UniqueConstraint("pipeline_run_id", "seq"),
    sa.Index("ix_pipeline_steps_cache", "step", "cache_key", "status"),
    sa.Index("ix_pipeline_steps_step", "step", "ended_at"),
)

triggers = sa.Table(
    "triggers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("pipeline", sa.String(500), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("cause_kind", sa.String(16), nullable=False),
    sa.Column("cause", NAME, nullable=False),
    sa.Column("model", NAME, nullable=False),
    sa.Column("m", sa.Integer, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("cooldown_s", sa.Float(precision=53), nullable=False),
    sa.Column("max_concurrent", sa.Integer, nullable=False),
    sa.Column("labels_dataset", NAME, nullable=True),
    sa.Column("min_labels", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("watermark", sa.String(64), nullable=True),
    sa.Column("last_fired_at", MS, nullable=True),
    sa.Column("last_evaluated_at", MS, nullable=True),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

trigger_evaluations = sa.Table(
    "trigger_evaluations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("trigger_id", ID, sa.ForeignKey("triggers.id"), nullable=False),
    sa.Column("evaluated_at", MS, nullable=False),
    sa.Column("positive", sa.Boolean, nullable=False),
    sa.Column("fired", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("pipeline_run_id", ID, nullable=True),
    sa.Index("ix_trigger_evaluations_trigger", "trigger_id", "evaluated_at"),
)
