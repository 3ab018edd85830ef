"""Materialization: the latest value per entity of each view, written to the online store.

``materialize_features(stores, start, end)`` reads each online view's rows with event
time in ``[start, end]`` (DuckDB over files and datasets, ``DISTINCT ON`` in PostgreSQL),
keeps the newest per entity, and writes them in batches; the store keeps a newer value
it already holds, so re-running a window, or windows out of order, is idempotent.
``incremental=True`` starts each view where its previous materialization ended (or one
TTL before ``end`` the first time). Each run records a row with the rows written, the
newest event time (freshness) and a profile of the written values, and an audit event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.errors import NotFound, ValidationFailed
from conveyor.features.registry import ResolvedView, list_feature_objects, resolve_features
from conveyor.features.tables import feature_materializations
from conveyor.store.projects import in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb

    from conveyor.features.online.base import OnlineStore
    from conveyor.store.stores import Stores

__all__ = ["Materialization", "list_materializations", "materialize_features", "to_ms"]

_BATCH = 20_000


@dataclass(slots=True)
class Materialization:
    """One view written to the online store for an event-time window."""

    id: str
    view: str
    view_version: int
    online_store: str
    start_ms: int | None
    end_ms: int
    rows: int
    newest_event_ms: int | None
    profile: dict[str, Any] | None
    created_by: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_ms(value: datetime | int | float | str | None) -> int | None:
    """ISO-8601 (naive means UTC), a datetime, or epoch ms; None stays None."""
    if value is None or isinstance(value, int | float):
        return None if value is None else int(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationFailed(f"bad time {value!r}: use ISO-8601 or epoch ms") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _dataset_file(stores: Stores) -> Any:
    from conveyor.data import service as datasets
    from conveyor.features.sources import cached_dataset_file

    def version_of(name: str, version: int | None) -> Any:
        with stores.read() as conn:
            return datasets.get_dataset_version(conn, name, version)

    return cached_dataset_file(version_of, stores.download_blob)


def _latest_duckdb(
    con: duckdb.DuckDBPyConnection,
    view: ResolvedView,
    stores: Stores,
    start: int | None,
    end: int,
) -> Iterator[Any]:
    from conveyor.features.sources import ORDER_KEY, arrow_reader, quote, view_relation

    rel = view_relation(con, view, _dataset_file(stores))
    keys = ", ".join(quote(k) for k in view.join_keys)
    order = ORDER_KEY if view.source.get("created_timestamp_column") else "__ts"
    where = f"epoch_ms(__ts) <= {end}" + (f" AND epoch_ms(__ts) >= {start}" if start else "")
    # the newest row per entity as one hash aggregate (arg_max of the whole row, so its
    # values come from one row), not a sort of the view by entity and time
    names = view.feature_names
    row = ", ".join(["'ms': epoch_ms(__ts)"] + [f"'c{i}': {quote(f)}" for i, f in enumerate(names)])
    feats = ", ".join(f"__row['c{i}'] AS {quote(f)}" for i, f in enumerate(names))
    sql = (
        f"SELECT {keys}, __row['ms'] AS __ms, {feats} FROM (SELECT {keys}, arg_max({{{row}}}, "
        f"{order}) AS __row FROM ({rel}) WHERE {where} GROUP BY {keys})"
    )
    yield from arrow_reader(con.sql(sql), _BATCH)


def _rows(batch: Any, view: ResolvedView) -> tuple[list[tuple[bytes, bytes]], int]:
    from conveyor.features.online.base import encode_value, entity_key

    cols = batch.to_pydict()
    keys = [cols[k] for k in view.join_keys]
    names = view.feature_names
    feats = [cols[f] for f in names]
    ms = cols["__ms"]
    out = []
    for i in range(batch.num_rows):
        value = encode_value(int(ms[i]), {n: c[i] for n, c in zip(names, feats, strict=True)})
        out.append((entity_key([k[i] for k in keys]), value))
    return out, max(ms) if ms else 0


def _materialize_view(
    stores: Stores, store: OnlineStore, view: ResolvedView, start: int | None, end: int
) -> tuple[int, int | None, dict[str, Any]]:
    import pyarrow as pa

    from conveyor.config import get_settings
    from conveyor.data.profile import Profile
    from conveyor.features.sources import connect_duckdb

    profile = Profile()
    written, newest = 0, None
    if view.source["type"] == "postgresql":
        from conveyor.features.postgres_offline import latest_rows

        batches: Any = latest_rows(view, get_settings().features_postgres_url or None, start, end)
        con = None
    else:
        con = connect_duckdb(get_settings().features_memory_limit)
        batches = _latest_duckdb(con, view, stores, start, end)
    try:
        for batch in batches:
            if not batch.num_rows:
                continue
            rows, top = _rows(batch, view)
            written += store.write(view.name, rows)
            newest = top if newest is None else max(newest, top)
            profile.update(pa.Table.from_batches([batch]).select(view.feature_names))
    finally:
        if con is not None:
            con.close()
    return written, newest, profile.to_dict()


def _last_end(conn: sa.Connection, view: str, url: str, project_id: str) -> int | None:
    t = feature_materializations
    return conn.execute(
        sa.select(sa.func.max(t.c.end_ms)).where(
            t.c.project_id == project_id, t.c.view == view, t.c.online_store == url
        )
    ).scalar()


@in_current_project
def materialize_features(
    stores: Stores,
    start: str | int | None = None,
    end: str | int | None = None,
    *,
    views: list[str] | None = None,
    incremental: bool = False,
    online_url: str | None = None,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[Materialization]:
    """Write the latest value per entity with event time in [start, end] (end: now)."""
    from conveyor.features.online.base import open_online_store

    end_ms = to_ms(end) or now_ms()
    start_ms = to_ms(start)
    if start_ms is not None and start_ms > end_ms:
        raise ValidationFailed(f"materialize: start {start} is after end {end}")
    with stores.read() as conn:
        online = {
            o.name: o
            for o in list_feature_objects(conn, "feature_view", project_id=project_id)
            if o.spec.get("online", True)
        }
        names = views or sorted(online)
        unknown = [n for n in names if n not in online]
        if unknown:
            raise NotFound(
                f"no online feature view {', '.join(map(repr, unknown))}; "
                f"views: {', '.join(sorted(online)) or '(none)'}"
            )
        resolved = [
            resolve_features(
                conn,
                [f"{n}:{f['name']}" for f in online[n].spec["features"]],
                project_id=project_id,
            )[0]
            for n in names
        ]
    store = open_online_store(online_url)
    done: list[Materialization] = []
    try:
        for view in resolved:
            window_start = start_ms
            if incremental:
                with stores.read() as conn:
                    window_start = _last_end(conn, view.name, store.url, project_id)
                if window_start is None and view.ttl_s:
                    window_start = end_ms - int(view.ttl_s * 1000)
            rows, newest, profile = _materialize_view(stores, store, view, window_start, end_ms)
            record = Materialization(
                id=new_id(),
                view=view.name,
                view_version=view.version,
                online_store=store.url,
                start_ms=window_start,
                end_ms=end_ms,
                rows=rows,
                newest_event_ms=newest,
                profile=profile,
                created_by=str(stores.actor),
                created_at=now_ms(),
            )
            with stores.write() as uow:
                uow.conn.execute(
                    feature_materializations.insert().values(
                        project_id=project_id, **asdict(record)
                    )
                )
                uow.audit(
                    "feature_view.materialize",
                    "feature_view",
                    view.name,
                    {k: v for k, v in asdict(record).items() if k != "profile"},
                )
            done.append(record)
    finally:
        store.close()
    return done


@in_current_project
def list_materializations(
    conn: sa.Connection,
    view: str | None = None,
    *,
    limit: int = 100,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[Materialization]:
    """The newest materializations first (of one view, or all)."""
    t = feature_materializations
    query = sa.select(t).where(t.c.project_id == project_id)
    if view is not None:
        query = query.where(t.c.view == view)
    rows = conn.execute(query.order_by(t.c.created_at.desc()).limit(limit))
    return [
        Materialization(**{f: getattr(r, f) for f in Materialization.__dataclass_fields__})
        for r in rows
    ]
