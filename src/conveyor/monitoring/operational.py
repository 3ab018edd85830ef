"""Operational figures of a window: latency percentiles, throughput, fallback and errors.

The prediction log holds one row per predicted row, and ``latency_ms`` is the latency of
the *request* the row came in. Rows of one request share ``ts``, ``model_version``,
``route`` and ``latency_ms``; a request is counted once by those four values, so a batch
request of 500 rows weighs as much as a single-row one in the latency percentiles.

Errors: the serving runtime logs each request it answers with an error (after the
endpoint is known) as one row with the HTTP ``status`` and a short ``error`` message;
``conveyor.monitoring.windows.read_window`` hands those rows over as
``WindowData.failures``. Rates are per request, like Prometheus' ``rate(requests{code=~
"5.."}) / rate(requests)``; the denominator is every logged request of the window, answered
or failed:

- ``error_rate``: requests answered 5xx — the model raised (and no fallback answered),
  missed its deadline, the feature lookup failed, an internal error — the server's
  failures, what an SLO counts;
- ``client_error_rate``: requests answered 4xx — malformed JSON, wrong input shape or
  types, a missing feature value, an unknown version, a body over the limit: the caller's
  input was refused. Requests refused for credentials (401/403) are never logged.

A log written before the ``status`` column existed records no failures: both rates are
then None and ``error_source`` says "not logged" (``/metrics`` still counts failures as
``conveyor_requests_total{status!="200"}``). ``fallback_rate`` (share of rows answered by
the ``fallback`` route, i.e. after the primary model failed) is a signal of its own: those
requests were answered (status 200), so they are not errors here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.monitoring.windows import WindowData

__all__ = ["OperationalReport", "operational_report"]

_LOGGED = "prediction log (status of each failed request)"
_NOT_LOGGED = "not logged (see /metrics conveyor_requests_total)"


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
    client_error_rate: float | None = None
    failed_requests: int = 0
    error_source: str = _NOT_LOGGED
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
                "client_error_rate": self.client_error_rate,
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


def _count(table: pa.Table, mask: pa.ChunkedArray) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0) if table.num_rows else 0


def _failures(failures: pa.Table) -> tuple[int, int]:
    """``(5xx, 4xx)`` requests of a failures table."""
    status = failures.column("status")
    server = _count(failures, pc.greater_equal(status, 500))
    return server, failures.num_rows - server


def _rates(answered: int, failures: pa.Table | None) -> tuple[float | None, float | None]:
    """``(error_rate, client_error_rate)`` over every logged request; None when the log
    records no failures or the window has no request."""
    if failures is None or answered + failures.num_rows == 0:
        return None, None
    server, client = _failures(failures)
    total = answered + failures.num_rows
    return server / total, client / total


def operational_report(data: WindowData) -> OperationalReport:
    """Latency p50/p95/p99 (per request), throughput (requests and rows per second of
    the window), fallback share and, when logged, error rates — overall and per version."""
    rep = OperationalReport(data.endpoint, data.window.to_dict(), data.status, data.num_rows)
    failures = data.failures
    if failures is not None:
        rep.error_source = _LOGGED
        rep.failed_requests = failures.num_rows
    if data.num_rows == 0:
        rep.reason = data.reason
        rep.error_rate, rep.client_error_rate = _rates(0, failures)
        return rep
    seconds = data.window.seconds
    table = data.table
    reqs = _requests(table)
    rep.requests = reqs.num_rows
    rep.latency_ms = _latency(reqs.column("latency_ms").to_numpy(zero_copy_only=False))
    if seconds > 0:
        rep.throughput_rps = rep.requests / seconds
        rep.throughput_rows_per_s = data.num_rows / seconds
    fallback = _count(table, pc.equal(table.column("route"), "fallback"))
    rep.fallback_rate = fallback / data.num_rows
    rep.error_rate, rep.client_error_rate = _rates(rep.requests, failures)
    for version in data.versions():
        sub = reqs.filter(pc.equal(reqs.column("model_version"), version))
        rows = int(pc.sum(sub.column("count_all")).as_py() or 0)
        failed = None
        if failures is not None:
            failed = failures.filter(pc.equal(failures.column("model_version"), version))
        rate, client_rate = _rates(sub.num_rows, failed)
        rep.by_version[version] = {
            "rows": rows,
            "requests": sub.num_rows,
            "latency_ms": _latency(sub.column("latency_ms").to_numpy(zero_copy_only=False)),
            "throughput_rps": sub.num_rows / seconds if seconds > 0 else None,
            "failed_requests": None if failed is None else failed.num_rows,
            "error_rate": rate,
            "client_error_rate": client_rate,
        }
    return rep
