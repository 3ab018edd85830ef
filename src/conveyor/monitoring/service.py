"""Monitor services: CRUD with audit events, evaluation into checks and alerts, scheduling.

Write functions take a :class:`~conveyor.store.UnitOfWork` (audited in the same
transaction); read functions take a Connection; evaluation takes a backend (``meta``,
``artifacts``, ``actor`` — a ``LocalBackend``)::

    with backend.meta.write(backend.actor) as uow:
        create_monitor(uow, MonitorSpec(name="churn-p99", endpoint="churn",
                                        metric="latency.p99", comparison=">",
                                        threshold=250, window="15m", schedule="1m"))
    run_once(backend)                      # evaluate every due monitor now
    MonitorScheduler(backend).start()      # ... or keep doing it in a thread

Evaluating a monitor reads its window (``read_window``), computes the metric
(``compute_metric``) outside any transaction, then in one write transaction stores the
check, moves the alert (``alerts.transition``; the monitor row is locked so concurrent
evaluators of one monitor queue) and audits the alert change. Notifiers and alert hooks
run after that commit; what they did is appended to the alert's ``notifications``.
Pass ``now=`` (datetime or epoch ms) to drive time explicitly — tests and back-fills do.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.errors import Conflict, NotFound, StoreUnavailable, ValidationFailed
from conveyor.monitoring.alerts import Alert, AlertEvent, call_hooks, transition
from conveyor.monitoring.monitors import MetricResult, Monitor, MonitorSpec, compute_metric
from conveyor.monitoring.notifiers import notify
from conveyor.monitoring.tables import alerts, monitor_checks, monitors
from conveyor.monitoring.windows import Window, WindowData, read_window, reference_for
from conveyor.store import UnitOfWork

__all__ = [
    "CheckOutcome",
    "MonitorScheduler",
    "WindowReport",
    "apply_monitors",
    "create_monitor",
    "delete_monitor",
    "evaluate_monitor",
    "get_alert",
    "get_monitor",
    "list_alerts",
    "list_checks",
    "list_monitors",
    "run_once",
    "update_monitor",
    "window_report",
]

log = logging.getLogger("conveyor.monitoring.service")

DEFAULT_PROJECT_ID = "0" * 32
ProgressCallback = Callable[[int, int, str], None]


def _ms(now: datetime | int | None) -> int:
    if now is None:
        return now_ms()
    if isinstance(now, datetime):
        return Window.between(now, now).end_ms
    return int(now)


# -- records ---------------------------------------------------------------------------------
def _monitor(row: Any) -> Monitor:
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


def _alert(row: Any, monitor: Monitor | None = None, name: str = "", endpoint: str = "") -> Alert:
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
            f"monitor {name!r} does not exist; `conveyor monitor list` shows the monitors",
            details={"monitor": name},
        )
    return row


# -- CRUD ------------------------------------------------------------------------------------
def _spec(spec: MonitorSpec | Mapping[str, Any]) -> MonitorSpec:
    return spec if isinstance(spec, MonitorSpec) else MonitorSpec.from_dict(spec)


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
            "`conveyor monitor create --file monitors.yaml` (creates or updates), or "
            f"`conveyor monitor delete {values['name']}` first; or pick another name",
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
    return _monitor(SimpleNamespace(**row))


def update_monitor(
    uow: UnitOfWork, name: str, changes: Mapping[str, Any], *, project_id: str = DEFAULT_PROJECT_ID
) -> Monitor:
    """Change fields of a monitor (spec field names: ``threshold``, ``window``, ``for`` ...)."""
    row = _row(uow.conn, name, project_id, lock=True)
    current = _monitor(row)
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
    return _monitor(_row(uow.conn, name, project_id))


def apply_monitors(
    uow: UnitOfWork,
    specs: Iterable[MonitorSpec | Mapping[str, Any]],
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[tuple[str, Monitor]]:
    """Create or update each monitor (declarative files); ``[(created|updated|unchanged, m)]``."""
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
            out.append(("created", create_monitor(uow, spec, project_id=project_id)))
            continue
        stored = {k: getattr(found, k) for k in values}
        if stored == values:
            out.append(("unchanged", _monitor(found)))
            continue
        changes = {k: getattr(spec, k) for k in MonitorSpec.__dataclass_fields__}
        out.append(("updated", update_monitor(uow, spec.name, changes, project_id=project_id)))
    return out


def delete_monitor(uow: UnitOfWork, name: str, *, project_id: str = DEFAULT_PROJECT_ID) -> None:
    """Delete a monitor with its checks and alert history (audited)."""
    row = _row(uow.conn, name, project_id, lock=True)
    uow.conn.execute(monitor_checks.delete().where(monitor_checks.c.monitor_id == row.id))
    uow.conn.execute(alerts.delete().where(alerts.c.monitor_id == row.id))
    uow.conn.execute(monitors.delete().where(monitors.c.id == row.id))
    uow.audit("monitor.delete", "monitor", row.id, {"name": name})


def get_monitor(conn: sa.Connection, name: str, *, project_id: str = DEFAULT_PROJECT_ID) -> Monitor:
    return _monitor(_row(conn, name, project_id))


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
    return [_monitor(r) for r in conn.execute(stmt.order_by(monitors.c.name))]


def list_checks(
    conn: sa.Connection, name: str, *, limit: int = 100, project_id: str = DEFAULT_PROJECT_ID
) -> list[dict[str, Any]]:
    """The monitor's latest checks, newest first."""
    row = _row(conn, name, project_id)
    rows = conn.execute(
        sa.select(monitor_checks)
        .where(monitor_checks.c.monitor_id == row.id)
        .order_by(monitor_checks.c.evaluated_at.desc(), monitor_checks.c.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


def list_alerts(
    conn: sa.Connection,
    *,
    monitor: str | None = None,
    endpoint: str | None = None,
    open_only: bool = False,
    limit: int = 100,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[Alert]:
    """Alert history, newest first; ``open_only``: pending and firing alerts.
    NotFound when ``monitor`` names no monitor (an empty list means no alerts yet)."""
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
    return [_alert(r, name=r.monitor_name, endpoint=r.endpoint) for r in conn.execute(stmt)]


def get_alert(conn: sa.Connection, alert_id: str) -> Alert:
    row = conn.execute(
        sa.select(alerts, monitors.c.name.label("monitor_name"), monitors.c.endpoint)
        .join(monitors, monitors.c.id == alerts.c.monitor_id)
        .where(alerts.c.id == alert_id)
    ).first()
    if row is None:
        raise NotFound(f"alert {alert_id!r} does not exist", details={"alert_id": alert_id})
    return _alert(row, name=row.monitor_name, endpoint=row.endpoint)


# -- evaluation ------------------------------------------------------------------------------
@dataclass(slots=True)
class CheckOutcome:
    """One evaluation: the check stored, and what happened to the monitor's alert."""

    monitor: str
    check_id: str
    evaluated_at: int
    value: float | None
    status: str
    reason: str | None
    action: str
    alert: Alert | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "window": self.window,
            "check_id": self.check_id,
            "evaluated_at": self.evaluated_at,
            "value": self.value,
            "status": self.status,
            "reason": self.reason,
            "action": self.action,
            "alert": self.alert.to_dict() if self.alert else None,
            "notifications": self.notifications,
        }


class _References:
    """Reference data per (endpoint, version, model, reference) for one run."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.cache: dict[tuple[Any, ...], Any] = {}

    def loader(self, monitor: Monitor, data: WindowData) -> Callable[[], Any]:
        opts = monitor.options
        seen = data.versions()
        version = monitor.model_version or (seen[0] if seen else None)
        key = (monitor.endpoint, version, opts.get("model"), opts.get("reference"))

        def load() -> Any:
            if key not in self.cache:
                self.cache[key] = self._load(monitor, version)
            return self.cache[key]

        return load

    def _load(self, monitor: Monitor, version: str | None) -> Any:
        named = monitor.options.get("reference")
        if named:
            from conveyor.data import service as data_service

            name, _, number = str(named).partition(":")
            with self.backend.meta.read() as conn:
                dv = data_service.get_dataset_version(conn, name, number or None)
            return data_service.load_dataset_version(self.backend.artifacts, dv)
        return reference_for(
            self.backend,
            monitor.endpoint,
            model_version=version,
            model=monitor.options.get("model"),
        )


def _measure(
    monitor: Monitor,
    window: Window,
    log_uri: str | None,
    refs: _References,
) -> MetricResult:
    try:
        data = read_window(
            monitor.endpoint,
            window,
            log_uri=log_uri,
            model_version=monitor.model_version,
            route=monitor.route,
        )
        return compute_metric(
            monitor.metric, data, options=monitor.options, reference=refs.loader(monitor, data)
        )
    except Exception as exc:  # one broken monitor must not stop the others
        log.exception("monitor %s: evaluation failed", monitor.name)
        return MetricResult(None, "insufficient_data", f"evaluation failed: {exc}"[:1000])


def _message(monitor: Monitor, value: float | None, *, resolved: bool = False) -> str:
    shown = "n/a" if value is None else f"{value:.6g}"
    where = f"{monitor.metric} = {shown} on endpoint {monitor.endpoint!r}"
    if resolved:
        return f"recovered: {where} (the alert condition {monitor.condition()} no longer holds)"
    return f"{where} ({monitor.condition()})"


def _store_check(
    uow: UnitOfWork, monitor: Monitor, window: Window, result: MetricResult, now: int
) -> tuple[CheckOutcome, str | None]:
    """Store the check and the alert transition; the outcome and what to notify."""
    conn = uow.conn
    locked = conn.execute(
        sa.select(monitors.c.id).where(monitors.c.id == monitor.id).with_for_update()
    ).first()
    if locked is None:
        raise NotFound(f"monitor {monitor.name!r} was deleted", details={"monitor": monitor.name})
    status = result.status
    if status == "ok" and result.value is not None and monitor.breached(result.value):
        status = "breach"
    check_id = new_id()
    conn.execute(
        monitor_checks.insert().values(
            id=check_id,
            monitor_id=monitor.id,
            evaluated_at=now,
            window_start=window.start_ms,
            window_end=window.end_ms,
            value=result.value,
            threshold=monitor.threshold,
            status=status,
            details={"reason": result.reason, **_jsonable(result.details)},
        )
    )
    conn.execute(monitors.update().where(monitors.c.id == monitor.id).values(last_evaluated_at=now))
    open_row = conn.execute(sa.select(alerts).where(alerts.c.open_key == monitor.id)).first()
    open_alert = _alert(open_row, monitor) if open_row is not None else None
    last_fired = conn.execute(
        sa.select(sa.func.max(alerts.c.fired_at)).where(alerts.c.monitor_id == monitor.id)
    ).scalar()
    step = transition(
        open_alert,
        status,
        now,
        for_s=monitor.for_s,
        cooldown_s=monitor.cooldown_s,
        last_fired_at=last_fired,
    )
    out = CheckOutcome(
        monitor.name, check_id, now, result.value, status, result.reason, step.action,
        window=window.to_dict(),
    )  # fmt: skip
    message = _message(monitor, result.value, resolved=step.action == "resolve")
    alert_id: str | None = open_alert.id if open_alert is not None else None
    if step.action == "open":
        alert_id = new_id()
        row: dict[str, Any] = {
            "id": alert_id,
            "monitor_id": monitor.id,
            "open_key": monitor.id,
            "state": "pending",
            "severity": monitor.severity,
            "value": result.value,
            "threshold": monitor.threshold,
            "message": message,
            "started_at": now,
            "fired_at": None,
            "resolved_at": None,
            "updated_at": now,
            "notifications": [],
        }
        conn.execute(alerts.insert().values(**row))
        uow.audit("alert.open", "alert", alert_id, row, monitor=monitor.name)
    elif step.action != "none":
        values: dict[str, Any] = {"value": result.value, "updated_at": now}
        if step.action in ("fire", "resolve"):
            values["message"] = message
        if step.action == "fire":
            values.update(state="firing", fired_at=now)
        elif step.action == "resolve":
            values.update(state="resolved", resolved_at=now, open_key=None)
        if open_alert is None:  # fire on the first breach (for=0): open and fire at once
            alert_id = new_id()
            conn.execute(
                alerts.insert().values(
                    id=alert_id, monitor_id=monitor.id, open_key=monitor.id,
                    severity=monitor.severity, threshold=monitor.threshold, started_at=now,
                    resolved_at=None, notifications=[], **values,
                )
            )  # fmt: skip
        else:
            conn.execute(alerts.update().where(alerts.c.id == alert_id).values(**values))
        if step.action in ("fire", "resolve"):
            verb = "fire" if step.action == "fire" else "resolve"
            uow.audit(f"alert.{verb}", "alert", str(alert_id), values, monitor=monitor.name)
    if step.action != "none" and alert_id is not None:
        out.alert = _alert(
            conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one(), monitor
        )
    return out, step.notify


def _jsonable(details: Mapping[str, Any]) -> dict[str, Any]:
    import math

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, Mapping):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if hasattr(v, "item"):
            return clean(v.item())
        return v

    return {str(k): clean(v) for k, v in details.items()}


def _deliver(backend: Any, monitor: Monitor, out: CheckOutcome, kind: str) -> None:
    assert out.alert is not None
    event = AlertEvent(kind, out.alert, monitor.to_dict(), out.evaluated_at, out.window)
    records = notify(event, monitor.notifiers) + call_hooks(event)
    out.notifications = records
    if not records:
        return
    with backend.meta.write(backend.actor) as uow:
        row = uow.conn.execute(
            sa.select(alerts.c.notifications).where(alerts.c.id == out.alert.id).with_for_update()
        ).one()
        merged = list(row.notifications or []) + records
        uow.conn.execute(
            alerts.update().where(alerts.c.id == out.alert.id).values(notifications=merged)
        )
    out.alert.notifications = merged


def evaluate_monitor(
    backend: Any,
    monitor: Monitor | str,
    *,
    now: datetime | int | None = None,
    log_uri: str | None = None,
    _refs: _References | None = None,
) -> CheckOutcome:
    """Evaluate one monitor at ``now`` (default: the clock): store the check, move its
    alert, and notify when it fires or resolves."""
    at = _ms(now)
    if isinstance(monitor, str):
        with backend.meta.read() as conn:
            monitor = get_monitor(conn, monitor)
    window = Window(at - int(monitor.window_s * 1000), at)
    result = _measure(monitor, window, log_uri, _refs or _References(backend))
    with backend.meta.write(backend.actor) as uow:
        out, kind = _store_check(uow, monitor, window, result, at)
    if kind is not None:
        _deliver(backend, monitor, out, kind)
    return out


def run_once(
    backend: Any,
    *,
    now: datetime | int | None = None,
    endpoint: str | None = None,
    names: Iterable[str] | None = None,
    due_only: bool = True,
    log_uri: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[CheckOutcome]:
    """Evaluate the enabled monitors (of ``endpoint``, or named) that are due at ``now``
    (all of them with ``due_only=False``). ``progress(done, total, monitor)``; setting
    ``cancel`` stops after the monitor being evaluated."""
    at = _ms(now)
    with backend.meta.read() as conn:
        todo = list_monitors(conn, endpoint=endpoint, enabled_only=True)
    if names is not None:
        wanted = set(names)
        todo = [m for m in todo if m.name in wanted]
    if due_only:
        todo = [m for m in todo if m.is_due(at)]
    refs = _References(backend)
    out = []
    if progress is not None:
        progress(0, len(todo), "")
    for i, monitor in enumerate(todo, 1):
        if cancel is not None and cancel.is_set():
            break
        try:
            out.append(evaluate_monitor(backend, monitor, now=at, log_uri=log_uri, _refs=refs))
        except NotFound:  # deleted during the round
            log.info("monitor %s was deleted during the round", monitor.name)
        except StoreUnavailable:
            raise
        except Exception:
            log.exception("monitor %s: storing its check failed", monitor.name)
        if progress is not None:
            progress(i, len(todo), monitor.name)
    return out


class MonitorScheduler:
    """Evaluates due monitors in a background thread every ``interval`` seconds.

    ``start()`` / ``stop()`` (cancellable: the thread waits on an event, not a sleep);
    ``ticks`` counts finished rounds and ``last_outcomes`` holds the latest round's checks.
    A round that fails (store unreachable) is logged and retried on the next tick.
    """

    def __init__(
        self,
        backend: Any,
        *,
        interval: float = 5.0,
        endpoint: str | None = None,
        log_uri: str | None = None,
    ) -> None:
        self.backend = backend
        self.interval = float(interval)
        self.endpoint = endpoint
        self.log_uri = log_uri
        self.ticks = 0
        self.last_outcomes: list[CheckOutcome] = []
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick = threading.Condition()

    def start(self) -> MonitorScheduler:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="conveyor-monitor-scheduler", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> MonitorScheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_ticks(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` rounds have finished (True) or ``timeout`` passed."""
        with self._tick:
            return self._tick.wait_for(lambda: self.ticks >= count, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_outcomes = run_once(
                    self.backend, endpoint=self.endpoint, log_uri=self.log_uri, cancel=self._stop
                )
                self.last_error = None
            except Exception as exc:
                self.last_error = repr(exc)
                log.exception("monitor scheduler round failed")
            with self._tick:
                self.ticks += 1
                self._tick.notify_all()
            self._stop.wait(self.interval)


# -- one report over a window ----------------------------------------------------------------
@dataclass(slots=True)
class WindowReport:
    """Drift, quality, performance, business value and operational figures of one window.

    ``drift``/``quality`` are None (and ``reference_error`` says why) when no reference data
    could be found; ``business`` is None unless a value matrix or function was given.
    """

    summary: dict[str, Any]
    performance: Any
    operational: Any
    drift: Any = None
    quality: Any = None
    business: Any = None
    reference_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.summary,
            "reference_error": self.reference_error,
            "drift": self.drift.to_dict() if self.drift is not None else None,
            "quality": self.quality.to_dict() if self.quality is not None else None,
            "performance": self.performance.to_dict(),
            "business": self.business.to_dict() if self.business is not None else None,
            "operational": self.operational.to_dict(),
        }

    def to_html(self) -> str:
        """The drift report's HTML (when there is one) titled "Window report: <endpoint>",
        with compact tables appended: the window (ISO times), performance per group
        (overall, each model version, each route) and the overall calibration bins,
        operational figures, business value per group and the quality issues."""
        import html

        endpoint = str(self.summary.get("endpoint", ""))
        title = f"<title>Window report: {html.escape(endpoint)}</title>"
        extra = _HTML_STYLE + "\n".join(self._html_sections())
        if self.drift is not None:
            page = re.sub(
                r"<title>.*?</title>", lambda _: title, str(self.drift.to_html()), count=1
            )
            if "</body>" in page:
                return page.replace("</body>", f"{extra}\n</body>", 1)
            return page + extra
        note = html.escape(self.reference_error or "no reference data")
        return (
            f"<!doctype html><html><head><meta charset='utf-8'>{title}</head><body>"
            f"<h1>Window report: {html.escape(endpoint)}</h1><p>Drift: {note}</p>{extra}"
            "</body></html>"
        )

    def _html_sections(self) -> list[str]:
        s = self.summary
        window = s.get("window") or {}
        reason = f" ({s['reason']})" if s.get("reason") else ""
        sections = [
            _html_section("Window", ["field", "value"], [
                ["endpoint", s.get("endpoint")],
                ["window", f"{window.get('start')} .. {window.get('end')}"],
                ["status", f"{s.get('status')}{reason}"],
                ["rows", s.get("rows")],
                ["labelled", s.get("labelled")],
                ["label coverage", s.get("label_coverage")],
                ["model versions", ", ".join(map(str, s.get("model_versions") or []))],
                ["routes", ", ".join(map(str, s.get("routes") or []))],
            ], header=False)
        ]  # fmt: skip
        columns, rows = self.performance.table()
        sections.append(_html_section("Performance", columns, rows))
        overall = self.performance.overall.metrics
        if overall.get("proba_reason"):
            sections.append(_html_section("", ["auc, log loss, ece"], [[overall["proba_reason"]]]))
        bins = overall.get("calibration_bins") or []
        if bins:
            cal_rows = [
                [f"{b['lower']:.1f}-{b['upper']:.1f}", b["count"], b["mean_score"],
                 b["positive_rate"]]
                for b in bins if b.get("count")
            ]  # fmt: skip
            sections.append(
                _html_section(
                    "Calibration (window)", ["score", "rows", "mean score", "positive rate"],
                    cal_rows,
                )
            )  # fmt: skip
        op = self.operational
        op_rows: list[list[Any]] = [[f"latency {k} (ms)", v] for k, v in op.latency_ms.items()]
        op_rows += [
            ["requests", op.requests],
            ["requests/s", op.throughput_rps],
            ["rows/s", op.throughput_rows_per_s],
            ["fallback rate", op.fallback_rate],
            ["error rate", op.error_rate if op.error_rate is not None else op.error_source],
        ]
        if op.reason:
            op_rows.append(["reason", op.reason])
        sections.append(_html_section("Operational", ["figure", "value"], op_rows, header=False))
        if self.business is not None:
            b = self.business
            biz_rows = [
                [g.group if g.value is None else f"{g.group} {g.value}", g.labelled, g.total,
                 g.per_prediction, g.baseline_total, g.uplift, g.reason or ""]
                for g in [b.overall, *b.by_version, *b.by_route]
            ]  # fmt: skip
            cols = ["group", "labelled", "total", "per prediction", f"baseline ({b.baseline})",
                    "uplift", "reason"]  # fmt: skip
            sections.append(_html_section("Business value", cols, biz_rows))
        if self.quality is not None:
            issues = [[i.severity, i.check, i.column or "", i.message] for i in self.quality.issues]
            if issues:
                cols = ["severity", "check", "column", "message"]
                sections.append(_html_section("Data quality", cols, issues))
            else:
                sections.append(_html_section("Data quality", ["result"], [["passed"]]))
        return sections

    def save_html(self, path: str | Any) -> Any:
        from pathlib import Path

        target = Path(path)
        target.write_text(self.to_html(), encoding="utf-8")
        return target


_HTML_STYLE = (
    "<style>table.figures{border-collapse:collapse;margin:0 0 1.5em;font-size:13px}"
    "table.figures th{text-align:left;font-weight:500;color:#555;padding:2px 16px 2px 0}"
    "table.figures td{font-variant-numeric:tabular-nums;padding:2px 16px 2px 0}</style>"
)


def _html_section(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, header: bool = True
) -> str:
    """A titled table; ``header=False``: a field/value table whose first cell is a label."""
    import html

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f"<th>{html.escape(_scalar(v))}</th>" if not header and i == 0
            else f"<td>{html.escape(_scalar(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )  # fmt: skip
    heading = f"<h2>{html.escape(title)}</h2>" if title else ""
    thead = f"<tr>{head}</tr>" if head else ""
    return f"<section>{heading}<table class='figures'>{thead}{body}</table></section>"


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def window_report(
    backend: Any,
    endpoint: str,
    window: Window | str | float = "1h",
    *,
    now: datetime | int | None = None,
    log_uri: str | None = None,
    model_version: str | None = None,
    route: str | None = None,
    model: str | None = None,
    reference: Any = None,
    task: str = "auto",
    classes: Sequence[Any] | None = None,
    positive: Any = None,
    value: Any = None,
    baseline: Any = "predict_nothing",
    progress: Callable[[int, int, str], None] | None = None,
) -> WindowReport:
    """Everything about one window of ``endpoint``. ``reference``: data to compare with
    (default: the training data of the window's main model version, see ``reference_for``);
    ``classes``/``positive``: the class order of logged probabilities and the positive
    class, when they should not be inferred (see ``performance_report``)."""
    from conveyor.monitoring.business import business_value
    from conveyor.monitoring.drift import drift_report
    from conveyor.monitoring.operational import operational_report
    from conveyor.monitoring.performance import performance_report
    from conveyor.monitoring.quality import quality_report

    if not isinstance(window, Window):
        window = Window.last(window, now=_ms(now))
    data = read_window(endpoint, window, log_uri=log_uri, model_version=model_version, route=route)
    out = WindowReport(
        data.summary(),
        performance_report(data, task=task, classes=classes, positive=positive),  # type: ignore[arg-type]
        operational_report(data),
    )
    if value is not None:
        out.business = business_value(data, value, baseline=baseline)
    if data.status != "ok":
        out.reference_error = data.reason
        return out
    ref = reference
    if ref is None:
        seen = data.versions()
        try:
            ref = reference_for(
                backend, endpoint, model_version=model_version or seen[0], model=model
            )
        except Exception as exc:
            out.reference_error = f"no reference data: {exc}"
            return out
    current = data.inputs()
    ref_cols = list(getattr(ref, "column_names", None) or [str(c) for c in ref.columns])
    columns = [c for c in current.column_names if c in ref_cols]
    if not columns:
        out.reference_error = "no logged input column is in the reference data"
        return out
    out.drift = drift_report(ref, current, columns=columns, progress=progress)
    out.quality = quality_report(ref, current, columns=columns)
    return out
