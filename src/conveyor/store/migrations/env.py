"""Alembic environment: Conveyor runs migrations programmatically (see ``store.engine``)."""

from __future__ import annotations

from alembic import context

# imported so autogenerate sees every domain's tables on the shared metadata
import conveyor.deployments.rollout_tables
import conveyor.deployments.tables
import conveyor.explain.tables
import conveyor.features.tables
import conveyor.gates.tables
import conveyor.governance.retention_tables
import conveyor.governance.tables
import conveyor.lineage.tables
import conveyor.monitoring.tables
import conveyor.pipelines.tables
import conveyor.tracking.logged_model_tables  # noqa: F401
from conveyor.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via `alembic` CLI with a URL
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
