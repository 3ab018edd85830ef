"""Serving metrics: plain counters on the hot path, Prometheus text at scrape time.

The request path bumps integers in dicts (well under a microsecond); a
``prometheus_client`` collector turns them into metric families when ``/metrics`` is
scraped. Series (all labelled ``endpoint``, ``model_version``, ``route``)::

    conveyor_requests_total{..., status}          requests answered, by HTTP status
    conveyor_errors_total{..., code}              error answers and model failures, by code
    conveyor_request_latency_seconds{...}         histogram, request start -> response sent
    conveyor_batch_size{endpoint, model_version}  histogram of rows per predict call
    conveyor_shadow_comparisons_total{..., agree} shadow outputs equal / not to the served one
    conveyor_prediction_log_dropped_total         rows the prediction log refused or lost
    conveyor_prediction_log_queue_rows            rows waiting for the writer

Several worker processes: give each the same ``snapshot_dir``; every worker writes its
counters there once a second (``metrics-<pid>.json``) and ``/metrics`` on any worker
adds its live counters to the other workers' latest snapshots — so a scrape sees the
whole server, with other workers up to a second stale.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

__all__ = ["BATCH_BUCKETS", "LATENCY_BUCKETS", "ServingMetrics"]

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


def _hist(n: int) -> list[float]:
    return [0] * (n + 2)  # buckets..., +Inf, sum


class ServingMetrics:
    """Counters and histograms for one worker, mergeable across workers."""

    def __init__(self, snapshot_dir: str | os.PathLike[str] | None = None) -> None:
        self.requests: dict[tuple[str, ...], int] = {}
        self.errors: dict[tuple[str, ...], int] = {}
        self.latency: dict[tuple[str, ...], list[float]] = {}
        self.batch: dict[tuple[str, ...], list[float]] = {}
        self.shadow: dict[tuple[str, ...], int] = {}
        self.gauges: dict[str, Any] = {}  # name -> callable returning a number
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None

    # -- hot path --------------------------------------------------------------------------
    def observe(
        self, labels: tuple[str, str, str], status: int, seconds: float, rows: int | None = None
    ) -> None:
        """One answered request; ``rows`` also counts a predict call of that many rows."""
        key = (*labels, str(status))
        r = self.requests
        r[key] = r.get(key, 0) + 1
        h = self.latency.get(labels)
        if h is None:
            h = self.latency[labels] = _hist(len(LATENCY_BUCKETS))
        h[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        h[-1] += seconds
        if rows is not None:
            self.batch_size(labels[0], labels[1], rows)

    def error(self, labels: tuple[str, str, str], code: str) -> None:
        key = (*labels, code)
        self.errors[key] = self.errors.get(key, 0) + 1

    def batch_size(self, endpoint: str, version: str, rows: int) -> None:
        key = (endpoint, version)
        h = self.batch.get(key)
        if h is None:
            h = self.batch[key] = _hist(len(BATCH_BUCKETS))
        h[bisect.bisect_left(BATCH_BUCKETS, rows)] += 1
        h[-1] += rows

    def shadow_compared(self, labels: tuple[str, str, str], agree: int, total: int) -> None:
        for flag, n in (("true", agree), ("false", total - agree)):
            if n:
                key = (*labels, flag)
                self.shadow[key] = self.shadow.get(key, 0) + n

    # -- snapshots across workers ------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": [[*k, v] for k, v in list(self.requests.items())],
            "errors": [[*k, v] for k, v in list(self.errors.items())],
            "latency": [[*k, list(v)] for k, v in list(self.latency.items())],
            "batch": [[*k, list(v)] for k, v in list(self.batch.items())],
            "shadow": [[*k, v] for k, v in list(self.shadow.items())],
            "gauges": {name: fn() for name, fn in self.gauges.items()},
        }

    def write_snapshot(self) -> None:
        if self.snapshot_dir is None:
            return
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        target = self.snapshot_dir / f"metrics-{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.snapshot()))
        os.replace(tmp, target)

    def merged(self) -> dict[str, Any]:
        """Live counters of this worker plus the latest snapshot of every other worker."""
        snaps = [self.snapshot()]
        if self.snapshot_dir is not None and self.snapshot_dir.is_dir():
            own = f"metrics-{os.getpid()}.json"
            for path in sorted(self.snapshot_dir.glob("metrics-*.json")):
                if path.name != own:
                    try:
                        snaps.append(orjson.loads(path.read_bytes()))
                    except (OSError, orjson.JSONDecodeError):
                        continue
        out: dict[str, Any] = {"requests": {}, "errors": {}, "latency": {}, "batch": {},
                               "shadow": {}, "gauges": {}}  # fmt: skip
        for snap in snaps:
            for kind in ("requests", "errors", "shadow"):
                for *key, value in snap[kind]:
                    k = tuple(key)
                    out[kind][k] = out[kind].get(k, 0) + value
            for kind in ("latency", "batch"):
                for *key, values in snap[kind]:
                    k = tuple(key)
                    acc = out[kind].get(k)
                    out[kind][k] = (
                        list(values)
                        if acc is None
                        else [a + b for a, b in zip(acc, values, strict=True)]
                    )
            for name, value in snap["gauges"].items():
                out["gauges"][name] = out["gauges"].get(name, 0) + value
        return out

    # -- exposition --------------------------------------------------------------------------
    def render(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry)


class _Collector:
    def __init__(self, metrics: ServingMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        m = self.metrics.merged()
        base = ["endpoint", "model_version", "route"]
        req = CounterMetricFamily(
            "conveyor_requests", "Requests answered, by HTTP status.", labels=[*base, "status"]
        )
        for key, v in m["requests"].items():
            req.add_metric(list(key), v)
        yield req
        err = CounterMetricFamily(
            "conveyor_errors", "Error answers and model failures, by code.", labels=[*base, "code"]
        )
        for key, v in m["errors"].items():
            err.add_metric(list(key), v)
        yield err
        shadow = CounterMetricFamily(
            "conveyor_shadow_comparisons",
            "Shadow outputs compared with the served output.",
            labels=[*base, "agree"],
        )
        for key, v in m["shadow"].items():
            shadow.add_metric(list(key), v)
        yield shadow
        yield _histogram(
            HistogramMetricFamily(
                "conveyor_request_latency_seconds", "Request latency in seconds.", labels=base
            ),
            m["latency"],
            LATENCY_BUCKETS,
        )
        yield _histogram(
            HistogramMetricFamily(
                "conveyor_batch_size",
                "Rows per predict call (micro-batches and multi-row requests).",
                labels=["endpoint", "model_version"],
            ),
            m["batch"],
            BATCH_BUCKETS,
        )
        dropped = CounterMetricFamily(
            "conveyor_prediction_log_dropped",
            "Prediction-log rows dropped because the queue was full or a write failed.",
        )
        dropped.add_metric([], m["gauges"].get("log_dropped", 0))
        yield dropped
        depth = GaugeMetricFamily(
            "conveyor_prediction_log_queue_rows", "Rows waiting for the prediction-log writer."
        )
        depth.add_metric([], m["gauges"].get("log_depth", 0))
        yield depth


def _histogram(family: Any, series: dict[Any, list[float]], bounds: tuple[float, ...]) -> Any:
    for key, values in series.items():
        acc, buckets = 0.0, []
        for bound, count in zip((*bounds, float("inf")), values[:-1], strict=True):
            acc += count
            buckets.append((str(bound) if bound != float("inf") else "+Inf", acc))
        family.add_metric(list(key), buckets, values[-1])
    return family
