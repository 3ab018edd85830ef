"""The OpenAPI document lists every route; the docs page is served."""

from __future__ import annotations

import httpx

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
    ("put", "/api/v1/runs/{run_id}/artifacts/{path}"),
    ("get", "/api/v1/runs/{run_id}/artifacts/{path}"),
    ("get", "/api/v1/runs/{run_id}/artifacts"),
    ("get", "/api/v1/blobs/{sha256}"),
    ("post", "/api/v1/models"),
    ("get", "/api/v1/models"),
    ("get", "/api/v1/models/{name}"),
    ("post", "/api/v1/models/{name}/versions"),
    ("get", "/api/v1/models/{name}/versions"),
    ("get", "/api/v1/models/{name}/versions/{ref}"),
    ("patch", "/api/v1/models/{name}/versions/{version}"),
    ("put", "/api/v1/models/{name}/versions/{version}/tags"),
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
    ("get", "/api/v1/pipelines/runs"),
    ("get", "/api/v1/pipelines/runs/{run_id}"),
    ("get", "/api/v1/pipelines/runs/{run_id}/explain"),
    ("post", "/api/v1/triggers"),
    ("get", "/api/v1/triggers"),
    ("get", "/api/v1/triggers/{name}"),
    ("put", "/api/v1/triggers/{name}/state"),
    ("get", "/api/v1/triggers/{trigger_id}/evaluations"),
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
