"""Point-in-time joins on a PostgreSQL table, run inside PostgreSQL (``LATERAL``).

The entity rows (row number, join keys, timestamp) are copied into a temporary table
with ``COPY``; for each one a ``LATERAL`` subquery takes the newest row at or before its
time within the TTL (an index on ``(keys..., timestamp)`` makes that a seek); the answer
streams back through a server-side cursor into a Parquet file that DuckDB joins back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import ValidationFailed
from conveyor.features.sources import arrow_reader, quote

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb
    import pyarrow as pa

    from conveyor.features.registry import ResolvedView

__all__ = ["arrow_type", "lateral_join", "latest_rows", "postgres_conninfo"]

_BATCH = 50_000


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type of a feature type."""
    import pyarrow as pa

    return {
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "string": pa.string(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us"),
    }[dtype]


def postgres_conninfo(view: ResolvedView, url: str | None) -> str:
    """The libpq URL for the view's table: its own, the setting, or the metadata store."""
    import sqlalchemy as sa

    from conveyor.config import get_settings

    chosen = view.source.get("url") or url or get_settings().resolved_db_url
    parsed = sa.engine.make_url(chosen)
    if not parsed.drivername.startswith("postgresql"):
        raise ValidationFailed(
            f"feature view {view.name!r} reads PostgreSQL table {view.source['table']!r} but no "
            "PostgreSQL URL is configured: set CONVEYOR_FEATURES_POSTGRES_URL or the source's url"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def table_sql(table: str) -> str:
    return ".".join(quote(part) for part in table.split("."))


def _source_sql(view: ResolvedView) -> str:
    transform = view.transformation
    base = f"SELECT * FROM {table_sql(view.source['table'])}"
    if transform is None:
        return base
    if transform["kind"] != "sql":
        raise ValidationFailed(
            f"feature view {view.name!r}: a PostgreSQL source takes SQL transformations only"
        )
    return f"WITH source AS ({base}) {transform['sql']}"


def lateral_join(
    con: duckdb.DuckDBPyConnection, view: ResolvedView, url: str | None, out: Path
) -> Path:
    """Write ``(__row, features...)`` for every entity row to ``out`` (Parquet)."""
    import psycopg
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = view.source
    keys = [quote(k) for k in view.join_keys]
    ts, created = quote(src["timestamp_field"]), src.get("created_timestamp_column")
    entity_cols = ", ".join(["__row", "__ets", *keys])
    schema = pa.schema(
        [("__row", pa.int64())] + [(f["name"], arrow_type(f["dtype"])) for f in view.features]
    )
    with psycopg.connect(postgres_conninfo(view, url)) as pg:
        pg.execute("SET TIME ZONE 'UTC'")
        pg.execute(
            f"CREATE TEMP TABLE __e ON COMMIT DROP AS SELECT 0::bigint AS __row, "
            f"NULL::timestamp AS __ets, {', '.join(keys)} FROM ({_source_sql(view)}) s LIMIT 0"
        )
        reader = arrow_reader(con.sql(f"SELECT {entity_cols} FROM __entities"), _BATCH)
        with pg.cursor().copy(f"COPY __e ({entity_cols}) FROM STDIN") as copy:
            for batch in reader:
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)
        pg.execute("ANALYZE __e")
        on = " AND ".join(f"t.{k} = e.{k}" for k in keys)
        window = f"t.{ts} <= e.__ets"
        if view.ttl_s > 0:
            window += f" AND t.{ts} >= e.__ets - make_interval(secs => {float(view.ttl_s)})"
        order = f"t.{ts} DESC" + (f", t.{quote(created)} DESC NULLS LAST" if created else "")
        feats = ", ".join(f"t.{quote(f)}" for f in view.feature_names)
        sql = (
            f"SELECT e.__row, f.* FROM __e e LEFT JOIN LATERAL (SELECT {feats} FROM "
            f"({_source_sql(view)}) t WHERE {on} AND {window} ORDER BY {order} LIMIT 1) f ON true"
        )
        with pg.cursor(name="conveyor_features") as cur, pq.ParquetWriter(out, schema) as writer:
            cur.itersize = _BATCH
            cur.execute(sql)
            while rows := cur.fetchmany(_BATCH):
                columns: list[Any] = [list(c) for c in zip(*rows, strict=True)]
                writer.write_table(pa.table(columns, schema=schema))
    return out


def latest_rows(
    view: ResolvedView, url: str | None, start: int | None, end: int
) -> Iterator[pa.RecordBatch]:
    """The newest row per entity with event time in [start, end] (``DISTINCT ON``)."""
    import psycopg
    import pyarrow as pa

    src = view.source
    keys = [quote(k) for k in view.join_keys]
    ts, created = quote(src["timestamp_field"]), src.get("created_timestamp_column")
    where = f"{ts} <= to_timestamp({end} / 1000.0)"
    if start is not None:
        where += f" AND {ts} >= to_timestamp({start} / 1000.0)"
    order = (
        ", ".join(keys)
        + f", {ts} DESC"
        + (f", {quote(created)} DESC NULLS LAST" if created else "")
    )
    feats = ", ".join(quote(f) for f in view.feature_names)
    sql = (
        f"SELECT DISTINCT ON ({', '.join(keys)}) {', '.join(keys)}, "
        f"(extract(epoch FROM {ts}) * 1000)::bigint AS __ms, {feats} "
        f"FROM ({_source_sql(view)}) t WHERE {where} ORDER BY {order}"
    )
    names = [*view.join_keys, "__ms", *view.feature_names]
    with psycopg.connect(postgres_conninfo(view, url)) as pg:
        pg.execute("SET TIME ZONE 'UTC'")
        with pg.cursor(name="conveyor_materialize") as cur:
            cur.itersize = _BATCH
            cur.execute(sql)
            while rows := cur.fetchmany(_BATCH):
                columns = [list(c) for c in zip(*rows, strict=True)]
                yield pa.RecordBatch.from_pydict(dict(zip(names, columns, strict=True)))
