"""Alert lifecycle and the alert hook.

Lifecycle of an alert (one *open* alert per monitor at most — pending or firing)::

    breach, no open alert ──► pending ──(breach held for `for`, cooldown over)──► firing
                                 │                                                 │
                                 └──(ok)──► resolved (never fired, no notification) │
                                                         resolved ◄──(ok)──────────┘

* ``for`` (``for_s``): the condition must hold that long, from the first breaching check,
  before the alert fires; ``for=0`` fires on the first breach.
* ``cooldown`` (``cooldown_s``): after a firing, the same monitor does not fire again until
  that long after the previous firing; a breach meanwhile stays pending.
* ``insufficient_data`` checks change nothing: no firing, no resolving.

:func:`transition` is the whole state machine as a pure function of the open alert, the
last firing time and the new check; the service stores its result.

Hook: ``on_alert(callback)`` registers ``callback(event: AlertEvent)``, called after an
alert fires or resolves (after the notifiers, outside the database transaction); a hook
that raises is logged and recorded on the alert, never breaks the evaluator. Packages
can register hooks without import side effects through the entry-point group
``conveyor.alert_hooks`` (``name = "package.module:callback"``). The retraining trigger
subscribes here::

    from conveyor.monitoring.alerts import on_alert

    @on_alert
    def retrain(event):
        if event.kind == "firing" and event.monitor["metric"].startswith("drift."):
            start_pipeline("retrain-churn", reason=event.alert.id)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from conveyor._util import to_iso

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertHook",
    "Transition",
    "alert_hooks",
    "call_hooks",
    "on_alert",
    "remove_alert_hook",
    "transition",
]

log = logging.getLogger("conveyor.monitoring.alerts")

AlertState = Literal["pending", "firing", "resolved"]
ENTRY_POINT_GROUP = "conveyor.alert_hooks"


@dataclass(slots=True)
class Alert:
    """One alert of a monitor; ``notifications`` lists every notifier/hook attempt."""

    id: str
    monitor_id: str
    monitor: str
    endpoint: str
    state: str
    severity: str
    value: float | None
    threshold: float
    message: str
    started_at: int
    fired_at: int | None
    resolved_at: int | None
    updated_at: int
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.state in ("pending", "firing")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started_at", "fired_at", "resolved_at"):
            out[key + "_iso"] = to_iso(out[key]) if out[key] is not None else None
        return out


@dataclass(slots=True)
class AlertEvent:
    """What notifiers and hooks receive: ``kind`` is ``"firing"`` or ``"resolved"``;
    ``window``: the evaluated window (``start``/``end`` ISO text and epoch ms), when known."""

    kind: str
    alert: Alert
    monitor: dict[str, Any]
    created: int
    window: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"alert.{self.kind}"

    def summary(self) -> str:
        m = self.monitor
        value = "n/a" if self.alert.value is None else f"{self.alert.value:.4g}"
        head = "FIRING" if self.kind == "firing" else "RESOLVED"
        return (
            f"[{head}] [{self.alert.severity}] monitor {m['name']!r} on endpoint "
            f"{m['endpoint']!r}: {m['metric']} = {value} "
            f"(alert when {m['comparison']} {m['threshold']:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "kind": self.kind,
            "summary": self.summary(),
            "created": self.created,
            "created_iso": to_iso(self.created),
            "alert": self.alert.to_dict(),
            "window": self.window,
            "monitor": {
                k: self.monitor[k]
                for k in (
                    "id",
                    "name",
                    "endpoint",
                    "metric",
                    "comparison",
                    "threshold",
                    "severity",
                    "window_s",
                    "model_version",
                    "route",
                )
                if k in self.monitor
            },
        }


@dataclass(slots=True)
class Transition:
    """What to store after a check: ``action`` is one of ``none``, ``open`` (new pending
    alert), ``fire``, ``resolve``, ``update`` (value of a still-open alert)."""

    action: str
    state: AlertState | None = None
    notify: str | None = None  # "firing" / "resolved" when notifiers and hooks must run


def transition(
    open_alert: Alert | None,
    status: str,
    now_ms: int,
    *,
    for_s: float,
    cooldown_s: float,
    last_fired_at: int | None,
) -> Transition:
    """The next alert state given a check ``status`` (``ok``/``breach``/``insufficient_data``)."""
    if status == "insufficient_data":
        return Transition("none")
    if status == "ok":
        if open_alert is None:
            return Transition("none")
        notify = "resolved" if open_alert.state == "firing" else None
        return Transition("resolve", "resolved", notify)
    started = open_alert.started_at if open_alert is not None else now_ms
    held = now_ms - started >= for_s * 1000
    cooled = last_fired_at is None or now_ms - last_fired_at >= cooldown_s * 1000
    if open_alert is not None and open_alert.state == "firing":
        return Transition("update", "firing")
    if held and cooled:
        return Transition("fire", "firing", "firing")
    if open_alert is None:
        return Transition("open", "pending")
    return Transition("update", "pending")


# -- hooks -----------------------------------------------------------------------------------
AlertHook = Callable[[AlertEvent], Any]

_hooks: list[AlertHook] = []
_lock = threading.Lock()
_entry_points_loaded = False


def on_alert(callback: AlertHook) -> AlertHook:
    """Register ``callback(event)`` for every alert that fires or resolves (a decorator)."""
    with _lock:
        if callback not in _hooks:
            _hooks.append(callback)
    return callback


def remove_alert_hook(callback: AlertHook) -> None:
    with _lock:
        if callback in _hooks:
            _hooks.remove(callback)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            on_alert(ep.load())
        except Exception:
            log.exception("cannot load alert hook %s (%s)", ep.name, ep.value)


def alert_hooks() -> list[AlertHook]:
    """The registered hooks (entry points loaded on first use)."""
    _load_entry_points()
    with _lock:
        return list(_hooks)


def call_hooks(event: AlertEvent) -> list[dict[str, Any]]:
    """Call every hook; a failure is logged and returned as a record, never raised."""
    records = []
    for hook in alert_hooks():
        name = getattr(hook, "__qualname__", repr(hook))
        try:
            hook(event)
        except Exception as exc:
            log.exception("alert hook %s failed on %s", name, event.name)
            records.append(
                {"hook": name, "event": event.kind, "ok": False, "error": repr(exc)[:500]}
            )
    return records
