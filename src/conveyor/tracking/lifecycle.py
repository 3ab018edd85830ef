"""Lifecycle and metadata edits of experiments and runs: rename, tag, delete, restore.

Deleting is soft (``lifecycle = 'deleted'``): the rows stay, searches skip them, and
``restore_*`` brings them back; each change writes its audit event in the same
transaction. Ended runs stay immutable for what they logged (params, metrics,
artifacts); their name and lifecycle are bookkeeping and may change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from conveyor._util import check_name, now_ms
from conveyor.errors import NotFound, ValidationFailed
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id, in_project, run_in_project
from conveyor.store.tables import experiments, run_tags, runs
from conveyor.tracking.entities import RUN_STATUSES, Experiment
from conveyor.tracking.service import (
    TERMINAL_STATUSES,
    _experiment,
    get_experiment,
    writable_run,
)
from conveyor.tracking.validation import check_key, check_text_value

__all__ = [
    "LIFECYCLES",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_run_tag",
    "list_experiments_in",
    "restore_experiment",
    "restore_run",
    "run_lifecycles",
    "run_row",
    "set_experiment_lifecycle",
    "set_experiment_tag",
    "set_run_lifecycle",
    "update_experiment",
    "update_run",
]

LIFECYCLES = ("active", "deleted")


def run_row(conn: sa.Connection, run_id: str) -> Any:
    """The runs-table row of a run (no params, metrics or tags); NotFound if absent."""
    return _run(conn, run_id)


def _run(conn: sa.Connection, run_id: str) -> Any:
    if not isinstance(run_id, str) or not run_id:
        raise ValidationFailed("run id must be a non-empty string")
    query = sa.select(runs).where(runs.c.id == run_id, run_in_project(current_project_id()))
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"run {run_id!r} does not exist{in_project()}")
    return row


def update_run(
    uow: UnitOfWork,
    run_id: str,
    *,
    status: str | None = None,
    end_time: int | None = None,
    name: str | None = None,
) -> None:
    """Rename a run and/or move it to ``status`` (a terminal status ends it, once)."""
    row = _run(uow.conn, run_id)
    change: dict[str, Any] = {}
    if name:
        check_name(name, "run name")
        change["name"] = name
    if status is not None and status != row.status:
        if status not in RUN_STATUSES:
            raise ValidationFailed(f"unknown run status {status!r}; use one of {RUN_STATUSES}")
        writable_run(uow.conn, run_id, "status changes")
        change["status"] = status
        if status in TERMINAL_STATUSES:
            change["end_time"] = end_time if end_time is not None else now_ms()
    elif end_time is not None and row.status in TERMINAL_STATUSES and row.end_time is None:
        change["end_time"] = end_time
    if not change:
        return
    uow.conn.execute(runs.update().where(runs.c.id == run_id).values(**change))
    uow.audit("run.update", "run", run_id, change)


def set_run_lifecycle(uow: UnitOfWork, run_id: str, lifecycle: str) -> None:
    """Mark a run ``deleted`` (hidden from searches) or ``active`` again."""
    if lifecycle not in LIFECYCLES:
        raise ValidationFailed(f"lifecycle must be one of {LIFECYCLES}, got {lifecycle!r}")
    row = _run(uow.conn, run_id)
    if row.lifecycle == lifecycle:
        return
    uow.conn.execute(runs.update().where(runs.c.id == run_id).values(lifecycle=lifecycle))
    uow.audit(f"run.{'delete' if lifecycle == 'deleted' else 'restore'}", "run", run_id, {})


def delete_run(uow: UnitOfWork, run_id: str) -> None:
    """Soft-delete a run (``restore_run`` undoes it)."""
    set_run_lifecycle(uow, run_id, "deleted")


def restore_run(uow: UnitOfWork, run_id: str) -> None:
    """Bring a deleted run back."""
    set_run_lifecycle(uow, run_id, "active")


def delete_run_tag(uow: UnitOfWork, run_id: str, key: str) -> None:
    """Remove one tag of a running run; NotFound if it has no such tag."""
    writable_run(uow.conn, run_id, "tag changes")
    gone = uow.conn.execute(
        run_tags.delete().where(run_tags.c.run_id == run_id, run_tags.c.key == key)
    ).rowcount
    if not gone:
        raise NotFound(f"run {run_id} has no tag {key!r}")
    uow.audit("run.delete_tag", "run", run_id, {"key": key})


def _experiment_row(uow: UnitOfWork, id_or_name: str) -> Any:
    exp = get_experiment(uow.conn, id_or_name)
    return uow.conn.execute(sa.select(experiments).where(experiments.c.id == exp.id)).one()


def list_experiments_in(conn: sa.Connection, lifecycles: Sequence[str]) -> list[Experiment]:
    """Experiments in any of ``lifecycles`` (``active``, ``deleted``), oldest first."""
    rows = conn.execute(
        sa.select(experiments)
        .where(
            experiments.c.lifecycle.in_(list(lifecycles)),
            experiments.c.project_id == current_project_id(),
        )
        .order_by(experiments.c.created_at, experiments.c.id)
    )
    return [_experiment(r) for r in rows]


def run_lifecycles(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, str]:
    """The lifecycle (``active`` / ``deleted``) of each of the runs."""
    out: dict[str, str] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), 900):
        rows = conn.execute(
            sa.select(runs.c.id, runs.c.lifecycle).where(runs.c.id.in_(ids[start : start + 900]))
        )
        out.update({run_id: lifecycle for run_id, lifecycle in rows})
    return out


def update_experiment(uow: UnitOfWork, experiment_id: str, *, name: str) -> None:
    """Rename an experiment (names stay unique)."""
    check_name(name, "experiment name")
    row = _experiment_row(uow, experiment_id)
    if name == row.name:
        return
    taken = uow.conn.execute(
        sa.select(experiments.c.id).where(
            experiments.c.project_id == row.project_id, experiments.c.name == name
        )
    ).first()
    if taken is not None:
        from conveyor.errors import Conflict

        raise Conflict(f"experiment {name!r} already exists")
    uow.conn.execute(
        experiments.update()
        .where(experiments.c.id == row.id)
        .values(name=name, updated_at=now_ms())
    )
    uow.audit("experiment.update", "experiment", row.id, {"name": name, "was": row.name})


def set_experiment_lifecycle(uow: UnitOfWork, experiment_id: str, lifecycle: str) -> None:
    """Mark an experiment ``deleted`` (hidden from lists) or ``active`` again."""
    if lifecycle not in LIFECYCLES:
        raise ValidationFailed(f"lifecycle must be one of {LIFECYCLES}, got {lifecycle!r}")
    row = _experiment_row(uow, experiment_id)
    if row.lifecycle == lifecycle:
        return
    uow.conn.execute(
        experiments.update()
        .where(experiments.c.id == row.id)
        .values(lifecycle=lifecycle, updated_at=now_ms())
    )
    action = "delete" if lifecycle == "deleted" else "restore"
    uow.audit(f"experiment.{action}", "experiment", row.id, {})


def delete_experiment(uow: UnitOfWork, experiment_id: str) -> None:
    """Soft-delete an experiment (``restore_experiment`` undoes it)."""
    set_experiment_lifecycle(uow, experiment_id, "deleted")


def restore_experiment(uow: UnitOfWork, experiment_id: str) -> None:
    """Bring a deleted experiment back."""
    set_experiment_lifecycle(uow, experiment_id, "active")


def set_experiment_tag(uow: UnitOfWork, experiment_id: str, key: str, value: str | None) -> None:
    """Set (``value`` a string) or remove (``value`` None) one tag of an experiment."""
    check_key(key, "experiment tag key")
    row = _experiment_row(uow, experiment_id)
    tags = dict(row.tags or {})
    if value is None:
        if key not in tags:
            raise NotFound(f"experiment {row.name!r} has no tag {key!r}")
        del tags[key]
    else:
        tags[key] = check_text_value(key, value, "experiment tag")
    uow.conn.execute(
        experiments.update()
        .where(experiments.c.id == row.id)
        .values(tags=tags, updated_at=now_ms())
    )
    uow.audit("experiment.set_tag", "experiment", row.id, {key: value})


def delete_experiment_tag(uow: UnitOfWork, experiment_id: str, key: str) -> None:
    """Remove one tag of an experiment."""
    set_experiment_tag(uow, experiment_id, key, None)
