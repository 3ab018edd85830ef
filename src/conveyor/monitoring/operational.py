"""Operational figures of a window: latency percentiles, throughput, fallback and errors.

The prediction log holds one row per predicted row, and ``latency_ms`` is the latency of
the *request* the row came in. Rows of one request share ``ts``, ``model_version``,
``route`` and ``latency_ms``; a request is counted once by those four values, so a batch
request of 500 rows weighs as much as a single-row one in the latency percentiles.

Errors: the serving runtime logs only answered predictions — a request that failed (bad
input, model error) never reaches the prediction log (failures are counted by the
``/metrics`` endpoint as ``conveyor_requests_total{status!="200"}``). So ``error_rate`` is
computed from an ``error``/``status`` column when a log has one, and is None otherwise;
``fallback_rate`` (share of rows answered by the ``fallback`` route, i.e. after the primary
model failed) is always reported as the log-side proxy of model errors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.monitoring.windows import WindowData

__all__ = ["OperationalReport", "operational_report"]


@dataclass(slots=True)
class OperationalReport:
    endpoint: str
    window: dict[str, Any]
    status: str
    rows: int = 0
    requests: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    throughput_rps: float | None = None
    throughput_rows_per_s: float | None = None
    fallback_rate: float | None = None
    error_rate: float | None = None
    error_source: str = "not logged (see /metrics conveyor_requests_total)"
    by_version: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str | None = None

    def metric(self, name: str) -> float | None:
        if name.startswith("latency."):
            value = self.latency_ms.get(name.split(".", 1)[1])
        else:
            value = {
                "throughput": self.throughput_rps,
                "throughput.rps": self.throughput_rps,
                "throughput.rows": self.throughput_rows_per_s,
                "volume": float(self.rows),
                "requests": float(self.requests),
                "fallback_rate": self.fallback_rate,
                "error_rate": self.error_rate,
            }.get(name)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _requests(table: pa.Table) -> pa.Table:
    keys = [k for k in ("ts", "model_version", "route", "latency_ms") if k in table.column_names]
    return table.group_by(keys, use_threads=False).aggregate([([], "count_all")])


def _latency(latency: np.ndarray) -> dict[str, float | None]:
    if len(latency) == 0:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    p50, p95, p99 = np.percentile(latency, [50, 95, 99])
    return {
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "mean": float(latency.mean()),
        "max": float(latency.max()),
    }


def _error_rate(table: pa.Table) -> tuple[float | None, str | None]:
    if "error" in table.column_names:
        col = table.column("error")
        failed = pc.sum(pc.cast(pc.is_valid(col), pa.int64())).as_py() or 0
        return failed / table.num_rows, "error column"
    if "status" in table.column_names:
        failed = pc.sum(pc.cast(pc.not_equal(table.column("status"), 200), pa.int64())).as_py()
        return (failed or 0) / table.num_rows, "status column"
    return None, None


def operational_report(data: WindowData) -> OperationalReport:
    """Latency p50/p95/p99 (per request), throughput (requests and rows per second of
    the window), fallback share and, when logged, error rate — overall and per version."""
    rep = OperationalReport(data.endpoint, data.window.to_dict(), data.status, data.num_rows)
    if data.num_rows == 0:
        rep.reason = data.reason
        return rep
    seconds = data.window.seconds
    table = data.table
    reqs = _requests(table)
    rep.requests = reqs.num_rows
    rep.latency_ms = _latency(reqs.column("latency_ms").to_numpy(zero_copy_only=False))
    if seconds > 0:
        rep.throughput_rps = rep.requests / seconds
        rep.throughput_rows_per_s = data.num_rows / seconds
    fallback = pc.sum(pc.cast(pc.equal(table.column("route"), "fallback"), pa.int64())).as_py()
    rep.fallback_rate = (fallback or 0) / data.num_rows
    rate, source = _error_rate(table)
    if source is not None:
        rep.error_rate, rep.error_source = rate, source
    for version in data.versions():
        sub = reqs.filter(pc.equal(reqs.column("model_version"), version))
        rows = int(pc.sum(sub.column("count_all")).as_py() or 0)
        rep.by_version[version] = {
            "rows": rows,
            "requests": sub.num_rows,
            "latency_ms": _latency(sub.column("latency_ms").to_numpy(zero_copy_only=False)),
            "throughput_rps": sub.num_rows / seconds if seconds > 0 else None,
        }
    return rep
