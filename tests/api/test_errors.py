"""Bad input answers a JSON error body with the right status, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import LocalBackend
from conveyor.config import load_settings

JSON = {"Content-Type": "application/json"}


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["details"], dict) and body["error"]["message"]
    return dict(body["error"])


def _run(client: httpx.Client) -> str:
    exp = client.post("/api/v1/experiments/get-or-create", json={"name": "e"}).json()
    return str(client.post("/api/v1/runs", json={"experiment_id": exp["id"]}).json()["id"])


@pytest.mark.parametrize("path", ["/api/v1/experiments", "/api/v1/runs/search"])
@pytest.mark.parametrize("headers", [JSON, {}])
def test_malformed_json_is_400(client: httpx.Client, path: str, headers: dict[str, str]) -> None:
    error = _error(client.post(path, content=b'{"name": ', headers=headers), 400, "malformed")
    assert "not valid JSON" in error["message"]


def test_form_encoded_bodies_are_415_saying_to_send_json(client: httpx.Client) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends
    response = client.post("/api/v1/experiments", content=b'{"name": "x"}', headers=form)
    error = _error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]


def test_malformed_json_on_the_ingest_path_is_400(client: httpx.Client) -> None:
    run_id = _run(client)
    response = client.post(f"/api/v1/runs/{run_id}/log-batch", content=b"[1,", headers=JSON)
    _error(response, 400, "malformed")


def test_wrong_types_are_422_naming_the_field(client: httpx.Client) -> None:
    error = _error(client.post("/api/v1/experiments", json={"name": 5, "extra": 1}), 422, "invalid")
    assert "name" in error["message"] and "extra" in error["message"]
    assert {tuple(e["loc"]) for e in error["details"]["errors"]} == {
        ("body", "name"),
        ("body", "extra"),
    }
    error = _error(client.post("/api/v1/runs", json={}), 422, "invalid")
    assert "experiment_id" in error["message"]
    _error(client.get("/api/v1/audit/events", params={"limit": "many"}), 422, "invalid")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"metrics": {"keys": ["m"], "values": [1.0], "steps": [0]}}, "timestamps"),
        ({"metrics": {"keys": ["m"], "values": [], "steps": [0], "timestamps": [0]}}, "equal"),
        ({"metrics": {"keys": ["m"], "values": ["x"], "steps": [0], "timestamps": [0]}}, "'x'"),
        ({"metrics": {"keys": ["m"], "values": [1], "steps": [-1], "timestamps": [0]}}, "step"),
        ({"metrics": {"keys": ["m"], "values": [1], "steps": [0], "timestamps": ["t"]}}, "time"),
        ({"metrics": [1, 2]}, "metrics must be an object"),
        ({"params": [1]}, "params"),
        ({"metric": {}}, "unknown field"),
        ([1, 2], "must be an object"),
    ],
)
def test_bad_metric_batches_are_422(client: httpx.Client, body: Any, needle: str) -> None:
    run_id = _run(client)
    error = _error(client.post(f"/api/v1/runs/{run_id}/log-batch", json=body), 422, "invalid")
    assert needle in error["message"]


def test_non_finite_values_travel_as_strings(client: httpx.Client) -> None:
    run_id = _run(client)
    metrics = {
        "keys": ["a", "b", "c"],
        "values": ["NaN", "Infinity", "-Infinity"],
        "steps": [0, 0, 0],
        "timestamps": [1, 1, 1],
    }
    assert client.post(f"/api/v1/runs/{run_id}/log-batch", json={"metrics": metrics}).json() == {
        "points": 3
    }
    run = client.get(f"/api/v1/runs/{run_id}")
    assert b"NaN" in run.content and b"null" not in run.content.split(b'"metrics"')[1]
    assert run.json()["metrics"] == {"a": "NaN", "b": "Infinity", "c": "-Infinity"}


def test_out_of_range_numbers_are_422_not_500(client: httpx.Client) -> None:
    exp = client.post("/api/v1/experiments/get-or-create", json={"name": "e"}).json()["id"]
    run_id = _run(client)
    huge = 10**30
    cases = [
        ("POST", "/api/v1/runs", {"experiment_id": exp, "start_time": huge}),
        ("POST", f"/api/v1/runs/{run_id}/end", {"end_time": huge}),
        ("POST", "/api/v1/runs/search", {"filter": f"metrics.m > {huge}"}),
        ("POST", f"/api/v1/runs/{run_id}/log-batch", {"metrics": _one_point(ts=2**63)}),
        ("GET", f"/api/v1/models/m/versions/{huge}", None),
        ("GET", f"/api/v1/models?max_results={huge}", None),
    ]
    client.post("/api/v1/models", json={"name": "m"})
    for method, path, body in cases:
        content = None if body is None else json.dumps(body)
        response = client.request(method, path, content=content, headers=JSON)
        _error(response, 422, "invalid")
    # a free-form JSON value past 64 bits is a JSON number like any other: kept as a float
    response = client.post("/api/v1/runs", json={"experiment_id": exp, "source": {"x": huge}})
    assert response.status_code == 201 and response.json()["source"] == {"x": 1e30}


def _one_point(ts: int) -> dict[str, list[Any]]:
    return {"keys": ["m"], "values": [1.0], "steps": [0], "timestamps": [ts]}


def test_unknown_route_404_and_wrong_method_405(client: httpx.Client) -> None:
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")
    _error(client.get("/elsewhere"), 404, "not_found")
    _error(client.delete("/api/v1/experiments"), 405, "method_not_allowed")
    _error(client.put("/api/v1/runs/search", json={}), 405, "method_not_allowed")


def test_405_names_every_method_of_the_path_in_allow(client: httpx.Client) -> None:
    # GET and POST /experiments are separate routes: Allow must list both
    response = client.delete("/api/v1/experiments")
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "DELETE" not in allowed
    # /runs/search belongs to the concrete template (POST), not to GET /runs/{run_id}
    assert client.put("/api/v1/runs/search", json={}).headers["allow"] == "POST"
    assert client.get("/api/v1/runs/search").status_code == 405


def test_unknown_objects_404_name_the_id(client: httpx.Client) -> None:
    error = _error(client.get("/api/v1/runs/abc123"), 404, "not_found")
    assert "abc123" in error["message"]
    _error(client.get("/api/v1/models/no-such-model/versions/latest"), 404, "not_found")
    _error(client.get(f"/api/v1/blobs/{'0' * 64}"), 404, "not_found")
    _error(client.get("/api/v1/blobs/xyz"), 422, "invalid")


def test_bad_dataset_uploads_are_rejected(client: httpx.Client) -> None:
    url = "/api/v1/datasets/d/versions"
    files = {"data": ("data.parquet", b"not parquet", "application/octet-stream")}
    error = _error(client.post(url, files=files), 422, "invalid")
    assert "Parquet" in error["message"]
    error = _error(client.post(url, data={"description": "no file"}), 422, "invalid")
    assert "data" in error["message"]
    response = client.post(url, files=files, data={"expectations": "{oops"})
    _error(response, 400, "malformed")


def test_conflicts_are_409(client: httpx.Client) -> None:
    client.post("/api/v1/experiments", json={"name": "twice"})
    error = _error(client.post("/api/v1/experiments", json={"name": "twice"}), 409, "conflict")
    assert "twice" in error["message"]


def test_too_large_bodies_are_413(local: LocalBackend) -> None:
    settings = load_settings({"CONVEYOR_MAX_REQUEST_MB": str(4096 / (1 << 20))})
    app = create_app(local, settings=settings, auth="insecure-local")
    big = b'{"name": "' + b"x" * 8000 + b'"}'

    def chunked() -> Any:
        yield big[:4000]
        yield big[4000:]

    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        error = _error(
            client.post("/api/v1/experiments", content=big, headers=JSON), 413, "too_large"
        )
        assert "MiB" in error["message"] and error["details"]["limit_bytes"] == 4096
        # no Content-Length: counted as it arrives, on both parsing paths
        _error(
            client.post("/api/v1/experiments", content=chunked(), headers=JSON), 413, "too_large"
        )
        run_id = _run(client)
        response = client.post(f"/api/v1/runs/{run_id}/log-batch", content=chunked(), headers=JSON)
        _error(response, 413, "too_large")
        # artifact uploads stream to disk and are exempt from the JSON limit
        response = client.put(f"/api/v1/runs/{run_id}/artifacts/big.bin", content=b"y" * 100_000)
        assert response.status_code == 201 and response.json()["size"] == 100_000


def test_unexpected_errors_are_500_with_an_id_and_no_internals(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("password=hunter2 in a stack frame")

    app.add_api_route("/api/v1/boom", boom)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        response = client.get("/api/v1/boom")
    error = _error(response, 500, "internal")
    assert "hunter2" not in response.text
    error_id = error["details"]["error_id"]
    assert error_id in error["message"]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_bearer_token_is_accepted_and_ignored_for_now(client: httpx.Client) -> None:
    response = client.get("/api/v1/health", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_openapi_is_found_at_the_root_too(client: httpx.Client) -> None:
    response = client.get("/openapi.json", follow_redirects=True)
    assert response.status_code == 200 and "/api/v1/runs" in response.json()["paths"]


def test_a_port_in_use_is_a_clear_error() -> None:
    import socket

    from conveyor.api.server import check_port
    from conveyor.errors import StoreUnavailable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StoreUnavailable, match=f"port {port}.*already in use"):
            check_port("127.0.0.1", port)
