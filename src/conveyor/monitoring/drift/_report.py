"""Drift report value objects: per-column results and the dataset-level verdict."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

__all__ = ["ColumnDrift", "DriftReport", "Status"]

Status = Literal["ok", "drifted", "insufficient_data"]


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(slots=True)
class ColumnDrift:
    """The drift result of one column.

    ``status`` is ``"ok"``, ``"drifted"`` or ``"insufficient_data"`` (then ``reason`` says
    why and ``drifted`` is False). ``threshold`` is the value the verdict compared with:
    for p-value methods the Bonferroni-adjusted alpha (compare ``p_value``), for distance
    methods the distance threshold (compare ``distance``). ``plot`` holds binned
    proportions of both windows for charts.
    """

    column: str
    kind: str
    method: str | None
    status: Status
    drifted: bool = False
    statistic: float | None = None
    p_value: float | None = None
    distance: float | None = None
    distance_label: str | None = None
    threshold: float | None = None
    min_effect: float | None = None
    reason: str | None = None
    reference_rows: int = 0
    current_rows: int = 0
    reference_count: int = 0
    current_count: int = 0
    reference_null_rate: float | None = None
    current_null_rate: float | None = None
    reference_type: str | None = None
    current_type: str | None = None
    unseen_categories: list[dict[str, Any]] = field(default_factory=list)
    unseen_share: float | None = None
    weight: float = 1.0
    plot: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


@dataclass(slots=True)
class DriftReport:
    """Drift of every analysed column and the dataset-level verdict.

    ``share_drifted`` is the (importance-weighted, if weights were given) share of
    evaluated columns that drifted; the dataset drifted when it is ``>= threshold``.
    ``status`` is ``"insufficient_data"`` when no column could be evaluated.
    """

    columns: list[ColumnDrift]
    share_drifted: float
    drifted: bool
    threshold: float
    status: Status
    alpha: float
    correction: str
    n_p_value_tests: int
    weighted: bool
    reference_rows: int
    current_rows: int
    elapsed_seconds: float
    created: str
    reason: str | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def n_evaluated(self) -> int:
        return sum(c.status != "insufficient_data" for c in self.columns)

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)

    def verdict(self) -> str:
        """One line a person reads first."""
        if self.status == "insufficient_data":
            return f"Not enough data to judge drift: {self.reason}"
        n_drift = len(self.drifted_columns)
        word = "DRIFT DETECTED" if self.drifted else "No dataset drift"
        return (
            f"{word}: {n_drift} of {self.n_evaluated} columns drifted "
            f"({self.share_drifted:.0%}{' weighted' if self.weighted else ''}; "
            f"dataset threshold {self.threshold:.0%})"
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "threshold": self.threshold,
            "verdict": self.verdict(),
            "reason": self.reason,
            "n_evaluated": self.n_evaluated,
            "n_drifted": len(self.drifted_columns),
            "drifted_columns": self.drifted_columns,
            "alpha": self.alpha,
            "correction": self.correction,
            "n_p_value_tests": self.n_p_value_tests,
            "weighted": self.weighted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "elapsed_seconds": self.elapsed_seconds,
            "created": self.created,
            "columns": [c.to_dict() for c in self.columns],
        }
        return _clean(out)

    def to_json(self, *, indent: bool = False) -> str:
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=option).decode()

    def to_html(self) -> str:
        from conveyor.monitoring.drift._html import render_html

        return render_html(self)

    def save_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML report (inline CSS and SVG; opens offline)."""
        target = Path(path)
        target.write_text(self.to_html(), encoding="utf-8")
        return target
