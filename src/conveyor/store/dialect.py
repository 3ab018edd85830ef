"""Dialect-specific statements written once: insert-if-absent and upserts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["insert_for", "insert_if_absent"]


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """An INSERT construct with ``on_conflict_*`` support for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def insert_if_absent(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], unique: list[sa.Column[Any]]
) -> bool:
    """Insert ``row`` unless one with the same ``unique`` columns exists; True if inserted.

    Safe under concurrent writers on both SQLite and PostgreSQL (no unique-violation race).
    """
    pk = next(iter(table.primary_key.columns))
    stmt = (
        insert_for(conn, table)
        .values(**row)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(pk)
    )
    return conn.execute(stmt).first() is not None
