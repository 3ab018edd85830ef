"""Migrations 0009 and 0017 create exactly the identity, approval, inference-key and
deployment-stop tables the code defines."""

from __future__ import annotations

from conveyor.store import MetadataStore

TABLES = (
    "users",
    "role_bindings",
    "api_tokens",
    "approval_requests",
    "approval_policies",
    "inference_keys",
    "deployment_stops",
)


def test_migration_matches_the_table_definitions(meta: MetadataStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import conveyor.governance.tables  # noqa: F401  (registers them on the metadata)
    from conveyor.store.tables import metadata

    with meta.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diff if any(f"'{t}'" in repr(d) for t in TABLES)]
    assert ours == []
