"""Deployment routes over a real server: deploy (compiled on the server), rollback, reads,
clear 4xx errors, audit events written as the request's actor."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.api.deps import current_actor
from conveyor.backend import HttpBackend, LocalBackend, reset_backends
from conveyor.config import reset_settings
from conveyor.governance.identity import Actor

pytestmark = pytest.mark.server

DEPLOY = "/api/v1/deployments/{}/revisions"


@pytest.fixture
def churn(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> Iterator[pd.DataFrame]:
    """Model 'churn' logged with the SDK through the server: v1 a logistic regression, v2 a
    small forest, alias champion -> 1. Yields the training rows."""
    monkeypatch.setenv("CONVEYOR_URI", str(client.base_url).rstrip("/"))
    reset_settings()
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    for model in (LogisticRegression(), RandomForestClassifier(8, max_depth=3, random_state=0)):
        with conveyor.start_run():
            conveyor.log_model(
                model.fit(X, y), "model", input_example=X.head(10), registered_model_name="churn"
            )
    conveyor.set_model_alias("churn", "champion", 1)
    yield X
    reset_backends()  # close keep-alive connections before the server stops


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


def test_deploy_compiles_on_the_server_and_reads_back(
    client: httpx.Client, churn: pd.DataFrame
) -> None:
    answer = client.post(
        DEPLOY.format("team.churn-api"),
        json={"model": "churn@champion", "canary": "churn/2:10", "description": "first"},
    )
    assert answer.status_code == 201, answer.text
    rev = answer.json()
    assert (rev["endpoint"], rev["revision"], rev["rollout_state"]) == (
        "team.churn-api",
        1,
        "canary",
    )
    routes = {r["name"]: r for r in rev["routes"]}
    assert (routes["primary"]["version"], routes["primary"]["alias"]) == (1, "champion")
    assert (routes["primary"]["weight"], routes["canary"]["weight"]) == (90, 10)
    for key in ("churn/1", "churn/2"):
        compiled = rev["compiled"][key]
        assert compiled["status"] == "onnx", compiled["reason"]
        assert compiled["parity"]["passed"] and compiled["parity"]["rows"] == 10
        blob = client.get(f"/api/v1/blobs/{compiled['onnx_sha256']}")  # stored on the server
        assert blob.status_code == 200 and blob.content

    listed = client.get("/api/v1/deployments").json()["deployments"]
    assert [(d["name"], d["current_revision"]) for d in listed] == [("team.churn-api", 1)]
    shown = client.get("/api/v1/deployments/team.churn-api").json()
    assert shown["description"] == "first" and shown["current"] == rev
    assert client.get("/api/v1/deployments/team.churn-api/revisions").json() == {"revisions": [rev]}
    assert client.get("/api/v1/deployments/team.churn-api/revisions/1").json() == rev
    assert client.get("/api/v1/deployments/team.churn-api/revisions/current").json() == rev


def test_rollback_writes_a_new_revision(client: httpx.Client, churn: pd.DataFrame) -> None:
    for body in ({"model": "churn/1"}, {"model": "churn/2", "compile": False}):
        assert client.post(DEPLOY.format("ep"), json=body).status_code == 201
    back = client.post("/api/v1/deployments/ep/rollback", json={"reason": "r"})  # the previous
    assert back.status_code == 201, back.text
    assert (back.json()["revision"], back.json()["restored_from"]) == (3, 1)
    to = client.post("/api/v1/deployments/ep/rollback", json={"to_revision": 2, "reason": "r"})
    assert (to.json()["revision"], to.json()["routes"][0]["version"]) == (4, 2)
    assert to.json()["compiled"]["churn/2"]["status"] == "pending"
    revisions = client.get("/api/v1/deployments/ep/revisions").json()["revisions"]
    assert [(r["revision"], r["reason"]) for r in revisions] == [
        (4, "rollback"),
        (3, "rollback"),
        (2, "deploy"),
        (1, "deploy"),
    ]
    assert "no revision 9" in _error(
        client.post("/api/v1/deployments/ep/rollback", json={"to_revision": 9, "reason": "r"}), 404
    )
    assert "already current" in _error(
        client.post("/api/v1/deployments/ep/rollback", json={"to_revision": 4, "reason": "r"}), 422
    )
    ghost = client.post("/api/v1/deployments/ghost/rollback", json={"reason": "r"})
    assert "'ghost'" in _error(ghost, 404)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"model": "nope/1"}, 404, "nope"),
        ({"model": "churn/9"}, 404, "no version 9"),
        ({"model": "churn@prod"}, 404, "prod"),
        ({"model": "churn/1", "canary": ["churn/2:60", "churn/2:50"]}, 422, "sum to 100"),
        ({"model": "churn/1:80", "canary": "churn/2:10"}, 422, "sum to 100"),
        ({"model": "churn"}, 422, "bad model reference"),
        ({"canary": "churn/2:10"}, 422, "needs a primary model"),
        ({"model": "churn/1", "ab_key": "bad key"}, 422, "ab_key"),
        ({"model": "churn/1", "deadline_ms": 0}, 422, "deadline_ms"),
        ({"model": "churn/1", "validation_data": []}, 422, "validation_data"),
        ({"model": "churn/1", "weights": 3}, 422, "weights"),
        ({"model": 7}, 422, "model"),
    ],
)
def test_bad_deploys_are_clear_4xx_and_write_nothing(
    client: httpx.Client, churn: pd.DataFrame, body: dict[str, object], status: int, says: str
) -> None:
    assert says in _error(client.post(DEPLOY.format("ep"), json=body), status)
    assert client.get("/api/v1/deployments").json() == {"deployments": []}


def test_unknown_endpoints_and_revisions(client: httpx.Client, churn: pd.DataFrame) -> None:
    assert "'ghost'" in _error(client.get("/api/v1/deployments/ghost"), 404)
    assert "'ghost'" in _error(client.get("/api/v1/deployments/ghost/revisions"), 404)
    client.post(DEPLOY.format("ep"), json={"model": "churn/1", "compile": False})
    assert "no revision 7" in _error(client.get("/api/v1/deployments/ep/revisions/7"), 404)
    assert "'current'" in _error(client.get("/api/v1/deployments/ep/revisions/first"), 422)
    assert "invalid endpoint name" in _error(
        client.post(DEPLOY.format(" ep"), json={"model": "churn/1"}), 422
    )
    for bad in ("team/ep", "a:b", "x" * 129):  # "/" would split endpoint= folders
        message = _error(client.post(DEPLOY.format(bad), json={"model": "churn/9"}), 422)
        assert "letters, digits, '.', '_' and '-'" in message  # checked before the model


def test_validation_data_travels_to_the_server_parity_check(
    client: httpx.Client, churn: pd.DataFrame
) -> None:
    remote = HttpBackend(str(client.base_url).rstrip("/"))
    with remote:
        rev = remote.deploy("ep", model="churn/2", validation_data=churn.assign(label=1))
    parity = rev.compiled["churn/2"].parity
    assert parity is not None and parity["rows"] == len(churn) and parity["passed"]


def test_mutations_are_audited_as_the_request_actor(
    app: FastAPI, client: httpx.Client, local: LocalBackend, churn: pd.DataFrame
) -> None:
    app.dependency_overrides[current_actor] = lambda: Actor("alice")
    client.post(DEPLOY.format("ep"), json={"model": "churn/1"})
    client.post(DEPLOY.format("ep"), json={"model": "churn/2", "compile": False})
    client.post("/api/v1/deployments/ep/rollback", json={"reason": "r"})
    events = local.list_audit_events(object_type="deployment", object_id="ep")
    assert [(e.action, e.actor) for e in events] == [
        ("deployment.create", "alice"),
        ("deployment.deploy", "alice"),
        ("deployment.deploy", "alice"),
        ("deployment.rollback", "alice"),
    ]
    compiled = local.list_audit_events(action="model_version.compile")
    assert [(e.object_id, e.actor) for e in compiled] == [("churn/1", "alice")]
    assert local.verify_audit_chain().ok


def test_openapi_lists_the_deployment_routes(client: httpx.Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    routes = {
        (method, path)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/v1/deployments")
        for method in ops
    }
    assert routes == {
        ("get", "/api/v1/deployments"),
        ("get", "/api/v1/deployments/{endpoint}"),
        ("post", "/api/v1/deployments/{endpoint}/revisions"),
        ("get", "/api/v1/deployments/{endpoint}/revisions"),
        ("get", "/api/v1/deployments/{endpoint}/revisions/{revision}"),
        ("post", "/api/v1/deployments/{endpoint}/rollback"),
        ("get", "/api/v1/deployments/{endpoint}/traffic"),
        ("get", "/api/v1/deployments/{endpoint}/predictions"),
        ("post", "/api/v1/deployments/{endpoint}/stop"),
        ("post", "/api/v1/deployments/{endpoint}/resume"),
        ("post", "/api/v1/deployments/{endpoint}/override"),
    }
    deploy = doc["paths"]["/api/v1/deployments/{endpoint}/revisions"]["post"]
    ref = deploy["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    assert set(fields) == {
        "model", "canary", "shadow", "ab", "ab_key", "fallback", "deadline_ms",
        "description", "compile", "validation_data", "override_reason", "trust_pickle",
    }  # fmt: skip
