"""Helpers for the monitoring-loop tests: a real prediction log written by ``PredictionLog``,
or Parquet files written directly in its layout (``write_predictions``, ``write_feedback``).

No tests here; the ``test_loop_*`` modules import these.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.serving.prediction_log import PredictionLog
from conveyor.serving.predictor import Column, Signature

#: 2026-11-27 10:00:00 UTC
T0 = 1_795_773_600_000
ENDPOINT = "churn"
SIG = Signature([Column("x0", "double"), Column("c0", "string")])


@dataclass
class LogData:
    """What was written, to compare the window queries with."""

    ids: list[str] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    route: list[str] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    x0: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)


def write_log(
    root: Path,
    *,
    n_requests: int = 100,
    rows_per_request: int = 4,
    start_ms: int = T0,
    step_ms: int = 10_000,
    label_share: float = 0.75,
    seed: int = 0,
    shift: float = 0.0,
    endpoint: str = ENDPOINT,
) -> LogData:
    """Write ``n_requests`` requests (versions 1 on route primary, every 4th request version 2
    on route canary) with binary scores as outputs, then labels for ``label_share`` of the
    rows (some labelled twice: the later label must win)."""
    rng = np.random.default_rng(seed)
    plog = PredictionLog(root)
    out = LogData()
    for r in range(n_requests):
        ts = start_ms + r * step_ms
        version, route = ("2", "canary") if r % 4 == 3 else ("1", "primary")
        ids = [f"p{seed}-{r}-{i}" for i in range(rows_per_request)]
        x0 = rng.normal(size=rows_per_request) + shift
        c0 = rng.choice(["a", "b", "c"], size=rows_per_request)
        matrix = np.empty((rows_per_request, 2), dtype=object)
        matrix[:, 0] = x0
        matrix[:, 1] = c0
        score = 1 / (1 + np.exp(-2 * x0))
        latency = float(5 + r % 10)
        plog.log(endpoint, version, route, ids, ts, SIG, matrix, score, latency)
        out.ids += ids
        out.ts += [ts] * rows_per_request
        out.version += [version] * rows_per_request
        out.route += [route] * rows_per_request
        out.score += score.tolist()
        out.x0 += x0.tolist()
        out.latency += [latency] * rows_per_request
    # labels: correlated with the score, some ids relabelled later (the later label wins)
    labelled = [i for i in range(len(out.ids)) if rng.random() < label_share]
    wrong = {i: int(rng.random() < out.score[i]) for i in labelled}
    final = {i: int(rng.random() < out.score[i]) for i in labelled}
    first_ts = start_ms + n_requests * step_ms
    plog.log_feedback(endpoint, [(out.ids[i], wrong[i]) for i in labelled[::5]], first_ts)
    plog.log_feedback(endpoint, [(out.ids[i], final[i]) for i in labelled], first_ts + 1000)
    out.labels = {out.ids[i]: final[i] for i in labelled}
    plog.close()
    return out


def _part(root: Path, kind: str, endpoint: str, ts_ms: int) -> Path:
    """``<root>/<kind>/endpoint=<name>/date=YYYY-MM-DD/part-<hex>.parquet``"""
    date = np.datetime64(ts_ms, "ms").astype("datetime64[D]")
    folder = root / kind / f"endpoint={endpoint}" / f"date={date}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"part-{uuid.uuid4().hex}.parquet"


def write_predictions(
    root: Path,
    outputs: Sequence[Any],
    *,
    proba: Sequence[Sequence[float] | None] | np.ndarray | None = None,
    version: str = "1",
    route: str = "primary",
    start_ms: int = T0,
    endpoint: str = ENDPOINT,
) -> list[str]:
    """One prediction-log file with the serving runtime's columns and types: one row per
    output (labels, logged as JSON text and ``output_num``), 1 ms apart from ``start_ms``.
    ``proba``: the rows' class probabilities as the ``proba`` column (``list<double>``,
    None rows null); None writes a file without the column, as before it was logged.
    Returns the prediction ids."""
    n = len(outputs)
    ids = [f"v{version}-{start_ms}-{i}" for i in range(n)]
    nums = [
        float(o) if isinstance(o, int | float) and not isinstance(o, bool) else None
        for o in outputs
    ]
    cols: dict[str, Any] = {
        "prediction_id": pa.array(ids, pa.string()),
        "ts": pa.array([start_ms + i for i in range(n)], pa.timestamp("ms", "UTC")),
        "endpoint": pa.array([endpoint] * n, pa.string()),
        "model_version": pa.array([version] * n, pa.string()),
        "route": pa.array([route] * n, pa.string()),
        "latency_ms": pa.array([2.0] * n, pa.float64()),
        "input_x0": pa.array(np.arange(n, dtype=np.float64)),
        "output": pa.array([json.dumps(o) for o in outputs], pa.string()),
        "output_num": pa.array(nums, pa.float64()),
        "shadow_of": pa.nulls(n, pa.string()),
        "agree": pa.nulls(n, pa.bool_()),
    }
    if proba is not None:
        rows = [None if r is None else [float(v) for v in r] for r in proba]
        cols["proba"] = pa.array(rows, pa.list_(pa.float64()))
    pq.write_table(pa.table(cols), _part(root, "predictions", endpoint, start_ms))
    return ids


def write_failures(
    root: Path,
    stamps: Sequence[int],
    *,
    status: int = 503,
    error: str = "model raised ValueError",
    endpoint: str = ENDPOINT,
) -> list[str]:
    """One prediction-log file of failed requests (a row each, at ``stamps``) with the serving
    runtime's columns plus ``status`` and ``error``: what a log that records failures holds.
    Files without those columns read as null there (``union_by_name``): answered requests.
    Returns the prediction ids."""
    n = len(stamps)
    ids = [uuid.uuid4().hex for _ in stamps]
    table = pa.table(
        {
            "prediction_id": pa.array(ids, pa.string()),
            "ts": pa.array(list(stamps), pa.timestamp("ms", "UTC")),
            "endpoint": pa.array([endpoint] * n, pa.string()),
            "model_version": pa.array(["1"] * n, pa.string()),
            "route": pa.array(["primary"] * n, pa.string()),
            "latency_ms": pa.array([3.0] * n, pa.float64()),
            "output": pa.nulls(n, pa.string()),
            "output_num": pa.nulls(n, pa.float64()),
            "shadow_of": pa.nulls(n, pa.string()),
            "agree": pa.nulls(n, pa.bool_()),
            "status": pa.array([status] * n, pa.int64()),
            "error": pa.array([error] * n, pa.string()),
        }
    )
    pq.write_table(table, _part(root, "predictions", endpoint, stamps[0]))
    return ids


def write_feedback(
    root: Path, labels: Mapping[str, Any], ts_ms: int, endpoint: str = ENDPOINT
) -> None:
    """One feedback file: a label per prediction id, with the serving runtime's columns."""
    values = list(labels.values())
    nums = [
        float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values
    ]
    table = pa.table(
        {
            "prediction_id": pa.array(list(labels), pa.string()),
            "ts": pa.array([ts_ms] * len(values), pa.timestamp("ms", "UTC")),
            "endpoint": pa.array([endpoint] * len(values), pa.string()),
            "label": pa.array([json.dumps(v) for v in values], pa.string()),
            "label_num": pa.array(nums, pa.float64()),
        }
    )
    pq.write_table(table, _part(root, "feedback", endpoint, ts_ms))


@dataclass
class Received:
    bodies: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_sink(status: int = 200) -> Iterator[tuple[str, Received]]:
    """A real HTTP server on loopback that records JSON POSTs and answers ``status``."""
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            got.bodies.append(json.loads(self.rfile.read(length)))
            got.paths.append(self.path)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            got.event.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
