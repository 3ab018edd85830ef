"""Point-in-time-correct training sets: for each entity row, the latest value of each
feature at or before the row's timestamp and within the view's TTL — never a later one.

DuckDB runs one ``ASOF LEFT JOIN`` per view over the sources as they are on disk (Parquet,
CSV, a dataset's Parquet), with a memory limit and a spill folder, so a 1M-row entity frame
against 10M-row views stays within bounded memory; for a large frame, a Parquet view joins
narrow (keys, order, row locator) and its matched rows' features are read by locator.
With a ``created_timestamp_column``, rows sharing an event time resolve to the
latest-created (late-arriving corrections win); without one, which of the tied rows is
used is unspecified. Views on a PostgreSQL table
are joined inside PostgreSQL (``postgres_offline.py``) and their results joined back here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import ValidationFailed
from conveyor.features.sources import (
    ORDER_KEY,
    DatasetFile,
    arrow_table,
    connect_duckdb,
    locatable,
    quote,
    utc_timestamp,
    view_relation,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from conveyor.features.registry import ResolvedView

__all__ = ["HistoricalFeatures", "Parts", "historical_features"]

ROW = "__row"
ENTITY_TS = "__ets"
ENTITY_KEY = "__ekey"
#: An entity row's probe: its time with the largest created part, so every row at that
#: event time qualifies.
_ENTITY_KEY = f"(epoch_us({ENTITY_TS})::HUGEINT << 64) + 18446744073709551615::HUGEINT"


class HistoricalFeatures:
    """The retrieval, run lazily: ``to_df()``, ``to_arrow()``, ``to_parquet(path)``.

    ``to_parquet`` streams the join straight to a file (bounded memory); ``log_dataset``
    stores the result as a dataset version whose source names the feature views, linked
    to the active run, so lineage reads features → dataset → run → model.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        views: list[ResolvedView],
        tmp: Any,
        prepare: list[str] | None = None,
        parts: Parts | None = None,
    ) -> None:
        self._con, self.sql, self.views, self._tmp = con, sql, views, tmp
        self._prepare = list(prepare or ())
        self._parts = parts

    def _ready(self) -> str:
        """The final SQL, once the per-view joins it reads have run (the first time)."""
        while self._prepare:
            self._con.execute(self._prepare[0])
            self._prepare.pop(0)
        return self.sql

    @property
    def source(self) -> str:
        """``features:view@version,...``: what the result was built from."""
        return "features:" + ",".join(f"{v.name}@{v.version}" for v in self.views)

    def to_arrow(self) -> pa.Table:
        sql = self._ready()
        assembled = None if self._parts is None else self._parts.assemble()
        return arrow_table(self._con.sql(sql)) if assembled is None else assembled

    def to_df(self) -> pd.DataFrame:
        sql = self._ready()
        parts = self._parts
        assembled = None if parts is None else parts.assemble()
        if parts is None or assembled is None:
            return self._con.sql(sql).df()
        return _to_pandas(assembled, assembled.column_names[parts.entities.num_columns :])

    def to_parquet(self, path: str | Path) -> Path:
        out = Path(path)
        target = str(out).replace("'", "''")
        self._con.execute(f"COPY ({self._ready()}) TO '{target}' (FORMAT parquet)")
        return out

    def log_dataset(self, name: str, **kwargs: Any) -> Any:
        """Log the result as the next version of dataset ``name`` (see ``conveyor.log_dataset``)."""
        from conveyor.data.sdk import log_dataset

        path = self.to_parquet(Path(self._tmp.name) / "historical.parquet")
        kwargs.setdefault("source", self.source)
        return log_dataset(str(path), name, **kwargs)

    def close(self) -> None:
        self._con.close()
        self._tmp.cleanup()

    def __enter__(self) -> HistoricalFeatures:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_pandas(table: pa.Table, features: list[str]) -> pd.DataFrame:
    """``table`` in pandas as DuckDB's ``df()`` gives it: an integer or boolean feature
    with NULLs as a nullable column (``Int64``, ``boolean``), not floats."""
    import pandas as pd
    import pyarrow as pa

    def nullable(kind: pa.DataType) -> Any:
        if pa.types.is_boolean(kind):
            return pd.BooleanDtype()
        return pd.api.types.pandas_dtype(str(kind).capitalize().replace("Uint", "UInt"))

    exact = {
        name: table.column(name).to_pandas(types_mapper=nullable)
        for name in features
        if table.column(name).null_count
        and (
            pa.types.is_integer(table.schema.field(name).type)
            or pa.types.is_boolean(table.schema.field(name).type)
        )
    }
    # the table is ours alone: each column's buffers go as soon as it is converted
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    for name, column in exact.items():
        frame[name] = column
    return frame


