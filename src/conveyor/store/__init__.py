"""Metadata store: engine, schema, migrations and the unit of work."""

from conveyor.store.engine import MetadataStore
from conveyor.store.uow import UnitOfWork

__all__ = ["MetadataStore", "UnitOfWork"]
