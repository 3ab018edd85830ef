"""Serving with feature lookup: requests carry entity keys, the server adds the features,
the prediction log holds the full vector; a missing value or an unreachable store follows
the endpoint's policy (fail, or declared defaults), never a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import uvicorn

import conveyor
from conveyor.deployments.runtime import DeploymentServer, build_route_table
from conveyor.features.lookup import FeatureLookup
from conveyor.features.online import open_online_store
from conveyor.features.serving import FeatureEnricher
from conveyor.serving import InferenceApp, Router
from conveyor.serving.prediction_log import PredictionLog

from .helpers import churn_model, churn_world


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path, online_url: str) -> Iterator[tuple[str, Any, pd.DataFrame, Path]]:
    """A uvicorn server of ``churn-api`` bound to ``churn``, on each online store (Redis:
    read from uvicorn's event loop)."""
    frame = churn_world(tmp_path / "data")
    model = churn_model(frame)
    client = conveyor.connect()
    client.set_endpoint_features("churn-api", "churn")
    client.deploy("churn-api", model="churn/1")
    logs = tmp_path / "logs"
    app = DeploymentServer(
        client, ["churn-api"], poll_interval=0.05, prediction_log=PredictionLog(logs)
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", model, frame, logs
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.mark.server
def test_server_looks_features_up_and_logs_the_vector(live: tuple) -> None:
    url, model, frame, logs = live
    ids = [3, 7, 11]
    with httpx.Client(base_url=url, timeout=10) as http:
        r = http.post(
            "/endpoints/churn-api/invocations",
            json={"dataframe_records": [{"customer_id": i} for i in ids]},
        )
        assert r.status_code == 200, r.text
        want = model.predict(frame.loc[ids, ["orders_7d", "spend_7d"]].astype("float64"))
        assert r.json()["predictions"] == [int(v) for v in want]
        # a request-time value wins over the stored one
        r2 = http.post(
            "/endpoints/churn-api/invocations",
            json={"dataframe_records": [{"customer_id": 3, "orders_7d": 19}]},
        )
        assert r2.status_code == 200
        missing = http.post(
            "/endpoints/churn-api/invocations", json={"dataframe_records": [{"customer_id": 999}]}
        )
        assert missing.status_code == 422
        assert "orders_7d" in missing.text and "NOT_FOUND" in missing.text
    deadline = time.monotonic() + 20
    rows: list[dict[str, Any]] = []
    while len(rows) < 5:  # the writer flushes on its interval
        assert time.monotonic() < deadline, "prediction log not written"
        time.sleep(0.05)
        rows = [r for f in sorted(logs.rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    # the failed lookup is logged as a failed request, before any route was chosen
    failed = [r for r in rows if r["status"] == 422]
    assert len(failed) == 1 and failed[0]["route"] is None
    assert "orders_7d" in failed[0]["error"] and "NOT_FOUND" in failed[0]["error"]
    logged = {(r["input_orders_7d"], r["input_spend_7d"]) for r in rows}
    for i in ids:
        # the model runs in ONNX on float32 inputs: the log keeps what it saw
        seen = (float(np.float32(frame.orders_7d[i])), float(np.float32(frame.spend_7d[i])))
        assert seen in logged


def _inproc(tmp_path: Path, on_missing: str, store_url: str) -> InferenceApp:
    churn_world(tmp_path / "data")
    churn_model(pd.read_parquet(tmp_path / "data" / "activity.parquet"))
    client = conveyor.connect()
    client.deploy("churn-api", model="churn/1", compile=False)
    table = build_route_table(client.transport.stores, client.get_revision("churn-api"))
    views = client.resolve_features(service="churn")
    store = open_online_store(store_url, timeout_s=0.2)
    table.features = FeatureEnricher(FeatureLookup(views, store), "churn", on_missing)
    return InferenceApp(Router([table]))


async def _post(app: InferenceApp, body: dict) -> httpx.Response:
    async with app.running():
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.post("/invocations", json=body)


def test_unreachable_store_fails_fast_or_serves_defaults(tmp_path: Path) -> None:
    import asyncio

    body = {"dataframe_records": [{"customer_id": 1}]}
    down = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    r = asyncio.run(_post(_inproc(tmp_path / "a", "fail", down), body))
    assert r.status_code == 503 and "churn" in r.text and "unreachable" in r.text
    assert time.monotonic() - started < 30  # bounded by the timeouts, never a hang
    r = asyncio.run(_post(_inproc(tmp_path / "b", "defaults", down), body))
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 1


def test_binding_takes_effect_on_the_next_poll_without_a_redeploy(tmp_path: Path) -> None:
    churn_model(churn_world(tmp_path / "data"))
    client = conveyor.connect()
    client.deploy("churn-api", model="churn/1", compile=False)
    server = DeploymentServer(client, ["churn-api"])
    assert server.router.get("churn-api").features is None
    assert server.watcher.check() == []  # nothing changed: nothing rebuilt
    client.set_endpoint_features("churn-api", "churn", on_missing="defaults")
    assert server.watcher.check() == ["churn-api"]
    table = server.router.get("churn-api")
    assert table.features is not None and table.features.on_missing == "defaults"
    assert table.revision == "1"  # the same revision, rebuilt
    client.delete_endpoint_features("churn-api")
    assert server.watcher.check() == ["churn-api"]
    assert server.router.get("churn-api").features is None


def test_v2_requests_carry_entity_keys_as_named_inputs(tmp_path: Path, online_url: str) -> None:
    import asyncio

    frame = churn_world(tmp_path / "data")
    model = churn_model(frame)
    client = conveyor.connect()
    client.set_endpoint_features("churn-api", "churn")
    client.deploy("churn-api", model="churn/1", compile=False)
    table = build_route_table(client.transport.stores, client.get_revision("churn-api"))
    app = InferenceApp(Router([table]))
    ids = [3, 7, 11]

    async def post(body: dict) -> httpx.Response:
        async with app.running():
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await c.post("/v2/models/churn-api/infer", json=body)

    keys = {"name": "customer_id", "datatype": "INT64", "shape": [3], "data": ids}
    r = asyncio.run(post({"id": "r1", "inputs": [keys]}))
    assert r.status_code == 200, r.text
    want = model.predict(frame.loc[ids, ["orders_7d", "spend_7d"]].astype("float64"))
    assert r.json()["id"] == "r1"
    assert r.json()["outputs"][0]["data"] == [int(v) for v in want]
    wrong = asyncio.run(post({"inputs": [{**keys, "name": "customer"}]}))
    assert wrong.status_code == 422
    assert "no input named 'customer_id'" in wrong.json()["error"]
