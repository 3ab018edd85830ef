"""The runtime bridge: route tables from revisions, hot swap, refusing corrupted artifacts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression
from starlette.applications import Starlette

from conveyor.config import get_settings
from conveyor.deployments import get_revision, rollback
from conveyor.deployments.runtime import DeploymentServer, build_route_table, mount_endpoints
from conveyor.errors import IntegrityError
from conveyor.serving import FunctionPredictor, OnnxPredictor

from .helpers import client, corrupt_blob, corrupt_file, log_and_register, records, run


@pytest.fixture
def two_versions(
    home_backend: Any,
    forests: list[RandomForestClassifier],
    clf_data: tuple[pd.DataFrame, np.ndarray],
) -> Any:
    """``churn`` v1 and v2 (two different forests), endpoint ``churn-api`` on v1."""
    X, _ = clf_data
    log_and_register(forests[0], "churn", X.head(20))
    log_and_register(forests[1], "churn", X.head(20))
    home_backend.deploy("churn-api", model="churn/1")
    return home_backend


def _invoke(rows: list[dict[str, float]]) -> dict[str, Any]:
    return {"records": rows}


def test_route_table_from_revision(
    two_versions: Any, forests: list[RandomForestClassifier], clf_data: Any
) -> None:
    two_versions.deploy("churn-api", model="churn/1", canary="churn/2:25",
                    shadow="churn/2", fallback="churn/1", deadline_ms=200)  # fmt: skip
    with two_versions.meta.read() as conn:
        revision = get_revision(conn, "churn-api")
    table = build_route_table(two_versions, revision)
    assert table.revision == "2" and table.deadline_ms == 200
    assert [(r.name, r.version, r.weight) for r in table.routes] == [
        ("primary", "1", 75.0), ("canary", "2", 25.0)
    ]  # fmt: skip
    assert [r.name for r in table.shadows] == ["shadow"]
    assert table.fallback is not None and table.fallback.version == "1"
    assert isinstance(table.primary.predictor, OnnxPredictor)
    X = clf_data[0]
    labels = table.primary.predictor.predict_matrix(X.to_numpy(dtype=np.float32))
    assert (labels == forests[0].predict(X)).all()
    # a zero-weight canary stays at zero (loaded, never chosen)
    rev = two_versions.deploy("churn-api", model="churn/1", canary="churn/2:0")
    table = build_route_table(two_versions, rev)
    assert [r.weight for r in table.routes] == [100.0, 0.0]
    assert {table.choose(str(i)).name for i in range(200)} == {"primary"}


def test_server_serves_onnx_and_native_models(
    home_backend: Any,
    forests: list[RandomForestClassifier],
    isotonic: IsotonicRegression,
    clf_data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, _ = clf_data
    log_and_register(forests[0], "churn", X.head(20))
    log_and_register(isotonic, "iso", X[["f0"]].head(10))
    home_backend.deploy("churn-api", model="churn/1")
    home_backend.deploy("iso-api", model="iso/latest")
    server = DeploymentServer(home_backend, ["churn-api", "iso-api"], poll_interval=60)
    assert isinstance(server.router.get("iso-api").primary.predictor, FunctionPredictor)

    async def go() -> None:
        async with client(server) as c:
            r = await c.post("/endpoints/churn-api/invocations", json=_invoke(records(X.head(30))))
            assert r.status_code == 200, r.text
            assert r.json()["predictions"] == forests[0].predict(X.head(30)).tolist()
            assert r.headers["x-conveyor-model-version"] == "1"
            r = await c.post(
                "/endpoints/iso-api/invocations", json=_invoke(records(X[["f0"]].head(5)))
            )
            assert r.status_code == 200, r.text
            assert np.allclose(r.json()["predictions"], isotonic.predict(X[["f0"]].head(5)))
            asked = {**_invoke(records(X.head(4))), "params": {"probabilities": True}}
            r = await c.post("/endpoints/churn-api/invocations", json=asked)
            assert r.json()["classes"] == forests[0].classes_.tolist()
            np.testing.assert_allclose(
                r.json()["probabilities"], forests[0].predict_proba(X.head(4)), atol=1e-5
            )
            r = await c.post("/endpoints/iso-api/invocations",
                             json={**_invoke(records(X[["f0"]].head(2))),
                                   "params": {"probabilities": True}})  # fmt: skip
            assert r.status_code == 422 and "gives no class probabilities" in r.text
            bad = await c.post("/endpoints/churn-api/invocations", json={"records": [{"f0": 1.0}]})
            assert bad.status_code == 422 and "f1" in bad.text
            status = (await c.get("/deployments")).json()
            assert status["endpoints"]["churn-api"]["serving"] == 1

    run(go())


def test_watcher_swaps_in_new_revision_without_failed_requests(
    two_versions: Any, clf_data: Any
) -> None:
    X = clf_data[0]
    server = DeploymentServer(two_versions, ["churn-api"], poll_interval=0.02)
    payload = _invoke(records(X.head(3)))

    async def go() -> None:
        async with client(server) as c:
            stop = asyncio.Event()
            seen: list[tuple[int, str]] = []

            async def traffic() -> None:
                while not stop.is_set():
                    r = await c.post("/endpoints/churn-api/invocations", json=payload)
                    seen.append((r.status_code, r.headers.get("x-conveyor-model-version", "")))
                    await asyncio.sleep(0)

            workers = [asyncio.create_task(traffic()) for _ in range(4)]
            await asyncio.to_thread(two_versions.deploy, "churn-api", model="churn/2")
            deadline = time.monotonic() + 20
            while not any(v == "2" for _, v in seen[-4:]):
                assert time.monotonic() < deadline, "the new revision was not picked up"
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.gather(*workers)
            assert seen and all(code == 200 for code, _ in seen)
            versions = [v for _, v in seen]
            assert "1" in versions and versions[-1] == "2"
            assert server.watcher.status["churn-api"].serving == 2

    run(go())


def test_corrupted_onnx_blob_keeps_previous_revision_serving(
    two_versions: Any, clf_data: Any
) -> None:
    X = clf_data[0]
    server = DeploymentServer(two_versions, ["churn-api"], poll_interval=60)
    rev = two_versions.deploy("churn-api", model="churn/2")
    sha = rev.compiled["churn/2"].onnx_sha256
    assert sha is not None
    corrupt_blob(two_versions.artifacts, sha)
    with pytest.raises(IntegrityError, match="corrupted"):
        build_route_table(two_versions, rev)

    assert server.watcher.check() == []  # refused: nothing swapped
    status = server.watcher.status["churn-api"]
    assert (status.serving, status.latest, status.failed_revision) == (1, 2, 2)
    assert status.error_code == "integrity" and "corrupted" in (status.error or "")

    async def go() -> None:
        async with client(server) as c:
            r = await c.post("/endpoints/churn-api/invocations", json=_invoke(records(X.head(5))))
            assert r.status_code == 200 and r.headers["x-conveyor-model-version"] == "1"
            report = (await c.get("/deployments")).json()["endpoints"]["churn-api"]
            assert report["serving"] == 1 and report["error_code"] == "integrity"

    run(go())
    # rolling back (a new revision, back to v1) clears the error
    with two_versions.meta.write(two_versions.actor) as uow:
        rollback(uow, "churn-api", reason="corrupted blob")
    assert server.watcher.check() == ["churn-api"]
    assert server.watcher.status["churn-api"].serving == 3
    assert server.watcher.errors == {}


def test_corrupted_native_model_file_is_refused(
    home_backend: Any, isotonic: IsotonicRegression, clf_data: Any
) -> None:
    X = clf_data[0]
    log_and_register(isotonic, "iso", X[["f0"]].head(10))
    log_and_register(isotonic, "iso", X[["f0"]].head(12))
    home_backend.deploy("iso-api", model="iso/1")
    server = DeploymentServer(home_backend, ["iso-api"], poll_interval=60)
    rev = home_backend.deploy("iso-api", model="iso/2")
    with home_backend.meta.read() as conn:
        mv = get_revision(conn, "iso-api").routes[0]
        manifest = home_backend.get_model_version(mv.model, mv.version).manifest_sha256
    folder = get_settings().home_path / "cache" / "models" / manifest
    weights = next(p for p in folder.iterdir() if p.suffix == ".skops")
    corrupt_file(weights)
    assert server.watcher.check() == []
    status = server.watcher.status["iso-api"]
    assert status.serving == 1 and status.failed_revision == rev.revision
    assert status.error_code == "integrity"


def test_mount_under_a_starlette_app(two_versions: Any, clf_data: Any) -> None:
    host = Starlette()
    server = mount_endpoints(host, two_versions, ["churn-api"], path="/serving")
    X = clf_data[0]

    async def go() -> None:
        import httpx

        transport = httpx.ASGITransport(host)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.post(
                "/serving/endpoints/churn-api/invocations", json=_invoke(records(X.head(2)))
            )
            assert r.status_code == 200, r.text
            assert (await c.get("/serving/v2/health/ready")).json() == {"ready": True}
        await server.shutdown()

    run(go())


def test_unknown_endpoint_is_named(home_backend: Any) -> None:
    from conveyor.errors import NotFound

    with pytest.raises(NotFound, match="'ghost' is not deployed"):
        DeploymentServer(home_backend, ["ghost"])


def test_mount_survives_an_endpoint_that_cannot_load(two_versions: Any) -> None:
    rev = two_versions.deploy("churn-api", model="churn/2")
    corrupt_blob(two_versions.artifacts, str(rev.compiled["churn/2"].onnx_sha256))
    server = mount_endpoints(Starlette(), two_versions, path="/serving")
    status = server.watcher.status["churn-api"]  # the last revision that loads serves
    assert server.router.tables["churn-api"].revision == "1" and status.serving == 1
    assert status.error_code == "integrity" and status.failed_revision == rev.revision


def test_uvicorn_factory_reads_its_environment(
    two_versions: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import logging

    from conveyor.deployments import runtime

    for name in ("conveyor.serving", "conveyor.deployments"):  # the factory configures these
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "propagate", logger.propagate)
        monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setenv(runtime.ENDPOINTS_ENV, "churn-api")
    monkeypatch.setenv(runtime.POLL_ENV, "0.5")
    monkeypatch.setenv(runtime.LOG_ENV, str(tmp_path / "predictions"))
    server = runtime.create_app()
    assert list(server.router.tables) == ["churn-api"]
    assert server.watcher.interval == 0.5 and server.app.prediction_log is not None


def test_failed_revision_is_retried_with_backoff_and_goes_live_once_repaired(
    two_versions: Any, clf_data: Any
) -> None:
    server = DeploymentServer(two_versions, ["churn-api"], poll_interval=60)
    watcher = server.watcher
    watcher.retry_s, watcher.retry_max_s = 10.0, 15.0
    rev = two_versions.deploy("churn-api", model="churn/2")
    sha = rev.compiled["churn/2"].onnx_sha256
    assert sha is not None
    blob = corrupt_blob(two_versions.artifacts, sha)
    corrupted = blob.read_bytes()

    assert watcher.check() == []
    status = watcher.status["churn-api"]
    assert (status.failed_revision, status.failures) == (2, 1)
    assert 5.0 < status.to_dict()["retry_in_s"] <= 10.0  # ~retry_s (slack for a slow CI box)
    assert watcher.check() == [] and status.failures == 1  # not due yet: not tried again
    status.retry_at = 0.0  # due now
    assert watcher.check() == [] and status.failures == 2
    assert 10.0 < status.to_dict()["retry_in_s"] <= 15.0  # doubled, capped at retry_max_s

    corrupt_file(blob)  # flipping the same bytes again restores the original blob
    assert blob.read_bytes() != corrupted
    status.retry_at = 0.0
    assert watcher.check() == ["churn-api"]
    assert (status.serving, status.failed_revision, status.failures) == (2, None, 0)
    assert status.to_dict()["retry_in_s"] is None and watcher.errors == {}
