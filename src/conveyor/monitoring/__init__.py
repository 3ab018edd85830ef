"""Monitoring: data drift and data quality of a current window against a reference.

::

    from conveyor.monitoring import drift_report, quality_report

    report = drift_report(reference_df, "current.parquet")
    print(report.verdict())
    report.save_html("drift.html")

See docs/monitoring.md for the methods, their defaults and the reasoning behind them.
"""

from __future__ import annotations

from conveyor._lazy import lazy_getattr
from conveyor.monitoring._columns import CategoricalSample, NumericSample
from conveyor.monitoring.drift import (
    ColumnDrift,
    DriftMethod,
    DriftReport,
    InsufficientData,
    Measurement,
    ProgressCallback,
    available_methods,
    drift_report,
    get_method,
    register_method,
)
from conveyor.monitoring.quality import ColumnQuality, QualityIssue, QualityReport, quality_report

# The monitoring loop (store, DuckDB windows, notifiers) loads on first use, so a process
# that only computes drift does not import the metadata store.
_LOOP = {
    "Alert": "conveyor.monitoring.alerts",
    "AlertEvent": "conveyor.monitoring.alerts",
    "on_alert": "conveyor.monitoring.alerts",
    "remove_alert_hook": "conveyor.monitoring.alerts",
    "ValueMatrix": "conveyor.monitoring.business",
    "business_value": "conveyor.monitoring.business",
    "MonitorSpec": "conveyor.monitoring.monitors",
    "register_notifier": "conveyor.monitoring.notifiers",
    "operational_report": "conveyor.monitoring.operational",
    "performance_report": "conveyor.monitoring.performance",
    "MonitorScheduler": "conveyor.monitoring.service",
    "run_once": "conveyor.monitoring.service",
    "window_report": "conveyor.monitoring.service",
    "Window": "conveyor.monitoring.windows",
    "read_window": "conveyor.monitoring.windows",
}
__getattr__ = lazy_getattr(__name__, _LOOP)

__all__ = [
    "CategoricalSample",
    "ColumnDrift",
    "ColumnQuality",
    "DriftMethod",
    "DriftReport",
    "InsufficientData",
    "Measurement",
    "NumericSample",
    "ProgressCallback",
    "QualityIssue",
    "QualityReport",
    "available_methods",
    "drift_report",
    "get_method",
    "quality_report",
    "register_method",
    *_LOOP,
]
