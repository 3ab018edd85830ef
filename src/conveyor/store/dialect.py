"""Dialect-specific statements written once: insert-if-absent, upserts, and large reads
straight from the driver."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["fetch_tuples", "insert_for", "insert_if_absent"]


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


def fetch_tuples(conn: sa.Connection, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``stmt`` as the driver's plain tuples, read on ``conn``'s own DB-API
    connection (same transaction).

    For reads of ~100,000 rows (a long metric history), where building SQLAlchemy ``Row``
    objects costs three to four times the query itself. Column types get no result
    processing: use it for columns the driver already returns as Python numbers or str.
    """
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.params
    args: Any = params
    if compiled.positional:  # sqlite's qmark style: the values in placeholder order
        args = tuple(params[k] for k in compiled.positiontup or ())
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        cur.execute(str(compiled), args)
        return list(cur.fetchall())
    finally:
        cur.close()
