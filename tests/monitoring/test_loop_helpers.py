"""Helpers for the monitoring-loop tests: a real prediction log written by ``PredictionLog``.

No tests here; the ``test_loop_*`` modules import these.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

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
