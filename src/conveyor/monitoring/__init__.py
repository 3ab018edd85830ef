"""Monitoring: data drift and data quality of a current window against a reference.

::

    from conveyor.monitoring import drift_report, quality_report

    report = drift_report(reference_df, "current.parquet")
    print(report.verdict())
    report.save_html("drift.html")

See docs/monitoring.md for the methods, their defaults and the reasoning behind them.
"""

from __future__ import annotations

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
]
