"""Drift detection: per-column methods (plugins by name) and the dataset-level report.

Numeric methods: ``ks`` (default), ``wasserstein``, ``psi``.
Categorical methods: ``chisquare`` (default), ``jensenshannon``, ``psi``.
"""

from __future__ import annotations

from conveyor.monitoring.drift._base import DriftMethod, InsufficientData, Kind, Measurement
from conveyor.monitoring.drift._builtins import DEFAULT_METHODS
from conveyor.monitoring.drift._engine import ProgressCallback, drift_report
from conveyor.monitoring.drift._registry import available_methods, get_method, register_method
from conveyor.monitoring.drift._report import ColumnDrift, DriftReport, Status

__all__ = [
    "DEFAULT_METHODS",
    "ColumnDrift",
    "DriftMethod",
    "DriftReport",
    "InsufficientData",
    "Kind",
    "Measurement",
    "ProgressCallback",
    "Status",
    "available_methods",
    "drift_report",
    "get_method",
    "register_method",
]
