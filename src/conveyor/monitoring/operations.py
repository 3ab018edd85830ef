"""Monitoring as declared operations (``conveyor.client.Client``): evaluating monitors and
the window report, with arguments and results that travel as JSON.

CRUD, checks and alerts are declared on :mod:`~conveyor.monitoring.crud` directly; these
two wrap the evaluation and the report, which take callbacks and richer objects in
process, so that a server can run them for a client (``CONVEYOR_URI``).
"""

from __future__ import annotations

from typing import Any

from conveyor._schema import Duration, EndpointName
from conveyor.monitoring.evaluate import CheckOutcome, run_once
from conveyor.monitoring.report import window_report
from conveyor.store.stores import Stores

__all__ = ["monitor_report", "run_monitors"]


def run_monitors(
    stores: Stores,
    *,
    endpoint: str | None = None,
    names: list[str] | None = None,
    due_only: bool = True,
    log_uri: str | None = None,
) -> list[CheckOutcome]:
    """Evaluate the enabled monitors (of ``endpoint``, or ``names``) that are due now
    (every one with ``due_only=False``); each check and alert change is stored."""
    return run_once(stores, endpoint=endpoint, names=names, due_only=due_only, log_uri=log_uri)


def monitor_report(
    stores: Stores,
    endpoint: EndpointName,
    window: Duration = "1h",
    *,
    log_uri: str | None = None,
    model_version: str | None = None,
    route: str | None = None,
    model: str | None = None,
    task: str = "auto",
    classes: list[Any] | None = None,
    positive: Any = None,
    value: dict[str, Any] | None = None,
    html: bool = False,
) -> dict[str, Any]:
    """Drift, quality, performance, business value and operational figures of the last
    ``window`` of ``endpoint`` (``WindowReport.to_dict()``; with ``html``, its HTML page
    under ``"html"``). ``value``: a business value matrix ``{"tp", "tn", "fp", "fn"}``."""
    matrix = None
    if value is not None:
        from conveyor.monitoring.business import ValueMatrix

        matrix = ValueMatrix.from_dict(value, what="value")
    rep = window_report(
        stores,
        endpoint,
        window,
        log_uri=log_uri,
        model_version=model_version,
        route=route,
        model=model,
        task=task,
        classes=classes,
        positive=positive,
        value=matrix,
    )
    out = rep.to_dict()
    if html:
        out["html"] = rep.to_html()
    return out
