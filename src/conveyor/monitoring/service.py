"""Monitor services in one namespace: CRUD (:mod:`~conveyor.monitoring.crud`), evaluation
(:mod:`~conveyor.monitoring.evaluate`), the scheduler (:mod:`~conveyor.monitoring.scheduler`)
and the window report (:mod:`~conveyor.monitoring.report`)::

    from conveyor.monitoring import service

    with backend.meta.write(backend.actor) as uow:
        service.create_monitor(uow, MonitorSpec(name="churn-p99", endpoint="churn",
                                                metric="latency.p99", comparison=">",
                                                threshold=250, window="15m", schedule="1m"))
    service.run_once(backend)                      # evaluate every due monitor now
    service.MonitorScheduler(backend).start()      # ... or keep doing it in a thread
"""

from __future__ import annotations

from conveyor.monitoring.crud import (
    DEFAULT_PROJECT_ID,
    AppliedMonitor,
    apply_monitors,
    create_monitor,
    delete_monitor,
    get_alert,
    get_monitor,
    list_alerts,
    list_checks,
    list_monitors,
    update_monitor,
)
from conveyor.monitoring.evaluate import CheckOutcome, ProgressCallback, evaluate_monitor, run_once
from conveyor.monitoring.report import WindowReport, window_report
from conveyor.monitoring.scheduler import MonitorScheduler

__all__ = [
    "DEFAULT_PROJECT_ID",
    "AppliedMonitor",
    "CheckOutcome",
    "MonitorScheduler",
    "ProgressCallback",
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
