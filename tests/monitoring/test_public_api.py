"""Pins the public surface of conveyor.monitoring (drift, quality and the loop)."""

from __future__ import annotations

import conveyor.monitoring as monitoring
import conveyor.monitoring.drift as drift


def test_monitoring_surface() -> None:
    assert sorted(monitoring.__all__) == [
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
    for name in monitoring.__all__:
        assert getattr(monitoring, name) is not None
    for name in drift.__all__:
        assert getattr(drift, name) is not None
