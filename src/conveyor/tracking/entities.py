"""Tracking records returned by services, the SDK and the API (MLflow-mappable)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "RUN_STATUSES",
    "Experiment",
    "MetricPoint",
    "Run",
    "RunData",
    "RunInfo",
    "decode_float",
    "encode_float",
]

#: Run lifecycle states (the same names MLflow uses).
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


def encode_float(value: float | None) -> float | str | None:
    """JSON-safe float: NaN and ±inf travel as the strings 'NaN', 'Infinity', '-Infinity'."""
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: Any) -> float:
    """Inverse of ``encode_float``; NULL from the store means NaN."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return float(value.replace("Infinity", "inf"))
    return float(value)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: str
    name: str
    description: str
    tags: dict[str, str]
    lifecycle: str
    created_at: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MetricPoint:
    """One logged metric value."""

    key: str
    value: float
    step: int
    timestamp: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": encode_float(self.value),
            "step": self.step,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True)
class RunInfo:
    """A run's identity and lifecycle under MLflow's names (``run.info.run_id`` ...)."""

    run_id: str
    run_uuid: str
    experiment_id: str
    run_name: str
    status: str
    user_id: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str


@dataclass(frozen=True)
class RunData:
    """What a run logged under MLflow's names (``run.data.metrics`` ...); metrics are the
    latest values."""

    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


@dataclass
class Run:
    """One training or evaluation execution with what it logged.

    ``metrics`` holds each metric's latest value (highest step, then latest time);
    the full history comes from ``get_metric_history``.
    """

    id: str
    experiment_id: str
    name: str
    status: str
    user: str
    start_time: int
    end_time: int | None
    parent_run_id: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.id

    @property
    def info(self) -> RunInfo:
        """MLflow's ``run.info`` view of this run."""
        return RunInfo(
            run_id=self.id,
            run_uuid=self.id,
            experiment_id=self.experiment_id,
            run_name=self.name,
            status=self.status,
            user_id=self.user,
            start_time=self.start_time,
            end_time=self.end_time,
            lifecycle_stage="active",
            artifact_uri=f"runs:/{self.id}",
        )

    @property
    def data(self) -> RunData:
        """MLflow's ``run.data`` view: latest metrics, params and tags."""
        return RunData(metrics=dict(self.metrics), params=dict(self.params), tags=dict(self.tags))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (non-finite metrics encoded). Built by hand: ``asdict``'s
        recursive deep copy was half the cost of a large search answer."""
        return {
            "id": self.id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": self.status,
            "user": self.user,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_run_id": self.parent_run_id,
            "source": self.source,
            "params": dict(self.params),
            "metrics": {k: encode_float(v) for k, v in self.metrics.items()},
            "tags": dict(self.tags),
            "inputs": [dict(i) for i in self.inputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        data = dict(data)
        data["metrics"] = {k: decode_float(v) for k, v in data.get("metrics", {}).items()}
        return cls(**data)
