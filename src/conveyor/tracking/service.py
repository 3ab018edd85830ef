"""Tracking services: experiments, runs, params, metrics, tags, run artifacts.

Mutating functions take a ``UnitOfWork`` (transaction + actor) and write their audit
event in it; read functions take a ``sqlalchemy.Connection``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import Name, NonEmpty, NonNegativeInt, Rule, Tags, check_limit
from conveyor._util import check_name, new_id, now_ms
from conveyor.artifacts.paths import check_relative_path
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.store import UnitOfWork
from conveyor.store.dialect import fetch_tuples
from conveyor.store.projects import (
    current_project_id,
    in_project,
    insert_named,
    run_in_project,
)
from conveyor.store.stores import Stores
from conveyor.store.tables import (
    DEFAULT_PROJECT_ID,
    dataset_versions,
    datasets,
    experiments,
    latest_metrics,
    metrics,
    run_artifacts,
    run_inputs,
    run_tags,
    runs,
)
from conveyor.store.tables import params as param_rows
from conveyor.tracking.entities import RUN_STATUSES, Experiment, MetricPoint, Run
from conveyor.tracking.metric_rows import MetricRows, insert_metric_rows, upsert_latest
from conveyor.tracking.search import ATTRIBUTES, Clause, OrderKey, parse_filter, parse_order_by
from conveyor.tracking.validation import check_str_map

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_PROJECT_ID",
    "create_experiment",
    "create_run",
    "end_run",
    "get_experiment",
    "get_metric_history",
    "get_or_create_experiment",
    "get_run",
    "list_experiments",
    "list_run_artifacts",
    "log_batch",
    "record_artifact",
    "search_parsed",
    "search_runs",
]

DEFAULT_EXPERIMENT = "Default"
MAX_SEARCH_RESULTS = 50_000
SearchLimit = Annotated[int, Rule({"minimum": 1, "maximum": MAX_SEARCH_RESULTS})]


# -- experiments ---------------------------------------------------------------------------
def _experiment(row: Any) -> Experiment:
    return Experiment(
        id=row.id,
        name=row.name,
        description=row.description,
        tags=dict(row.tags or {}),
        lifecycle=row.lifecycle,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _insert_experiment(
    uow: UnitOfWork, name: str, description: str, tags: dict[str, str]
) -> dict[str, Any] | None:
    """Insert and audit the experiment unless the name is taken (race-safe); the row or None."""
    fields = {"name": name, "description": description, "tags": tags, "lifecycle": "active"}
    return insert_named(uow, experiments, "experiment", fields)


def create_experiment(
    uow: UnitOfWork, name: Name, *, description: str = "", tags: Tags = None
) -> Experiment:
    """Create an experiment; Conflict when the name is taken."""
    check_name(name, "experiment name")
    row = _insert_experiment(uow, name, description, check_str_map(tags or {}, "experiment tag"))
    if row is None:
        raise Conflict(f"experiment {name!r} already exists")
    return _experiment(SimpleNamespace(**row))


_SELECT_EXPERIMENT = sa.select(experiments).where(
    sa.or_(experiments.c.id == sa.bindparam("b_ref"), experiments.c.name == sa.bindparam("b_ref")),
    experiments.c.project_id == sa.bindparam("b_project"),
)


def get_experiment(conn: sa.Connection, id_or_name: NonEmpty) -> Experiment:
    """Find an experiment by id or by name."""
    if not isinstance(id_or_name, str) or not id_or_name:
        raise ValidationFailed("experiment id or name must be a non-empty string")
    row = conn.execute(
        _SELECT_EXPERIMENT, {"b_ref": id_or_name, "b_project": current_project_id()}
    ).first()
    if row is None:
        raise NotFound(
            f"experiment {id_or_name!r} does not exist{in_project()}; list them with "
            "`conveyor experiments list`"
        )
    return _experiment(row)


def get_or_create_experiment(uow: UnitOfWork, name: str) -> Experiment:
    """The experiment named ``name``, created on first use (safe under concurrent callers)."""
    check_name(name, "experiment name")
    row = _insert_experiment(uow, name, "", {})
    return _experiment(SimpleNamespace(**row)) if row else get_experiment(uow.conn, name)


def open_experiment(stores: Stores, name: Name) -> Experiment:
    """The experiment named ``name``, created on first use. Reads first, so an existing
    experiment costs no write transaction (no writer lock on SQLite)."""
    with stores.read() as conn:
        try:
            return get_experiment(conn, name)
        except NotFound:
            pass
    with stores.write() as uow:
        return get_or_create_experiment(uow, name)


def list_experiments(conn: sa.Connection) -> list[Experiment]:
    """All active experiments, newest first."""
    rows = conn.execute(
        sa.select(experiments)
        .where(
            experiments.c.lifecycle == "active", experiments.c.project_id == current_project_id()
        )
        .order_by(experiments.c.created_at.desc())
    )
    return [_experiment(r) for r in rows]


# -- runs ----------------------------------------------------------------------------------
# Statements on the run-logging hot path, built once and executed with bound parameters
# (a reused statement skips SQLAlchemy's per-call construction and cache-key work).
_RUN_IN_PROJECT = run_in_project(sa.bindparam("b_project"))
_SELECT_RUN = sa.select(runs).where(runs.c.id == sa.bindparam("b_run_id"), _RUN_IN_PROJECT)
_INSERT_RUN = runs.insert()
_INSERT_PARAM = param_rows.insert()
_INSERT_TAG = run_tags.insert()
_EXISTING_PARAMS = sa.select(param_rows.c.key, param_rows.c.value).where(
    param_rows.c.run_id == sa.bindparam("b_run_id"),
    param_rows.c.key.in_(sa.bindparam("b_keys", expanding=True)),
)
_DELETE_TAGS = run_tags.delete().where(
    run_tags.c.run_id == sa.bindparam("b_run_id"),
    run_tags.c.key.in_(sa.bindparam("b_keys", expanding=True)),
)
_END_RUN = (
    runs.update()
    .where(runs.c.id == sa.bindparam("b_run_id"))
    .values(status=sa.bindparam("b_status"), end_time=sa.bindparam("b_end_time"))
)


_SELECT_RUN_LOCKED = _SELECT_RUN.with_for_update()  # plain SELECT on SQLite (BEGIN IMMEDIATE)
#: statuses after which a run is immutable
TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")


def _run_row(conn: sa.Connection, run_id: str) -> Any:
    if not isinstance(run_id, str) or not run_id:
        raise ValidationFailed("run id must be a non-empty string")
    row = conn.execute(_SELECT_RUN, {"b_run_id": run_id, "b_project": current_project_id()}).first()
    if row is None:
        raise NotFound(f"run {run_id!r} does not exist{in_project()}")
    return row


def writable_run(conn: sa.Connection, run_id: str, what: str, *, lock: bool = True) -> Any:
    """The run's row (``lock``: locked until the transaction ends, so it cannot end while
    this write is in flight); Conflict when the run has ended — a FINISHED, FAILED or
    KILLED run accepts no more metrics, params, tags or artifacts."""
    if not isinstance(run_id, str) or not run_id:
        raise ValidationFailed("run id must be a non-empty string")
    query = _SELECT_RUN_LOCKED if lock else _SELECT_RUN
    row = conn.execute(query, {"b_run_id": run_id, "b_project": current_project_id()}).first()
    if row is None:
        raise NotFound(f"run {run_id!r} does not exist{in_project()}")
    if row.status in TERMINAL_STATUSES:
        raise Conflict(
            f"run {run_id} is {row.status}: an ended run is immutable and accepts no more "
            f"{what}. Log them to a new run (conveyor.start_run()).",
            details={"run_id": run_id, "status": row.status},
        )
    return row


def create_run(
    uow: UnitOfWork,
    experiment_id: str,
    *,
    name: str | None = None,
    parent_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
    start_time: int | None = None,
) -> Run:
    """Start a run in an experiment (optionally nested under ``parent_run_id``)."""
    experiment = get_experiment(uow.conn, experiment_id)
    if parent_run_id is not None:
        _run_row(uow.conn, parent_run_id)
    run_id = new_id()
    if name is None or name == "":
        name = f"run-{run_id[:8]}"
    check_name(name, "run name")
    tags = check_str_map(tags or {}, "tag")
    row: dict[str, Any] = {
        "id": run_id,
        "experiment_id": experiment.id,
        "parent_run_id": parent_run_id,
        "name": name,
        "status": "RUNNING",
        "user": uow.actor.name,
        "start_time": start_time if start_time is not None else now_ms(),
        "end_time": None,
        "source": source or {},
        "lifecycle": "active",
    }
    uow.conn.execute(_INSERT_RUN, row)
    if tags:
        uow.conn.execute(
            _INSERT_TAG, [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        )
    checked_params = check_str_map(params or {}, "param")
    if checked_params:
        uow.conn.execute(
            _INSERT_PARAM,
            [{"run_id": run_id, "key": k, "value": v} for k, v in checked_params.items()],
        )
    uow.audit("run.create", "run", run_id, {**row, "tags": tags, "params": checked_params})
    return Run(
        id=run_id,
        experiment_id=experiment.id,
        name=name,
        status="RUNNING",
        user=row["user"],
        start_time=row["start_time"],
        end_time=None,
        parent_run_id=parent_run_id,
        source=row["source"],
        params=checked_params,
        tags=tags,
    )


def end_run(
    uow: UnitOfWork,
    run_id: str,
    *,
    status: str = "FINISHED",
    end_time: int | None = None,
    metric_rows: MetricRows | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
) -> None:
    """Mark a run terminated with ``status`` (FINISHED, FAILED or KILLED), logging its
    final metrics, params and tags first (one transaction, one audit event)."""
    if status not in RUN_STATUSES:
        raise ValidationFailed(f"unknown run status {status!r}; use one of {RUN_STATUSES}")
    writable_run(uow.conn, run_id, "metrics, params, tags or end")
    change = _write_batch(uow.conn, run_id, metric_rows, params, tags)
    end = end_time if end_time is not None else now_ms()
    uow.conn.execute(_END_RUN, {"b_run_id": run_id, "b_status": status, "b_end_time": end})
    uow.audit("run.end", "run", run_id, {"status": status, "end_time": end, **change})


def log_batch(
    uow: UnitOfWork,
    run_id: str,
    *,
    metric_rows: MetricRows | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
) -> None:
    """Log metrics (columnar), params and tags to a run in one transaction.

    A param already logged with a different value raises Conflict naming it; the same
    value again is accepted. Tags overwrite. NaN metric values are stored as NULL.
    """
    writable_run(uow.conn, run_id, "metrics, params or tags")
    change = _write_batch(uow.conn, run_id, metric_rows, params, tags)
    uow.audit("run.log_batch", "run", run_id, change)


def _write_batch(
    conn: sa.Connection,
    run_id: str,
    metric_rows: MetricRows | None,
    params: dict[str, Any] | None,
    tags: dict[str, Any] | None,
) -> dict[str, Any]:
    """Write a batch to an existing run; returns what the audit event records of it."""
    checked_params = check_str_map(params or {}, "param")
    checked_tags = check_str_map(tags or {}, "tag")
    if checked_params:
        _insert_params(conn, run_id, checked_params)
    if checked_tags:
        _upsert_tags(conn, run_id, checked_tags)
    summary: dict[str, Any] = {}
    if metric_rows is not None and len(metric_rows):
        insert_metric_rows(conn, run_id, metric_rows)
        upsert_latest(conn, run_id, metric_rows)
        summary = metric_rows.summary()
    return {"params": checked_params, "tags": checked_tags, "metrics": summary}


def _insert_params(conn: sa.Connection, run_id: str, new: dict[str, str]) -> None:
    existing: dict[str, str] = {
        key: value
        for key, value in conn.execute(_EXISTING_PARAMS, {"b_run_id": run_id, "b_keys": list(new)})
    }
    for key, value in new.items():
        if key in existing and existing[key] != value:
            raise Conflict(
                f"param {key!r} of run {run_id} is already {existing[key]!r}; params are "
                f"immutable, so it cannot become {value!r}. Log it under another key.",
                details={"key": key, "old": existing[key], "new": value},
            )
    fresh = [{"run_id": run_id, "key": k, "value": v} for k, v in new.items() if k not in existing]
    if fresh:
        conn.execute(_INSERT_PARAM, fresh)


def _upsert_tags(conn: sa.Connection, run_id: str, tags: dict[str, str]) -> None:
    conn.execute(_DELETE_TAGS, {"b_run_id": run_id, "b_keys": list(tags)})
    conn.execute(_INSERT_TAG, [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])


def get_run(conn: sa.Connection, run_id: str) -> Run:
    """One run with its params, latest metrics, tags and dataset inputs."""
    row = _run_row(conn, run_id)
    return _hydrate(conn, [row])[0]


def _hydrate(conn: sa.Connection, rows: Sequence[Any]) -> list[Run]:
    found = {
        r.id: Run(
            id=r.id,
            experiment_id=r.experiment_id,
            name=r.name,
            status=r.status,
            user=r.user,
            start_time=r.start_time,
            end_time=r.end_time,
            parent_run_id=r.parent_run_id,
            source=dict(r.source or {}),
        )
        for r in rows
    }
    ids = list(found)
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        for run_id, key, value in conn.execute(
            sa.select(param_rows.c.run_id, param_rows.c.key, param_rows.c.value).where(
                param_rows.c.run_id.in_(chunk)
            )
        ):
            found[run_id].params[key] = value
        for run_id, key, value in conn.execute(
            sa.select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
                run_tags.c.run_id.in_(chunk)
            )
        ):
            found[run_id].tags[key] = value
        for run_id, key, value in conn.execute(
            sa.select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
                latest_metrics.c.run_id.in_(chunk)
            )
        ):
            found[run_id].metrics[key] = math.nan if value is None else value
        for run_id, dv_id, context, name, version, sha in conn.execute(
            sa.select(
                run_inputs.c.run_id,
                run_inputs.c.dataset_version_id,
                run_inputs.c.context,
                datasets.c.name,
                dataset_versions.c.version,
                dataset_versions.c.sha256,
            )
            .join(dataset_versions, dataset_versions.c.id == run_inputs.c.dataset_version_id)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(run_inputs.c.run_id.in_(chunk))
        ):
            found[run_id].inputs.append(
                {
                    "dataset_version_id": dv_id,
                    "dataset": name,
                    "version": version,
                    "sha256": sha,
                    "context": context,
                }
            )
    return [found[r.id] for r in rows]


def get_metric_history(conn: sa.Connection, run_id: str, key: str) -> list[MetricPoint]:
    """Every logged value of one metric, by step then time."""
    _run_row(conn, run_id)
    rows = conn.execute(
        sa.select(metrics.c.value, metrics.c.step, metrics.c.timestamp)
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
    )
    return [MetricPoint(key, math.nan if v is None else v, step, ts) for v, step, ts in rows]


def get_metric_columns(conn: sa.Connection, run_id: str, key: str) -> MetricRows:
    """One metric's history as columns (steps, timestamps, values), by step then logging
    order.

    The points of ``get_metric_history`` in the columnar wire form: half the JSON and no
    per-point object, for charts of 100,000 points. Ordered by (step, id), which the
    (run_id, key, step) index yields without a sort.
    """
    _run_row(conn, run_id)
    rows = fetch_tuples(
        conn,
        sa.select(metrics.c.value, metrics.c.step, metrics.c.timestamp)
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.id),
    )
    # a comprehension per column: zip(*rows) over 100,000 rows costs ten times as much
    return MetricRows(
        [key] * len(rows),
        [math.nan if r[0] is None else r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


# -- search --------------------------------------------------------------------------------
def _clause_condition(clause: Clause) -> sa.ColumnElement[bool]:
    if clause.kind == "attribute":
        column = runs.c[clause.key]
        return _compare(column, clause.op, clause.value)
    table = {"metric": latest_metrics, "param": param_rows, "tag": run_tags}[clause.kind]
    sub = sa.select(table.c.run_id).where(
        table.c.key == clause.key, _compare(table.c.value, clause.op, clause.value)
    )
    return runs.c.id.in_(sub)


def _compare(column: Any, op: str, value: Any) -> sa.ColumnElement[bool]:
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == "like":
        return column.like(value)
    if op == "ilike":
        return column.ilike(value)
    if op == "in":
        return column.in_([str(v) for v in value])
    if op == "not in":
        return column.not_in([str(v) for v in value])
    raise ValidationFailed(f"unsupported operator {op!r}")


def search_runs(
    conn: sa.Connection,
    experiment_ids: Iterable[str] | None = None,
    filter_string: str | None = None,
    order_by: list[str] | str | None = None,
    max_results: SearchLimit = 1000,
    offset: NonNegativeInt = 0,
) -> list[Run]:
    """Runs matching the filter, ordered (default: newest first)."""
    check_limit(max_results, "max_results", MAX_SEARCH_RESULTS)
    if not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("offset must be a non-negative integer")
    return search_parsed(
        conn,
        experiment_ids,
        parse_filter(filter_string),
        parse_order_by(order_by),
        max_results=max_results,
        offset=offset,
    )


def search_parsed(
    conn: sa.Connection,
    experiment_ids: Iterable[str] | None,
    clauses: list[Clause],
    order: list[OrderKey],
    *,
    max_results: int,
    offset: int = 0,
    lifecycles: Sequence[str] = ("active",),
) -> list[Run]:
    """``search_runs`` on an already parsed filter and order (other grammars, such as
    MLflow's, parse into the same clauses), over runs in ``lifecycles``."""
    query = sa.select(runs).where(runs.c.lifecycle.in_(list(lifecycles)))
    if experiment_ids is not None:
        exp_ids = [get_experiment(conn, e).id for e in experiment_ids]
        query = query.where(runs.c.experiment_id.in_(exp_ids))
    else:
        query = query.where(run_in_project(current_project_id()))
    for clause in clauses:
        query = query.where(_clause_condition(clause))
    query = _apply_order(query, order)
    rows = conn.execute(query.limit(max_results).offset(offset)).all()
    return _hydrate(conn, rows)


def _apply_order(query: sa.Select[Any], order: list[OrderKey]) -> sa.Select[Any]:
    terms: list[Any] = []
    for i, key in enumerate(order):
        if key.kind == "attribute":
            column: Any = runs.c[ATTRIBUTES.get(key.key, key.key)]
        else:
            table = {"metric": latest_metrics, "param": param_rows, "tag": run_tags}[key.kind]
            alias = table.alias(f"order_{i}")
            query = query.outerjoin(
                alias, sa.and_(alias.c.run_id == runs.c.id, alias.c.key == key.key)
            )
            column = alias.c.value
        term = column.desc() if key.descending else column.asc()
        terms.append(term.nulls_last())
    terms.extend([runs.c.start_time.desc(), runs.c.id])
    return query.order_by(*terms)


# -- artifacts -----------------------------------------------------------------------------
def check_artifact_path(path: str) -> str:
    """Normalise a run-relative artifact path; ValidationFailed with the path rule
    (:mod:`conveyor.artifacts.paths`) for anything unsafe or not portable."""
    return check_relative_path(path)


def record_artifact(uow: UnitOfWork, run_id: str, path: str, sha256: str, size: int) -> None:
    """Record that the run's artifact ``path`` has content ``sha256``.

    Artifacts are immutable once written: writing the same bytes again is a no-op, other
    bytes a Conflict; an ended run accepts no artifacts at all.
    """
    writable_run(uow.conn, run_id, "artifacts")
    path = check_artifact_path(path)
    stored = uow.conn.execute(
        sa.select(run_artifacts.c.sha256).where(
            run_artifacts.c.run_id == run_id, run_artifacts.c.path == path
        )
    ).scalar()
    if stored == sha256:
        return
    if stored is not None:
        raise Conflict(
            f"run {run_id} already has an artifact {path!r} with other content (sha256 "
            f"{stored[:12]}, new {sha256[:12]}); artifacts are immutable once written: log "
            "it under another path",
            details={"run_id": run_id, "path": path, "stored": stored, "new": sha256},
        )
    uow.conn.execute(
        run_artifacts.insert().values(
            run_id=run_id, path=path, sha256=sha256, size=size, created_at=now_ms()
        )
    )
    uow.audit("run.log_artifact", "run", run_id, {"path": path, "sha256": sha256, "size": size})


def list_run_artifacts(conn: sa.Connection, run_id: str, prefix: str = "") -> list[dict[str, Any]]:
    """Artifacts of a run under ``prefix`` (all when empty): path, sha256, size."""
    _run_row(conn, run_id)
    query = sa.select(run_artifacts.c.path, run_artifacts.c.sha256, run_artifacts.c.size).where(
        run_artifacts.c.run_id == run_id
    )
    if prefix:
        prefix = check_artifact_path(prefix)
        query = query.where(
            sa.or_(run_artifacts.c.path == prefix, run_artifacts.c.path.startswith(prefix + "/"))
        )
    return [
        {"path": p, "sha256": s, "size": n}
        for p, s, n in conn.execute(query.order_by(run_artifacts.c.path))
    ]
