"""An endpoint's traffic over time and a sample of its prediction log (the endpoint page).

Both read the window with :func:`~conveyor.monitoring.windows.read_window` (DuckDB over
the server's prediction log, ``prediction_log_uri``): :func:`endpoint_traffic` cuts it
into equal time buckets and gives each the figures of
:func:`~conveyor.monitoring.operational.operational_report` (requests, rows, latency
percentiles per request, fallback share, error rates when logged) as parallel columns,
ready to chart; :func:`sample_predictions` returns the newest rows as records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor._schema import Duration, EndpointName, Rule, check_limit
from conveyor.monitoring.operational import operational_report
from conveyor.monitoring.windows import Window, WindowData, read_window, require_endpoint
from conveyor.store.stores import Stores

__all__ = ["EndpointTraffic", "PredictionSample", "endpoint_traffic", "sample_predictions"]

MAX_BUCKETS = 1000
MAX_SAMPLE = 500
Buckets = Annotated[int, Rule({"minimum": 1, "maximum": MAX_BUCKETS})]
SampleSize = Annotated[int, Rule({"minimum": 1, "maximum": MAX_SAMPLE})]


@dataclass
class EndpointTraffic:
    """Operational figures of an endpoint per time bucket, as columns (one entry per bucket).

    ``starts``: each bucket's start (epoch ms; buckets are ``bucket_ms`` long);
    ``latency_p50`` ... are per request, None for a bucket without traffic;
    ``failed_requests`` counts the bucket's failed requests, ``error_rate`` (5xx) and
    ``client_error_rate`` (4xx) are shares of its requests, answered or failed (None for a
    bucket without requests, and throughout when the log records no failures:
    ``error_source``; see ``conveyor.monitoring.operational``).
    ``summary``: the whole window's ``OperationalReport``.
    """

    endpoint: str
    window: dict[str, Any]
    bucket_ms: int
    status: str
    reason: str | None = None
    starts: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    latency_p50: list[float | None] = field(default_factory=list)
    latency_p95: list[float | None] = field(default_factory=list)
    latency_p99: list[float | None] = field(default_factory=list)
    fallback_rate: list[float | None] = field(default_factory=list)
    error_rate: list[float | None] = field(default_factory=list)
    client_error_rate: list[float | None] = field(default_factory=list)
    failed_requests: list[int] = field(default_factory=list)
    error_source: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PredictionSample:
    """The newest rows of an endpoint's prediction log (newest first) in a window.

    Each row: ``prediction_id``, ``ts`` (epoch ms), ``model_version``, ``route``,
    ``latency_ms``, ``inputs`` (by signature column), ``output`` (JSON text), ``label``
    (JSON text of the latest feedback, or None) and ``shadow_of``. ``total``: rows in the
    window.
    """

    endpoint: str
    window: dict[str, Any]
    total: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ms(table: pa.Table, column: str) -> np.ndarray:
    stamps = pc.cast(table.column(column), pa.timestamp("ms", "UTC"))
    return np.asarray(pc.cast(stamps, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _buckets(table: pa.Table, edges: list[int]) -> list[pa.Table]:
    """``table`` (ordered by ``ts``, as ``read_window`` gives it) cut at the ``edges``."""
    stamps = _ms(table, "ts") if table.num_rows else np.empty(0, dtype=np.int64)
    cuts = np.searchsorted(stamps, edges, side="left")
    return [table.slice(int(lo), int(hi - lo)) for lo, hi in pairwise(cuts)]


def endpoint_traffic(
    stores: Stores, endpoint: EndpointName, window: Duration = "1h", buckets: Buckets = 60
) -> EndpointTraffic:
    """Requests, rows, latency p50/p95/p99, fallback share and (when logged) error rates of
    ``endpoint`` in each of ``buckets`` equal parts of the last ``window``."""
    buckets = check_limit(buckets, "buckets", MAX_BUCKETS)
    require_endpoint(stores, endpoint)
    data = read_window(endpoint, window, feedback_horizon_days=0)
    win = data.window
    size = max(1, -(-(win.end_ms - win.start_ms) // buckets))
    out = EndpointTraffic(endpoint, win.to_dict(), size, data.status, data.reason)
    whole = operational_report(data)
    out.summary = whole.to_dict()
    out.error_source = whole.error_source
    edges = [min(win.start_ms + i * size, win.end_ms) for i in range(buckets + 1)]
    answered = _buckets(data.table, edges)
    # None throughout when the log records no failures
    failed: list[pa.Table | None] = (
        [None] * buckets if data.failures is None else list(_buckets(data.failures, edges))
    )
    for i in range(buckets):
        part = Window(edges[i], edges[i + 1])
        rep = operational_report(WindowData(endpoint, part, answered[i], "ok", failures=failed[i]))
        out.starts.append(part.start_ms)
        out.requests.append(rep.requests)
        out.rows.append(rep.rows)
        out.latency_p50.append(rep.latency_ms.get("p50"))
        out.latency_p95.append(rep.latency_ms.get("p95"))
        out.latency_p99.append(rep.latency_ms.get("p99"))
        out.fallback_rate.append(rep.fallback_rate)
        out.error_rate.append(rep.error_rate)
        out.client_error_rate.append(rep.client_error_rate)
        out.failed_requests.append(rep.failed_requests)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return json.loads(json.dumps(value, default=str))


def sample_predictions(
    stores: Stores, endpoint: EndpointName, window: Duration = "1d", limit: SampleSize = 50
) -> PredictionSample:
    """The newest ``limit`` rows of ``endpoint``'s prediction log in the last ``window``
    (shadow rows included), each with its inputs, output and latest label."""
    limit = check_limit(limit, "limit", MAX_SAMPLE)
    require_endpoint(stores, endpoint)
    data = read_window(endpoint, window, include_shadow=True, feedback_horizon_days=None)
    table = data.table
    newest = table.slice(max(0, table.num_rows - limit))
    stamps = _ms(newest, "ts").tolist() if newest.num_rows else []
    inputs = [n for n in newest.column_names if n.startswith("input_")]
    rows = []
    for i, rec in enumerate(newest.to_pylist()):
        rows.append(
            {
                "prediction_id": rec["prediction_id"],
                "ts": stamps[i],
                "model_version": rec.get("model_version"),
                "route": rec.get("route"),
                "latency_ms": rec.get("latency_ms"),
                "inputs": {n[len("input_") :]: _jsonable(rec[n]) for n in inputs},
                "output": rec.get("output"),
                "label": rec.get("label"),
                "shadow_of": rec.get("shadow_of"),
            }
        )
    rows.reverse()
    return PredictionSample(endpoint, data.window.to_dict(), data.num_rows, rows)
