"""Monitor CRUD: create, update, apply (from files), delete, get and list monitors; list
their checks and alerts.

Write functions take a :class:`~conveyor.store.UnitOfWork` (audited in the same
transaction); read functions take a Connection::

    with backend.meta.write(backend.actor) as uow:
        create_monitor(uow, MonitorSpec(name="churn-p99", endpoint="churn",
                                        metric="latency.p99", comparison=">",
                                        threshold=250, window="15m", schedule="1m"))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from conveyor._schema import Limit, check_limit
from conveyor._util import new_id, now_ms
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.monitoring.alerts import Alert
from conveyor.monitoring.monitors import Monitor, MonitorSpec
from conveyor.monitoring.tables import alerts, monitor_checks, monitors
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id, in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID

__all__ = [
    "DEFAULT_PROJECT_ID",
    "AppliedMonitor",
    "alert_from_row",
    "apply_monitors",
    "create_monitor",
    "delete_monitor",
    "get_alert",
    "get_monitor",
    "list_alerts",
    "list_checks",
    "list_monitors",
    "monitor_from_row",
    "update_monitor",
]


# -- records ---------------------------------------------------------------------------------
def monitor_from_row(row: Any) -> Monitor:
    """A ``monitors`` row as a :class:`Monitor`."""
    return Monitor(
        id=row.id,
        name=row.name,
        endpoint=row.endpoint,
        metric=row.metric,
        window_s=float(row.window_s),
        schedule_s=float(row.schedule_s),
        comparison=row.comparison,
        threshold=float(row.threshold),
        severity=row.severity,
        for_s=float(row.for_s),
        cooldown_s=float(row.cooldown_s),
        model_version=row.model_version,
        route=row.route,
        options=dict(row.options or {}),
        notifiers=list(row.notifiers or []),
        enabled=bool(row.enabled),
        description=row.description,
        last_evaluated_at=row.last_evaluated_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def alert_from_row(
    row: Any, monitor: Monitor | None = None, name: str = "", endpoint: str = ""
) -> Alert:
    """An ``alerts`` row as an :class:`Alert` (named after ``monitor``, or ``name``)."""
    return Alert(
        id=row.id,
        monitor_id=row.monitor_id,
        monitor=monitor.name if monitor else name,
        endpoint=monitor.endpoint if monitor else endpoint,
        state=row.state,
        severity=row.severity,
        value=row.value,
        threshold=float(row.threshold),
        message=row.message,
        started_at=row.started_at,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        updated_at=row.updated_at,
        notifications=list(row.notifications or []),
    )


def _row(conn: sa.Connection, name: str, project_id: str, *, lock: bool = False) -> Any:
    stmt = sa.select(monitors).where(monitors.c.project_id == project_id, monitors.c.name == name)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(
            f"monitor {name!r} does not exist; `conveyor monitors list` shows the monitors",
            details={"monitor": name},
        )
    return row


# -- CRUD ------------------------------------------------------------------------------------
def _spec(spec: MonitorSpec | Mapping[str, Any]) -> MonitorSpec:
    return spec if isinstance(spec, MonitorSpec) else MonitorSpec.from_dict(spec)


@in_current_project
def create_monitor(
    uow: UnitOfWork,
    spec: MonitorSpec | Mapping[str, Any],
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> Monitor:
    """Store a new monitor; Conflict when the name is taken."""
    values = _spec(spec).validate()
    exists = uow.conn.execute(
        sa.select(monitors.c.id).where(
            monitors.c.project_id == project_id, monitors.c.name == values["name"]
        )
    ).first()
    if exists is not None:
        raise Conflict(
            f"monitor {values['name']!r} exists; to change it, put it in a file and run "
            "`conveyor monitors create --file monitors.yaml` (creates or updates), or "
            f"`conveyor monitors delete {values['name']}` first; or pick another name",
            details={"monitor": values["name"]},
        )
    now = now_ms()
    row = {
        "id": new_id(),
        "project_id": project_id,
        **values,
        "last_evaluated_at": None,
        "created_by": uow.actor.name,
        "created_at": now,
        "updated_at": now,
    }
    uow.conn.execute(monitors.insert().values(**row))
    uow.audit("monitor.create", "monitor", row["id"], row)
    return monitor_from_row(SimpleNamespace(**row))


@in_current_project
def update_monitor(
    uow: UnitOfWork, name: str, changes: Mapping[str, Any], *, project_id: str = DEFAULT_PROJECT_ID
) -> Monitor:
    """Change fields of a monitor (spec field names: ``threshold``, ``window``, ``for`` ...)."""
    row = _row(uow.conn, name, project_id, lock=True)
    current = monitor_from_row(row)
    spec = {
        "name": current.name,
        "endpoint": current.endpoint,
        "metric": current.metric,
        "threshold": current.threshold,
        "comparison": current.comparison,
        "window": current.window_s,
        "schedule": current.schedule_s,
        "severity": current.severity,
        "for_": current.for_s,
        "cooldown": current.cooldown_s,
        "model_version": current.model_version,
        "route": current.route,
        "options": current.options,
        "notifiers": current.notifiers,
        "enabled": current.enabled,
        "description": current.description,
    }
    updates = dict(changes)
    if "for" in updates:
        updates["for_"] = updates.pop("for")
    if updates.get("name", name) != name:
        raise ValidationFailed("a monitor cannot be renamed; create a new one")
    spec.update(updates)
    values = MonitorSpec.from_dict(spec).validate()
    before = current.to_dict()
    uow.conn.execute(
        monitors.update().where(monitors.c.id == row.id).values(**values, updated_at=now_ms())
    )
    uow.audit("monitor.update", "monitor", row.id, {"before": before, "after": values})
    return monitor_from_row(_row(uow.conn, name, project_id))


@dataclass(frozen=True)
class AppliedMonitor:
    """What :func:`apply_monitors` did with one monitor."""

    action: str  # created | updated | unchanged
    monitor: Monitor

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "monitor": self.monitor.to_dict()}


@in_current_project
def apply_monitors(
    uow: UnitOfWork,
    specs: Iterable[MonitorSpec | Mapping[str, Any]],
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[AppliedMonitor]:
    """Create or update each monitor (declarative files), saying which it did to each."""
    out = []
    for item in specs:
        spec = _spec(item)
        values = spec.validate()
        found = uow.conn.execute(
            sa.select(monitors).where(
                monitors.c.project_id == project_id, monitors.c.name == spec.name
            )
        ).first()
        if found is None:
            out.append(AppliedMonitor("created", create_monitor(uow, spec, project_id=project_id)))
            continue
        stored = {k: getattr(found, k) for k in values}
        if stored == values:
            out.append(AppliedMonitor("unchanged", monitor_from_row(found)))
            continue
        changes = {k: getattr(spec, k) for k in MonitorSpec.__dataclass_fields__}
        updated = update_monitor(uow, spec.name, changes, project_id=project_id)
        out.append(AppliedMonitor("updated", updated))
    return out


@in_current_project
def delete_monitor(uow: UnitOfWork, name: str, *, project_id: str = DEFAULT_PROJECT_ID) -> None:
    """Delete a monitor with its checks and alert history (audited)."""
    row = _row(uow.conn, name, project_id, lock=True)
    uow.conn.execute(monitor_checks.delete().where(monitor_checks.c.monitor_id == row.id))
    uow.conn.execute(alerts.delete().where(alerts.c.monitor_id == row.id))
    uow.conn.execute(monitors.delete().where(monitors.c.id == row.id))
    uow.audit("monitor.delete", "monitor", row.id, {"name": name})


@in_current_project
def get_monitor(conn: sa.Connection, name: str, *, project_id: str = DEFAULT_PROJECT_ID) -> Monitor:
    return monitor_from_row(_row(conn, name, project_id))


@in_current_project
def list_monitors(
    conn: sa.Connection,
    *,
    endpoint: str | None = None,
    enabled_only: bool = False,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[Monitor]:
    stmt = sa.select(monitors).where(monitors.c.project_id == project_id)
    if endpoint is not None:
        stmt = stmt.where(monitors.c.endpoint == endpoint)
    if enabled_only:
        stmt = stmt.where(monitors.c.enabled.is_(True))
    return [monitor_from_row(r) for r in conn.execute(stmt.order_by(monitors.c.name))]


@in_current_project
def list_checks(
    conn: sa.Connection, name: str, *, limit: Limit = 100, project_id: str = DEFAULT_PROJECT_ID
) -> list[dict[str, Any]]:
    """The monitor's latest checks, newest first."""
    check_limit(limit)
    row = _row(conn, name, project_id)
    rows = conn.execute(
        sa.select(monitor_checks)
        .where(monitor_checks.c.monitor_id == row.id)
        .order_by(monitor_checks.c.evaluated_at.desc(), monitor_checks.c.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


@in_current_project
def list_alerts(
    conn: sa.Connection,
    *,
    monitor: str | None = None,
    endpoint: str | None = None,
    open_only: bool = False,
    limit: Limit = 100,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[Alert]:
    """Alert history, newest first; ``open_only``: pending and firing alerts.
    NotFound when ``monitor`` names no monitor (an empty list means no alerts yet)."""
    check_limit(limit)
    if monitor is not None:
        _row(conn, monitor, project_id)
    stmt = (
        sa.select(alerts, monitors.c.name.label("monitor_name"), monitors.c.endpoint)
        .join(monitors, monitors.c.id == alerts.c.monitor_id)
        .where(monitors.c.project_id == project_id)
    )
    if monitor is not None:
        stmt = stmt.where(monitors.c.name == monitor)
    if endpoint is not None:
        stmt = stmt.where(monitors.c.endpoint == endpoint)
    if open_only:
        stmt = stmt.where(alerts.c.open_key.is_not(None))
    stmt = stmt.order_by(alerts.c.started_at.desc(), alerts.c.id).limit(limit)
    return [alert_from_row(r, name=r.monitor_name, endpoint=r.endpoint) for r in conn.execute(stmt)]


def get_alert(conn: sa.Connection, alert_id: str) -> Alert:
    row = conn.execute(
        sa.select(alerts, monitors.c.name.label("monitor_name"), monitors.c.endpoint)
        .join(monitors, monitors.c.id == alerts.c.monitor_id)
        .where(alerts.c.id == alert_id, monitors.c.project_id == current_project_id())
    ).first()
    if row is None:
        raise NotFound(f"alert {alert_id!r} does not exist", details={"alert_id": alert_id})
    return alert_from_row(row, name=row.monitor_name, endpoint=row.endpoint)
