"""A real uvicorn server on loopback: hot reload under continuous traffic drops nothing."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow.dataset as ds
import pytest
import uvicorn
from serving_helpers import record, run

from conveyor.serving import (
    BatchingConfig,
    InferenceApp,
    OnnxPredictor,
    PredictionLog,
    Route,
    Router,
    RouteTable,
)

CLIENTS = 8
PER_PHASE = 60


@pytest.mark.server
@pytest.mark.parametrize("batching", [None, BatchingConfig()], ids=["direct", "batched"])
def test_hot_reload_under_load_drops_nothing(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path, batching: BatchingConfig | None
) -> None:
    router = Router([RouteTable("clf", make_onnx(version="1"))])
    log = PredictionLog(tmp_path)
    app = InferenceApp(router, prediction_log=log, batching=batching)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)  # listening before serve(): clients can connect at once, no polling
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    tables = [
        RouteTable("clf", make_onnx(version="2")),
        RouteTable(
            "clf",
            [
                Route("primary", make_onnx(version="2"), 80),
                Route("canary", make_onnx(version="3", model="linear"), 20),
            ],
        ),
        RouteTable("clf", make_onnx(version="3", model="linear")),
        RouteTable("clf", make_onnx(version="4")),
    ]

    async def go() -> tuple[list[str], list[object], Counter[str]]:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        ids: list[str] = []
        failures: list[object] = []
        versions: Counter[str] = Counter()
        progress = asyncio.Event()
        stop = asyncio.Event()

        async def hammer(c: httpx.AsyncClient, n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = await c.post("/invocations", json={"records": [record(n * 100_000 + i)]})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                else:
                    if r.status_code != 200:
                        failures.append((r.status_code, r.text))
                    else:
                        body = r.json()
                        ids.extend(body["prediction_ids"])
                        versions[body["model_version"]] += 1
                progress.set()

        async def answered(target: int) -> None:
            while len(ids) + len(failures) < target:
                progress.clear()
                await progress.wait()

        limits = httpx.Limits(max_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     timeout=30) as c:  # fmt: skip
            workers = [asyncio.create_task(hammer(c, n)) for n in range(CLIENTS)]
            for table in tables:
                await answered(len(ids) + len(failures) + PER_PHASE)
                router.swap(table)  # while requests are in flight
            await answered(len(ids) + len(failures) + PER_PHASE)
            stop.set()
            await asyncio.gather(*workers)
        server.should_exit = True
        await serving  # graceful: lifespan shutdown flushes the prediction log
        return ids, failures, versions

    ids, failures, versions = run(go())
    assert failures == []
    assert len(ids) >= PER_PHASE * (len(tables) + 1)
    assert {"1", "2", "3", "4"} <= set(versions)
    logged = ds.dataset(tmp_path / "predictions", format="parquet", partitioning="hive")
    logged_ids = logged.to_table(columns=["prediction_id"]).column("prediction_id").to_pylist()
    assert sorted(logged_ids) == sorted(ids)
