"""Notifiers: where alert events go. Plugins by name, built-ins on the same registry.

A monitor lists its notifiers as mappings with a ``type`` and that notifier's options::

    [{"type": "log"},
     {"type": "webhook", "url": "https://ops.example/hook", "timeout": 5, "retries": 3,
      "backoff": 0.5, "headers": {"Authorization": "Bearer ..."}},
     {"type": "slack", "url": "https://hooks.slack.com/services/..."}]

* ``log`` — one log record (logger ``conveyor.monitoring.alerts``; WARNING when firing).
* ``webhook`` — POST of the event as JSON (:meth:`AlertEvent.to_dict`) with httpx:
  ``timeout`` seconds per attempt, ``retries`` extra attempts on connection errors and
  5xx/429 answers, sleeping ``backoff * 2**attempt`` seconds between them.
* ``slack`` — the same transport with a Slack-compatible body ``{"text", "blocks"}``.

A notifier is a callable ``notifier(event, **options)`` that raises on failure. Register
your own with :func:`register_notifier` or the entry-point group ``conveyor.notifiers``
(``name = "package.module:callable"``). :func:`notify` runs a monitor's notifiers and
returns one record per notifier (``ok``, ``attempts``, ``error``); it never raises, so a
failing notifier is recorded on the alert and never stops the evaluator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conveyor._util import now_ms
from conveyor.errors import ValidationFailed
from conveyor.monitoring.alerts import AlertEvent

__all__ = [
    "NotifierError",
    "available_notifiers",
    "get_notifier",
    "notify",
    "register_notifier",
    "slack_payload",
]

log = logging.getLogger("conveyor.monitoring.alerts")

ENTRY_POINT_GROUP = "conveyor.notifiers"
Notifier = Callable[..., Any]


class NotifierError(Exception):
    """A notifier gave up; ``attempts`` says how often it tried."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


def log_notifier(event: AlertEvent, *, level: str | None = None) -> int:
    chosen = level or ("warning" if event.kind == "firing" else "info")
    log.log(
        logging.getLevelName(chosen.upper()),
        event.summary(),
        extra={"alert_id": event.alert.id, "monitor": event.monitor.get("name")},
    )
    return 1


def _post(
    url: str,
    body: Any,
    *,
    timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.5,
    headers: Mapping[str, str] | None = None,
) -> int:
    """POST JSON; the number of attempts on success, NotifierError after the last one."""
    import httpx

    attempts = 0
    last = ""
    with httpx.Client(timeout=timeout, headers=dict(headers or {})) as client:
        for attempt in range(max(0, int(retries)) + 1):
            attempts += 1
            try:
                response = client.post(url, json=body)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return attempts
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code < 500 and response.status_code != 429:
                    break  # a client error does not get better by retrying
            if attempt < retries and backoff > 0:
                time.sleep(backoff * 2**attempt)
    raise NotifierError(f"POST {url} failed after {attempts} attempt(s): {last}", attempts)


def webhook_notifier(event: AlertEvent, *, url: str, **options: Any) -> int:
    return _post(url, event.to_dict(), **options)


def slack_payload(event: AlertEvent) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (fallback) and ``blocks``."""
    m = event.monitor
    a = event.alert
    emoji = ":rotating_light:" if event.kind == "firing" else ":white_check_mark:"
    value = "n/a" if a.value is None else f"{a.value:.4g}"
    fields = [
        {"type": "mrkdwn", "text": f"*Endpoint*\n{m['endpoint']}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{a.severity}"},
        {"type": "mrkdwn", "text": f"*Metric*\n{m['metric']} = {value}"},
        {"type": "mrkdwn", "text": f"*Condition*\n{m['comparison']} {m['threshold']:g}"},
    ]
    return {
        "text": event.summary(),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{event.kind.upper()}: {m['name']}"},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {event.summary()}"}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"alert {a.id}"}]},
        ],
    }


def slack_notifier(event: AlertEvent, *, url: str, **options: Any) -> int:
    return _post(url, slack_payload(event), **options)


_registry: dict[str, Notifier] = {
    "log": log_notifier,
    "webhook": webhook_notifier,
    "slack": slack_notifier,
}
_lock = threading.Lock()
_entry_points_loaded = False


def register_notifier(name: str, notifier: Notifier, *, replace: bool = False) -> None:
    """Make ``notifier(event, **options)`` available as ``{"type": name, ...}``."""
    with _lock:
        if name in _registry and not replace and _registry[name] is not notifier:
            raise ValidationFailed(f"a notifier named {name!r} exists; pass replace=True")
        _registry[name] = notifier


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _registry:
            continue
        try:
            register_notifier(ep.name, ep.load())
        except Exception:
            log.exception("cannot load notifier %s (%s)", ep.name, ep.value)


def available_notifiers() -> list[str]:
    _load_entry_points()
    return sorted(_registry)


def get_notifier(name: str) -> Notifier:
    _load_entry_points()
    try:
        return _registry[name]
    except KeyError:
        raise ValidationFailed(
            f"unknown notifier {name!r}; available: {', '.join(sorted(_registry))}"
        ) from None


def notify(event: AlertEvent, configs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Run each configured notifier; one record per notifier, failures included."""
    records = []
    for config in configs:
        options = dict(config)
        kind = str(options.pop("type", "?"))
        record: dict[str, Any] = {"notifier": kind, "event": event.kind, "at": now_ms()}
        try:
            result = get_notifier(kind)(event, **options)
            record.update(ok=True, attempts=result if isinstance(result, int) else 1)
        except NotifierError as exc:
            record.update(ok=False, attempts=exc.attempts, error=str(exc)[:500])
            log.warning("notifier %s failed for alert %s: %s", kind, event.alert.id, exc)
        except Exception as exc:
            record.update(ok=False, attempts=1, error=f"{type(exc).__name__}: {exc}"[:500])
            log.warning("notifier %s failed for alert %s: %r", kind, event.alert.id, exc)
        records.append(record)
    return records