class Parts:
    """The per-view results (``(__row, features)`` Parquet files, every entity row once in
    some order) put beside the entity columns in Arrow: each file's rows go back to the
    entity order through the inverse permutation of its ``__row`` (one ``take``), so the
    result costs no join, no sort and no copy into DuckDB and out again."""

    def __init__(self, entities: pa.Table) -> None:
        self.entities = entities
        self.files: list[tuple[Path, list[str], list[str]]] = []

    def assemble(self) -> pa.Table | None:
        """The result, or None when a file does not hold each row exactly once."""
        import numpy as np
        import pyarrow.parquet as pq

        table, n = self.entities, self.entities.num_rows
        for path, columns, outputs in self.files:
            part = pq.read_table(path)
            rows = part.column(ROW).to_numpy()
            if len(rows) != n or (n and not (np.bincount(rows, minlength=n) == 1).all()):
                return None
            order = np.empty(n, dtype=np.int64)
            order[rows] = np.arange(n, dtype=np.int64)
            part = part.select(columns).take(order)
            for column, output in zip(columns, outputs, strict=True):
                table = table.append_column(output, part.column(column))
        return table


def _register_entities(
    con: duckdb.DuckDBPyConnection, entity_df: Any, timestamp_column: str
) -> tuple[list[str], pa.Table]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(entity_df, str | Path):
        table = pq.read_table(entity_df)
    elif isinstance(entity_df, pa.Table):
        table = entity_df
    else:
        table = pa.Table.from_pandas(entity_df, preserve_index=False)
    columns = list(table.column_names)
    if timestamp_column not in columns:
        raise ValidationFailed(
            f"entity frame has no timestamp column {timestamp_column!r}; "
            f"its columns: {', '.join(columns)} (pass timestamp_column=...)"
        )
    given = table
    table = table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    con.register("__entities_in", table)
    ts_type = con.sql(f"SELECT {quote(timestamp_column)} FROM __entities_in LIMIT 0").types[0]
    ts = utc_timestamp(quote(timestamp_column), str(ts_type))
    con.execute(
        f"CREATE TEMP VIEW __entities_ts AS SELECT *, {ts} AS {ENTITY_TS} FROM __entities_in"
    )
    con.execute(
        f"CREATE TEMP VIEW __entities AS SELECT *, {_ENTITY_KEY} AS {ENTITY_KEY} FROM __entities_ts"
    )
    return columns, given


