"""A real uvicorn server on loopback: a new revision is served with zero failed requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from conveyor.deployments.runtime import DeploymentServer

from .helpers import log_and_register, records

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(home_backend: Any, forests: list[Any], clf_data: Any) -> Iterator[str]:
    X = clf_data[0]
    log_and_register(forests[0], "churn", X.head(20))
    log_and_register(forests[1], "churn", X.head(20))
    home_backend.deploy("churn-api", model="churn/1")
    app = DeploymentServer(home_backend, ["churn-api"], poll_interval=0.05)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                            log_level="warning", ws="none", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def test_hot_reload_under_traffic(live: str, home_backend: Any, clf_data: Any) -> None:
    payload = {"records": records(clf_data[0].head(4))}
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=live, timeout=10) as c:
            while not stop.is_set():
                try:
                    r = c.post("/endpoints/churn-api/invocations", json=payload)
                    results.append((r.status_code, r.headers.get("x-conveyor-model-version", "")))
                except httpx.HTTPError as exc:  # a dropped connection counts as a failure
                    results.append((0, type(exc).__name__))

    clients = [threading.Thread(target=traffic) for _ in range(4)]
    for t in clients:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while len(results) < 20:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        home_backend.deploy("churn-api", model="churn/1", canary="churn/2:50")
        home_backend.deploy("churn-api", model="churn/2")
        while not any(v == "2" for _, v in results[-8:]) or sum(v == "2" for _, v in results) < 50:
            assert time.monotonic() < deadline, "the new revision was not picked up"
            time.sleep(0.005)
    finally:
        stop.set()
        for t in clients:
            t.join(20)
    failures = [r for r in results if r[0] != 200]
    assert failures == [] and len(results) > 70
    assert results[0][1] == "1" and results[-1][1] == "2"
    status = httpx.get(f"{live}/deployments").json()["endpoints"]["churn-api"]
    assert status["serving"] == 3 and status["error"] is None
