"""The OpenAPI document lists every route; the docs page is served."""

from __future__ import annotations

import httpx

from conveyor._schema import END, NUMBER, SHA256_PATTERN

EXPECTED = {
    ("get", "/api/v1/health"),
    ("post", "/api/v1/experiments"),
    ("get", "/api/v1/experiments"),
    ("post", "/api/v1/experiments/get-or-create"),
    ("get", "/api/v1/experiments/{id_or_name}"),
    ("post", "/api/v1/runs"),
    ("get", "/api/v1/runs/{run_id}"),
    ("post", "/api/v1/runs/{run_id}/log-batch"),
    ("post", "/api/v1/runs/{run_id}/end"),
    ("post", "/api/v1/runs/search"),
    ("get", "/api/v1/runs/{run_id}/metric-history"),
    ("get", "/api/v1/runs/{run_id}/metric-columns"),
    ("get", "/api/v1/runs/{run_id}/metric-chart"),
    ("put", "/api/v1/runs/{run_id}/artifacts/{path}"),
    ("get", "/api/v1/runs/{run_id}/artifacts/{path}"),
    ("get", "/api/v1/runs/{run_id}/artifacts"),
    ("get", "/api/v1/blobs/{sha256}"),
    ("post", "/api/v1/models"),
    ("get", "/api/v1/models"),
    ("get", "/api/v1/models/{name}"),
    ("post", "/api/v1/models/{name}/versions"),
    ("get", "/api/v1/models/{name}/versions"),
    ("get", "/api/v1/models/{name}/versions/{version}"),
    ("patch", "/api/v1/models/{name}/versions/{version}"),
    ("put", "/api/v1/models/{name}/versions/{version}/tags"),
    ("post", "/api/v1/models/{name}/versions/{version}/trust"),
    ("put", "/api/v1/models/{name}/aliases/{alias}"),
    ("delete", "/api/v1/models/{name}/aliases/{alias}"),
    ("put", "/api/v1/models/{model}/gate-policy"),
    ("get", "/api/v1/models/{model}/gate-policy"),
    ("post", "/api/v1/models/{model}/versions/{version}/gate-reports"),
    ("get", "/api/v1/models/{model}/versions/{version}/gate-reports/latest"),
    ("post", "/api/v1/datasets/{name}/versions"),
    ("get", "/api/v1/datasets"),
    ("get", "/api/v1/datasets/{name}/versions"),
    ("get", "/api/v1/datasets/{name}/versions/{version}"),
    ("get", "/api/v1/dataset-versions/{dataset_version_id}"),
    ("post", "/api/v1/runs/{run_id}/inputs"),
    ("get", "/api/v1/deployments"),
    ("get", "/api/v1/deployments/{endpoint}"),
    ("post", "/api/v1/deployments/{endpoint}/revisions"),
    ("get", "/api/v1/deployments/{endpoint}/revisions"),
    ("get", "/api/v1/deployments/{endpoint}/revisions/{revision}"),
    ("post", "/api/v1/deployments/{endpoint}/rollback"),
    ("post", "/api/v1/monitors"),
    ("get", "/api/v1/monitors"),
    ("post", "/api/v1/monitors/apply"),
    ("get", "/api/v1/monitors/{name}"),
    ("patch", "/api/v1/monitors/{name}"),
    ("delete", "/api/v1/monitors/{name}"),
    ("get", "/api/v1/monitors/{name}/checks"),
    ("post", "/api/v1/monitors/run"),
    ("post", "/api/v1/monitors/report"),
    ("get", "/api/v1/alerts"),
    ("get", "/api/v1/alerts/{alert_id}"),
    ("get", "/api/v1/deployments/{endpoint}/traffic"),
    ("get", "/api/v1/deployments/{endpoint}/predictions"),
    ("post", "/api/v1/rollouts/{endpoint}"),
    ("get", "/api/v1/rollouts/{endpoint}"),
    ("post", "/api/v1/rollouts/{endpoint}/pause"),
    ("post", "/api/v1/rollouts/{endpoint}/resume"),
    ("post", "/api/v1/rollouts/{endpoint}/promote"),
    ("post", "/api/v1/rollouts/{endpoint}/abort"),
    ("put", "/api/v1/models/{model}/gate-policy"),
    ("get", "/api/v1/models/{model}/gate-policy"),
    ("post", "/api/v1/models/{model}/versions/{version}/gate-reports"),
    ("get", "/api/v1/models/{model}/versions/{version}/gate-reports/latest"),
    ("get", "/api/v1/audit/events"),
    ("get", "/api/v1/audit/verify"),
    ("get", "/api/v1/audit/anchor"),
    ("get", "/api/v1/retention"),
    ("post", "/api/v1/retention/purge"),
    ("post", "/api/v1/holds"),
    ("get", "/api/v1/holds"),
    ("post", "/api/v1/holds/{hold_id}/release"),
    ("post", "/api/v1/models/{model}/versions/{version}/explanation"),
    ("get", "/api/v1/models/{model}/versions/{version}/explanation"),
    ("get", "/api/v1/pipelines/runs"),
    ("get", "/api/v1/pipelines/runs/{run_id}"),
    ("get", "/api/v1/pipelines/runs/{run_id}/explain"),
    ("post", "/api/v1/triggers"),
    ("get", "/api/v1/triggers"),
    ("get", "/api/v1/triggers/{name}"),
    ("put", "/api/v1/triggers/{name}/state"),
    ("get", "/api/v1/triggers/{trigger_id}/evaluations"),
    ("get", "/api/v1/lineage"),
    ("get", "/api/v1/models/{name}/versions/{version}/card"),
    ("patch", "/api/v1/models/{name}/versions/{version}/card"),
    ("get", "/api/v1/models/{name}/versions/{version}/compliance-documents"),
    ("post", "/api/v1/features/apply"),
    ("get", "/api/v1/features"),
    ("get", "/api/v1/features/{name}"),
    ("get", "/api/v1/features/{name}/versions"),
    ("post", "/api/v1/features/resolve"),
    ("post", "/api/v1/features/materialize"),
    ("get", "/api/v1/feature-materializations"),
    ("post", "/api/v1/features/online"),
    ("get", "/api/v1/feature-freshness"),
    ("post", "/api/v1/features/skew"),
    ("put", "/api/v1/endpoint-features/{endpoint}"),
    ("get", "/api/v1/endpoint-features/{endpoint}"),
    ("delete", "/api/v1/endpoint-features/{endpoint}"),
    # identity and access
    ("get", "/api/v1/whoami"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users"),
    ("put", "/api/v1/users/{name}/role"),
    ("post", "/api/v1/tokens"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens/{token_id}/revoke"),
    ("post", "/api/v1/approvals"),
    ("get", "/api/v1/approvals"),
    ("get", "/api/v1/approvals/{approval_id}"),
    ("get", "/api/v1/approvals/{approval_id}/may-decide"),
    ("post", "/api/v1/approvals/{approval_id}/approve"),
    ("post", "/api/v1/approvals/{approval_id}/reject"),
    ("put", "/api/v1/approval-policies"),
    ("get", "/api/v1/approval-policies"),
    # projects
    ("post", "/api/v1/projects"),
    ("get", "/api/v1/projects"),
    ("get", "/api/v1/projects/{name}"),
    # human oversight of deployments, inference keys
    ("post", "/api/v1/deployments/{endpoint}/stop"),
    ("post", "/api/v1/deployments/{endpoint}/resume"),
    ("post", "/api/v1/deployments/{endpoint}/override"),
    ("post", "/api/v1/inference-keys"),
    ("get", "/api/v1/inference-keys"),
    ("post", "/api/v1/inference-keys/{key_id}/revoke"),
}


def test_openapi_lists_the_routes(client: httpx.Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    found = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert found == EXPECTED
    log_batch = doc["paths"]["/api/v1/runs/{run_id}/log-batch"]["post"]
    schema = log_batch["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]["metrics"]["required"]) == {
        "keys",
        "values",
        "steps",
        "timestamps",
    }
    assert client.get("/api/v1/docs").status_code == 200


def _schema(op: dict[str, object], name: str) -> dict[str, object]:
    params = op["parameters"]
    assert isinstance(params, list)
    return next(p["schema"] for p in params if p["name"] == name)


def test_errors_and_rules_are_documented(client: httpx.Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status in ("400", "404", "409", "422"):
                answer = op["responses"][status]["content"]["application/json"]["schema"]
                assert answer == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    error = doc["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "details"}
    version = doc["paths"]["/api/v1/models/{name}/versions/{version}"]
    assert _schema(version["patch"], "version")["pattern"] == f"^{NUMBER}{END}"
    assert _schema(version["get"], "name")["maxLength"] == 250
    blob = doc["paths"]["/api/v1/blobs/{sha256}"]["get"]
    assert _schema(blob, "sha256")["pattern"] == SHA256_PATTERN
    revision = doc["paths"]["/api/v1/deployments/{endpoint}/revisions/{revision}"]["get"]
    assert _schema(revision, "revision")["pattern"] == f"^(current|{NUMBER}){END}"
    search = doc["paths"]["/api/v1/runs/search"]["post"]["requestBody"]["content"]
    body = doc["components"]["schemas"][search["application/json"]["schema"]["$ref"][21:]]
    assert body["properties"]["max_results"]["maximum"] == 50_000
    assert body["additionalProperties"] is False


def test_allow_names_the_methods_of_the_template_that_owns_the_url(
    client: httpx.Client,
) -> None:
    # /experiments/get-or-create also matches /experiments/{id_or_name:path} (GET), but
    # belongs, as OpenAPI says, to the concrete template.
    answer = client.request("OPTIONS", "/api/v1/experiments/get-or-create")
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")
    answer = client.request("OPTIONS", "/api/v1/deployments/web/rollback")
    assert answer.headers["allow"] == "POST"
    # a GET the greedy {name:path} route would take for model "a/versions/1/tags"
    answer = client.get("/api/v1/models/a/versions/1/tags")
    assert (answer.status_code, answer.headers["allow"]) == (405, "PUT")
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_json_integers_and_booleans_are_what_the_schema_says(client: httpx.Client) -> None:
    search = "/api/v1/runs/search"
    assert client.post(search, json={"offset": 0.0}).status_code == 200  # 0.0 is an integer
    for bad in ({"offset": False}, {"offset": 1.5}, {"offset": "1"}, {"offset": 2**53}):
        answer = client.post(search, json=bad)
        assert answer.status_code == 422, bad
        assert "offset" in answer.json()["error"]["message"]
    answer = client.post("/api/v1/monitors/run", json={"due_only": 0})
    assert answer.status_code == 422 and "due_only" in answer.json()["error"]["message"]
