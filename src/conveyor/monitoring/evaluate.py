"""Monitor evaluation: measure a monitor's window, store the check, move its alert, notify.

Evaluation takes a backend (``meta``, ``artifacts``, ``actor`` — a ``LocalBackend``)::

    run_once(backend)                      # evaluate every due monitor now
    evaluate_monitor(backend, "churn-p99", now=datetime(2026, 1, 1, 12))

Evaluating a monitor reads its window (``read_window``), computes the metric
(``compute_metric``) outside any transaction, then in one write transaction stores the
check, moves the alert (``alerts.transition``; the monitor row is locked so concurrent
evaluators of one monitor queue) and audits the alert change. Notifiers and alert hooks
run after that commit; what they did is appended to the alert's ``notifications``.
Pass ``now=`` (datetime or epoch ms) to drive time explicitly — tests and back-fills do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conveyor._util import new_id
from conveyor.errors import NotFound, StoreUnavailable
from conveyor.monitoring.alerts import Alert, AlertEvent, call_hooks, transition
from conveyor.monitoring.crud import alert_from_row, get_monitor, list_monitors
from conveyor.monitoring.monitors import MetricResult, Monitor, compute_metric
from conveyor.monitoring.notifiers import notify
from conveyor.monitoring.tables import alerts, monitor_checks, monitors
from conveyor.monitoring.windows import (
    Window,
    WindowData,
    instant_ms,
    read_window,
    reference_for,
)
from conveyor.store import UnitOfWork

__all__ = ["CheckOutcome", "ProgressCallback", "evaluate_monitor", "run_once"]

log = logging.getLogger("conveyor.monitoring.service")

ProgressCallback = Callable[[int, int, str], None]


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
    if monitor.metric.startswith("features."):  # freshness, train-vs-serve skew
        from conveyor.features.monitoring import feature_metric

        return feature_metric(refs.backend, monitor, window, log_uri)
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
    open_alert = alert_from_row(open_row, monitor) if open_row is not None else None
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
        out.alert = alert_from_row(
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
    at = instant_ms(now)
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
    at = instant_ms(now)
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
