"""Pins the public surface of conveyor.monitoring (drift and quality)."""

from __future__ import annotations

import conveyor.monitoring as monitoring
import conveyor.monitoring.drift as drift


def test_monitoring_surface() -> None:
    assert sorted(monitoring.__all__) == [
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
    ]
    for name in monitoring.__all__:
        assert getattr(monitoring, name) is not None
    for name in drift.__all__:
        assert getattr(drift, name) is not None
