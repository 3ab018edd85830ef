"""Logged models (MLflow 3's ``LoggedModel``), on the shared ``conveyor.store.tables.metadata``.

Created by migration ``0012_logged_models``. A logged model is a record pointing at files
stored as run artifacts: its files live under ``models/<id>/artifacts/`` of ``run_id``
(the run that logged it, or a holder run created for a model logged outside any run), so
registering it as a model version reuses the run-artifact path of the registry.

``status``: ``PENDING`` → ``READY`` | ``FAILED``. ``params`` and ``tags`` are JSON objects of
strings; times are epoch milliseconds (UTC).
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.tables import ID, MS, NAME, metadata

__all__ = ["logged_models"]

logged_models = sa.Table(
    "logged_models",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("experiment_id", ID, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("model_type", NAME, nullable=False, default=""),
    sa.Column("source_run_id", ID, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_message", sa.Text, nullable=False, default=""),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_by", NAME, nullable=False),
    sa.Column("created_at", MS, nullable=False),
    sa.Column("updated_at", MS, nullable=False),
    sa.Index("ix_logged_models_experiment_created", "experiment_id", "created_at"),
)
