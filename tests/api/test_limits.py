"""Request bounds against real servers: long search filters, slow and abandoned searches,
metric-batch body size and large batches in flight."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from conveyor.api import create_app
from conveyor.api.limits import CancelOnDisconnect, IngestLimit, route_matcher
from conveyor.api.testing import ServerThread
from conveyor.artifacts import ArtifactStore
from conveyor.backend import LocalBackend
from conveyor.config import load_settings
from conveyor.errors import QueryTimeout
from conveyor.store import MetadataStore
from conveyor.tracking.metric_rows import MetricRows

pytestmark = pytest.mark.server


def _backend(url: str, tmp_path: Path, timeout: float = 30.0) -> LocalBackend:
    return LocalBackend(
        MetadataStore(url, statement_timeout=timeout),
        ArtifactStore.from_uri(str(tmp_path / "artifacts")),
    )


@pytest.fixture
def backend(db_url: str, tmp_path: Path) -> Iterator[LocalBackend]:
    local = _backend(db_url, tmp_path)
    yield local
    local.meta.dispose()


def _seed_runs(backend: LocalBackend, n: int) -> str:
    exp = backend.create_experiment("limits")
    for i in range(n):
        run = backend.create_run(exp.id)
        backend.log_batch(run.id, metrics=MetricRows(["a", "b"], [float(i), 2.0], [0, 0], [1, 1]))
    return exp.id


@pytest.mark.parametrize("clauses", [1_000, 70_000])
def test_huge_filters_answer_400(backend: LocalBackend, clauses: int) -> None:
    # refused by the parser's bounds before any SQL (the bug: 53 s of CPU, then a 500)
    _seed_runs(backend, 5)
    text = " and ".join(["metrics.a > 1"] * clauses)
    with ServerThread(create_app(backend)) as server, httpx.Client(timeout=30) as client:
        answer = client.post(f"{server.url}/api/v1/runs/search", json={"filter": text})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "limit_exceeded"
    assert "over the limit" in error["message"]
    assert error["details"]["limit"] in ("clauses in a filter", "filter length in characters")


def test_a_search_past_the_statement_timeout_is_a_503_not_a_500(
    db_url: str, tmp_path: Path
) -> None:
    seeder = _backend(db_url, tmp_path)
    exp_id = _seed_runs(seeder, 30)
    seeder.meta.dispose()
    # PostgreSQL plans 50 clauses in ~0.5 s; 1 ms could also stop its connection set-up
    quick = _backend(db_url, tmp_path, timeout=0.1 if "postgresql" in db_url else 0.001)
    text = " and ".join(["metrics.a > -1"] * 50)
    try:
        with ServerThread(create_app(quick)) as server, httpx.Client(timeout=30) as client:
            answer = client.post(
                f"{server.url}/api/v1/runs/search",
                json={"experiment_ids": [exp_id], "filter": text},
            )
    finally:
        quick.meta.dispose()
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "query_timeout"
    assert "statement timeout" in error["message"] and "STATEMENT_TIMEOUT_S" in error["message"]


def _slow_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT pg_sleep(60)"
    return (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9000000000) "
        "SELECT count(*) FROM c"
    )


def test_a_disconnected_client_cancels_its_query(db_url: str) -> None:
    store = MetadataStore(db_url, statement_timeout=120)
    started = threading.Event()
    outcome: list[BaseException | str] = []
    finished = threading.Event()

    def slow() -> None:
        try:
            with store.read() as conn:
                started.set()
                conn.exec_driver_sql(_slow_sql(store.dialect)).all()
            outcome.append("completed")
        except BaseException as exc:  # examined by the test
            outcome.append(exc)
        finally:
            finished.set()

    inner = FastAPI()

    @inner.post("/api/v1/runs/search")
    async def search() -> dict[str, Any]:
        await run_in_threadpool(slow)
        return {}

    app = CancelOnDisconnect(inner, applies=route_matcher("POST", r"^/api/v1/runs/search$"))
    try:
        with ServerThread(app) as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(
                b"POST /api/v1/runs/search HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            )
            assert started.wait(10)
            _wait_until_active(store)
            start = time.monotonic()
            sock.close()
            assert finished.wait(15)
            assert time.monotonic() - start < 15
    finally:
        store.dispose()
    assert len(outcome) == 1 and isinstance(outcome[0], QueryTimeout), outcome
    assert "disconnected" in str(outcome[0])


def _wait_until_active(store: MetadataStore) -> None:
    if store.dialect != "postgresql":
        return  # SQLite: the progress handler sees the flag whenever it is set
    probe = MetadataStore(store.url, migrate=False, statement_timeout=5)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            with probe.read() as conn:
                if conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query = 'SELECT pg_sleep(60)'"
                ).scalar():
                    return
        raise AssertionError("the slow statement never started")
    finally:
        probe.dispose()


# -- metric batches ---------------------------------------------------------------------------
def _batch(points: int) -> bytes:
    return orjson.dumps(
        {
            "metrics": {
                "keys": ["loss"] * points,
                "values": [0.5] * points,
                "steps": list(range(points)),
                "timestamps": [1_700_000_000_000] * points,
            }
        }
    )


def _ingest_limit(app: FastAPI) -> IngestLimit:
    layer: Any = app.middleware_stack
    while not isinstance(layer, IngestLimit):
        layer = layer.app
    return layer


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    local = _backend(f"sqlite:///{tmp_path / 'api.db'}", tmp_path)
    settings = load_settings(
        {"CONVEYOR_LOG_BATCH_MAX_MB": "4", "CONVEYOR_LOG_BATCH_LARGE_IN_FLIGHT": "1"}
    )
    run_id = local.create_run(local.create_experiment("batches").id).id
    yield create_app(local, settings=settings, auth="insecure-local"), run_id
    local.meta.dispose()


def test_a_batch_over_the_limit_is_a_413_naming_the_setting(limited: tuple[FastAPI, str]) -> None:
    app, run_id = limited
    body = _batch(200_000)
    assert len(body) > 4 << 20
    with ServerThread(app) as server, httpx.Client(timeout=30) as client:
        url = f"{server.url}/api/v1/runs/{run_id}/log-batch"
        sized = client.post(url, content=body, headers={"Content-Type": "application/json"})
        chunked = client.post(
            url, content=iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
        )
    for answer in (sized, chunked):
        assert answer.status_code == 413, answer.text
        assert "CONVEYOR_LOG_BATCH_MAX_MB" in answer.json()["error"]["message"]


def test_large_batches_beyond_the_limit_in_flight_get_503_retry_after(
    limited: tuple[FastAPI, str],
) -> None:
    app, run_id = limited
    big = _batch(60_000)
    assert (1 << 20) < len(big) < (4 << 20)
    path = f"/api/v1/runs/{run_id}/log-batch"
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        # a first large batch whose body is still arriving holds the only slot
        holder = socket.create_connection(("127.0.0.1", server.port))
        holder.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(big)}\r\n\r\n".encode()
            + big[:1000]
        )
        limit = _wait_for_slot_taken(app)
        busy = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "1"
        error = busy.json()["error"]
        assert error["code"] == "overloaded" and error["details"]["retry_after"] == 1
        small = client.post(path, content=_batch(10), headers={"Content-Type": "application/json"})
        assert small.status_code == 200, small.text
        holder.sendall(big[1000:])
        with holder, holder.makefile("rb") as replies:
            reply = replies.readline()
        assert reply.startswith(b"HTTP/1.1 200"), reply
        assert limit.large_in_flight == 0
        again = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert again.status_code == 200, again.text
        assert again.json() == {"points": 60_000}


def _wait_for_slot_taken(app: FastAPI) -> IngestLimit:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if app.middleware_stack is not None:
            limit = _ingest_limit(app)
            if limit.large_in_flight == 1:
                return limit
        time.sleep(0.005)
    raise AssertionError("the first large batch never took its slot")


def test_concurrent_large_batches_are_all_answered_and_bounded(
    limited: tuple[FastAPI, str],
) -> None:
    app, run_id = limited
    big = _batch(60_000)
    path = f"/api/v1/runs/{run_id}/log-batch"
    statuses: list[int] = []
    lock = threading.Lock()
    with ServerThread(app) as server:

        def post() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answer = client.post(
                    path, content=big, headers={"Content-Type": "application/json"}
                )
            with lock:
                statuses.append(answer.status_code)

        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(post,)) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(statuses) == 6
    assert set(statuses) <= {200, 503} and 200 in statuses
    assert _ingest_limit(app).large_in_flight == 0


def test_the_http_client_retries_after_an_overloaded_answer(
    limited: tuple[FastAPI, str],
) -> None:
    from conveyor.backend import HttpBackend

    app, run_id = limited
    statuses: list[int] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await app(scope, receive, record)

    big = _batch(60_000)
    rows = MetricRows(["loss"] * 60_000, [0.5] * 60_000, list(range(60_000)), [1] * 60_000)
    path = f"/api/v1/runs/{run_id}/log-batch"
    with ServerThread(counting) as server:
        holder = socket.create_connection(("127.0.0.1", server.port))
        holder.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(big)}\r\n\r\n".encode()
        )
        _wait_for_slot_taken(app)
        done = threading.Event()
        failures: list[BaseException] = []

        def log() -> None:
            try:
                with HttpBackend(server.url) as http:
                    http.log_batch(run_id, metrics=rows)
            except BaseException as exc:  # examined by the test
                failures.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=log)
        worker.start()
        deadline = time.monotonic() + 10
        while 503 not in statuses and time.monotonic() < deadline:
            time.sleep(0.005)
        assert 503 in statuses and not done.is_set()
        holder.sendall(big)
        with holder, holder.makefile("rb") as reply:
            assert reply.readline().startswith(b"HTTP/1.1 200")
        assert done.wait(15)
    assert failures == []
    assert statuses.count(200) == 2
