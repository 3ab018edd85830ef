"""Monitoring: data drift and data quality of a current window against a reference.

::

    from conveyor.monitoring import drift_report, quality_report

    report = drift_report(reference_df, "current.parquet")
    print(report.verdict())
    report.save_html("drift.html")

See docs/monitoring.md for the methods, their defaults and the reasoning behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import lazy_getattr

# Every name loads on first use: the CLI and the serving runtime import submodules of this
# package without paying for scipy, DuckDB or the metadata store they do not need.
_DRIFT = "conveyor.monitoring.drift"
_QUALITY = "conveyor.monitoring.quality"
_LAZY = {
    "CategoricalSample": "conveyor.monitoring._columns",
    "NumericSample": "conveyor.monitoring._columns",
    **dict.fromkeys(
        [
            "ColumnDrift",
            "DriftMethod",
            "DriftReport",
            "InsufficientData",
            "Measurement",
            "ProgressCallback",
            "available_methods",
            "drift_report",
            "get_method",
            "register_method",
        ],
        _DRIFT,
    ),
    **dict.fromkeys(["ColumnQuality", "QualityIssue", "QualityReport", "quality_report"], _QUALITY),
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
    "MonitorScheduler": "conveyor.monitoring.scheduler",
    "run_once": "conveyor.monitoring.evaluate",
    "window_report": "conveyor.monitoring.report",
    "Window": "conveyor.monitoring.windows",
    "read_window": "conveyor.monitoring.windows",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from conveyor.monitoring._columns import CategoricalSample, NumericSample
    from conveyor.monitoring.alerts import Alert, AlertEvent, on_alert, remove_alert_hook
    from conveyor.monitoring.business import ValueMatrix, business_value
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
    from conveyor.monitoring.evaluate import run_once
    from conveyor.monitoring.monitors import MonitorSpec
    from conveyor.monitoring.notifiers import register_notifier
    from conveyor.monitoring.operational import operational_report
    from conveyor.monitoring.performance import performance_report
    from conveyor.monitoring.quality import (
        ColumnQuality,
        QualityIssue,
        QualityReport,
        quality_report,
    )
    from conveyor.monitoring.report import window_report
    from conveyor.monitoring.scheduler import MonitorScheduler
    from conveyor.monitoring.windows import Window, read_window

__all__ = [
    "Alert",
    "AlertEvent",
    "CategoricalSample",
    "ColumnDrift",
    "ColumnQuality",
    "DriftMethod",
    "DriftReport",
    "InsufficientData",
    "Measurement",
    "MonitorScheduler",
    "MonitorSpec",
    "NumericSample",
    "ProgressCallback",
    "QualityIssue",
    "QualityReport",
    "ValueMatrix",
    "Window",
    "available_methods",
    "business_value",
    "drift_report",
    "get_method",
    "on_alert",
    "operational_report",
    "performance_report",
    "quality_report",
    "read_window",
    "register_method",
    "register_notifier",
    "remove_alert_hook",
    "run_once",
    "window_report",
]