def _output_names(views: list[ResolvedView], full: bool, taken: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for view in views:
        for feat in view.feature_names:
            ref = f"{view.name}:{feat}"
            out = f"{view.name}__{feat}" if full else feat
            if out in names.values() or out in taken:
                raise ValidationFailed(
                    f"feature {ref!r}: column {out!r} is taken (by another view or the entity "
                    "frame); pass full_feature_names=True for view__feature columns"
                )
            names[ref] = out
    return names


def historical_features(
    entity_df: Any,
    views: list[ResolvedView],
    *,
    timestamp_column: str = "event_timestamp",
    full_feature_names: bool = False,
    dataset_file: DatasetFile | None = None,
    memory_limit: str = "1GB",
    postgres_url: str | None = None,
) -> HistoricalFeatures:
    """The point-in-time join of ``entity_df`` (DataFrame, Arrow table or Parquet path)."""
    tmp = tempfile.TemporaryDirectory(prefix="conveyor-features-")
    con = connect_duckdb(memory_limit, Path(tmp.name) / "spill")
    try:
        columns, given = _register_entities(con, entity_df, timestamp_column)
        for view in views:
            missing = [k for k in view.join_keys if k not in columns]
            if missing:
                raise ValidationFailed(
                    f"entity frame has no join key column {', '.join(map(repr, missing))} "
                    f"(needed by feature view {view.name!r}); its columns: {', '.join(columns)}"
                )
        names = _output_names(views, full_feature_names, columns)
        parts = Parts(given)
        sql, prepare = _join_sql(
            con, views, names, columns, dataset_file, postgres_url, Path(tmp.name), parts
        )
    except BaseException:
        con.close()
        tmp.cleanup()
        raise
    return HistoricalFeatures(con, sql, views, tmp, prepare, parts if parts.files else None)


def _ttl_guard(alias: str, view: ResolvedView, expr: str) -> str:
    """The feature value, or NULL when no row matched or the match is older than the TTL."""
    if view.ttl_s > 0:
        micros = round(view.ttl_s * 1_000_000)
        cond = f"{alias}.__ts >= e.{ENTITY_TS} - to_microseconds({micros})"
        return f"CASE WHEN {cond} THEN {expr} END"
    return expr


#: Up to this many entity rows the views are joined in one chain of ASOF joins (fastest:
#: no intermediate files); above it each view is joined on its own into a Parquet file of
#: (row, features), put back in entity order at the end, so one view at a time holds
#: memory (a chain over 1M rows x 3 views of 10M rows peaked at 1.7 GB; one view at a
#: time, narrow, at 1.08 GB for the whole process).
CHAIN_MAX_ROWS = 500_000

#: A packed (event, created) order key must fit a BIGINT with room for the probe's sign.
_PACK_BITS = 62


def _asof_order(
    con: duckdb.DuckDBPyConnection, view: ResolvedView, rel: str, pack: bool
) -> tuple[str, str]:
    """The two sides of the view's ASOF inequality: (view row's key, entity row's probe).

    Without a created column: the event times. With one: (event, created) as one ordered
    number, so ties on the event time go to the latest-created row inside the join (no
    dedup pass). ``pack``: when the view's event span and created-minus-event spread fit
    62 bits together (read from the data: min and max), the number is a BIGINT — event
    offset high, created offset low, a missing created time lowest — and the probe the
    entity time with every low bit set (clamped to the view's span, so it cannot overflow);
    otherwise the 128-bit ``ORDER_KEY``, which sorts and compares about twice as slowly.
    """
    if not view.source.get("created_timestamp_column"):
        return "__ts", f"e.{ENTITY_TS}"
    if pack:
        lo, hi, dlo, dhi = con.sql(
            "SELECT min(epoch_us(__ts)), max(epoch_us(__ts)), "
            "min(epoch_us(__created) - epoch_us(__ts)), max(epoch_us(__created) - epoch_us(__ts)) "
            f"FROM ({rel})"
        ).fetchall()[0]
        if lo is not None and hi is not None:
            spread = 0 if dlo is None or dhi is None else dhi - dlo + 1  # 0: created missing
            bits = spread.bit_length()
            if (hi - lo).bit_length() + bits <= _PACK_BITS:
                low = f"coalesce(epoch_us(__created) - epoch_us(__ts) - ({dlo or 0}) + 1, 0)"
                key = f"(epoch_us(__ts) - ({lo})) * {1 << bits} + {low}"
                at = f"least(greatest(epoch_us(e.{ENTITY_TS}), {lo - 1}), {hi})"
                return key, f"({at} - ({lo})) * {1 << bits} + {(1 << bits) - 1}"
    return ORDER_KEY, f"e.{ENTITY_KEY}"


def _join_sql(
    con: duckdb.DuckDBPyConnection,
    views: list[ResolvedView],
    names: dict[str, str],
    columns: list[str],
    dataset_file: DatasetFile | None,
    postgres_url: str | None,
    tmp: Path,
    parts: Parts,
) -> tuple[str, list[str]]:
    """The final SQL and the statements to run before it (see ``CHAIN_MAX_ROWS``).

    One view at a time, a ``locatable`` view (Parquet as on disk) is joined in two steps:
    the ASOF join carries only the join keys, the order key and each row's ``__loc`` (its
    place in the files), then one hash join on ``__loc`` reads the matched rows' features.
    The join sorts 10M narrow rows instead of 10M rows of features, so it neither spills
    nor holds the features in memory. Other views carry their features through the join.
    """
    chain = parts.entities.num_rows <= CHAIN_MAX_ROWS and all(
        v.source["type"] != "postgresql" for v in views
    )
    selects = [f"e.{quote(c)}" for c in columns]
    joins: list[str] = []
    prepare: list[str] = []
    chained = "__entities"
    for i, view in enumerate(views):
        alias, part = f"v{i}", f"p{i}"
        path = tmp / f"{alias}.parquet"
        outputs = [names[f"{view.name}:{f}"] for f in view.feature_names]
        if view.source["type"] == "postgresql":
            from conveyor.features.postgres_offline import lateral_join

            lateral_join(con, view, postgres_url, path)
        else:
            narrow = not chain and locatable(view)
            rel = view_relation(con, view, dataset_file, locator=narrow)
            key, probe = _asof_order(con, view, rel, locatable(view))
            on = " AND ".join(f"e.{quote(k)} = {alias}.{quote(k)}" for k in view.join_keys)
            on += f" AND {probe} >= {alias}.__key"
            con.execute(f"CREATE TEMP VIEW {alias} AS SELECT *, {key} AS __key FROM ({rel})")
            guarded = [_ttl_guard(alias, view, f"{alias}.{quote(f)}") for f in view.feature_names]
            if chain:
                feats = ", ".join(
                    f"{g} AS {quote(o)}" for g, o in zip(guarded, outputs, strict=True)
                )
                chained = f"(SELECT e.*, {feats} FROM {chained} e ASOF LEFT JOIN {alias} ON {on})"
                continue
            keys = ", ".join(quote(k) for k in dict.fromkeys(view.join_keys))
            entities = f"SELECT {ROW}, {ENTITY_TS}, {ENTITY_KEY}, {keys} FROM __entities"
            feats = ", ".join(
                f"{g} AS {quote(f)}" for g, f in zip(guarded, view.feature_names, strict=True)
            )
            target = f"TO {_literal(str(path))} (FORMAT parquet, COMPRESSION uncompressed)"
            if narrow:
                matches = f"__m{i}"
                keyed = f"SELECT {keys}, __key, __loc FROM {alias}"
                prepare += [
                    f"CREATE TEMP TABLE {matches} AS SELECT e.{ROW}, e.{ENTITY_TS}, "
                    f"{alias}.__loc FROM ({entities}) e ASOF LEFT JOIN ({keyed}) {alias} ON {on}",
                    f"COPY (SELECT e.{ROW}, {feats} FROM {matches} e LEFT JOIN {alias} "
                    f"ON {alias}.__loc = e.__loc) {target}",
                    f"DROP TABLE {matches}",
                ]
            else:
                prepare.append(
                    f"COPY (SELECT e.{ROW}, {feats} FROM ({entities}) e "
                    f"ASOF LEFT JOIN {alias} ON {on}) {target}"
                )
        parts.files.append((path, view.feature_names, outputs))
        joins.append(
            f"LEFT JOIN read_parquet({_literal(str(path))}) {part} ON {part}.{ROW} = e.{ROW}"
        )
        selects += [
            f"{part}.{quote(f)} AS {quote(o)}"
            for f, o in zip(view.feature_names, outputs, strict=True)
        ]
    if chain:
        outs = [quote(c) for c in columns] + [quote(names[r]) for r in names]
        return f"SELECT {', '.join(outs)} FROM {chained} ORDER BY {ROW}", prepare
    sql = f"SELECT {', '.join(selects)} FROM __entities e {' '.join(joins)} ORDER BY e.{ROW}"
    return sql, prepare


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
