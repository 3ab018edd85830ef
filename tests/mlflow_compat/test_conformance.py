"""Issue 14 item 4: the stock MLflow client over every route family (pagination, filters
with negative numbers and quoted strings, NaN/±Inf, Unicode keys, lifecycle, logged
models, registry, error codes), and the wire details checked over raw HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.mlflow_compat.conftest import run_script


@pytest.mark.slow
def test_stock_client_conformance(
    mlflow_python: Path, store_server: tuple[str, Any], tmp_path: Path
) -> None:
    """On SQLite and on PostgreSQL (``store_server``)."""
    url, backend = store_server
    seen = run_script(mlflow_python, "conformance.py", url, tmp_path)
    expected = {
        # pagination and search
        "page_sizes": [10, 10, 5],
        "all_runs": 25,
        "neg_lt": 5,
        "neg_eq": 5,
        "sq": 12,
        "dq": 12,
        "quote_in_string": 1,
        "and": 2,
        "like": 10,
        "run_name_tag": 1,
        "status": 25,
        "run_id_in": 2,
        "order_desc": 24.0,
        "order_two": ["r23", "r21"],
        "fluent_pandas_rows": 3,
        "bad_filter": "INVALID_PARAMETER_VALUE",
        "or_filter": "INVALID_PARAMETER_VALUE",
        # non-finite values, Unicode keys
        "nan": True,
        "pinf": True,
        "ninf": True,
        "hist_nan": True,
        "unicode": [0.5, "é", "值"],
        "unicode_search": 1,
        "step": 3,
        # error codes
        "err_missing_run": "RESOURCE_DOES_NOT_EXIST",
        "err_exp_exists": "RESOURCE_ALREADY_EXISTS",
        "err_param_change": "INVALID_PARAMETER_VALUE",
        "missing_exp_none": True,
        "err_batch_too_big": "INVALID_PARAMETER_VALUE",
        "err_max_results": "INVALID_PARAMETER_VALUE",
        # lifecycle
        "after_delete": 25,
        "deleted_only": 1,
        "deleted_stage": "deleted",
        "after_restore": 26,
        "exp_tags": {"team": "ml", "stage": "dev"},
        "renamed": "conformance-renamed",
        "exp_search": ["conformance-renamed"],
        "exp_deleted_stage": "deleted",
        "exp_deleted_listed": False,
        "exp_restored_listed": True,
        "tag_deleted": True,
        "renamed_run": "renamed-run",
        "default_experiment_run": True,
        # logged models and registry
        "logged_models_found": True,
        "logged_model_tags": "good",
        "rm_name": "conf-model",
        "err_rm_exists": "RESOURCE_ALREADY_EXISTS",
        "versions": ["1", "2"],
        "mv_status": "READY",
        "mv_description": "first",
        "mv_tags": {"validated": "yes"},
        "mv_tags_after": {},
        "alias": "2",
        "rm_aliases": {"champion": "2"},
        "err_alias_gone": "RESOURCE_DOES_NOT_EXIST",
        "mv_search": ["1", "2"],
        "mv_search_run": 2,
        "latest": ["2"],
        "rm_after": ["d1", {"k": "v"}],
        "rm_search": ["conf-model"],
        "err_mv_delete": "INVALID_PARAMETER_VALUE",
        "err_missing_model": "RESOURCE_DOES_NOT_EXIST",
        "err_missing_version": "RESOURCE_DOES_NOT_EXIST",
        "renamed_model": "conf-model-2",
        "err_deleted_model": "RESOURCE_DOES_NOT_EXIST",
        "predict": [2.0, 4.0],
    }
    assert {k: seen.get(k) for k in expected} == expected
    assert seen["download_uri"].startswith("mlflow-artifacts:/")
    assert [m.version for m in backend.list_model_versions("conf-model-2")] == [2, 1]


def test_wire_details_over_http(api_server: tuple[str, Any]) -> None:
    """Error bodies and codes, unknown routes, the ajax prefix, int64 as numbers, versions
    as strings, NaN/±Inf both ways, empty page tokens, multipart 501."""
    url, _ = api_server
    with httpx.Client(base_url=url) as http:
        missing = http.get("/api/2.0/mlflow/no/such/route")
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        assert set(missing.json()) == {"error_code", "message"}

        exp = http.post("/ajax-api/2.0/mlflow/experiments/create", json={"name": "wire"})
        assert exp.status_code == 200
        exp_id = exp.json()["experiment_id"]
        again = http.post("/api/2.0/mlflow/experiments/create", json={"name": "wire"})
        assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
        bad = http.post("/api/2.0/mlflow/experiments/create", json={})
        assert (bad.status_code, bad.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")

        run = http.post(
            "/api/2.0/mlflow/runs/create",
            json={"experiment_id": exp_id, "start_time": 1_700_000_000_123, "run_name": "w"},
        ).json()["run"]
        assert run["info"]["start_time"] == 1_700_000_000_123  # int64 as a JSON number
        run_id = run["info"]["run_id"]
        body = (
            '{"run_id": "RUN", "metrics": [{"key": "a", "value": NaN, "timestamp": 1, "step": 0},'
            '{"key": "b", "value": "Infinity", "timestamp": 1, "step": 0},'
            '{"key": "c", "value": "-Infinity", "timestamp": 1, "step": 0},'
            '{"key": "d", "value": -12.0, "timestamp": 1, "step": 2}]}'
        ).replace("RUN", run_id)
        logged = http.post(
            "/api/2.0/mlflow/runs/log-batch",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert logged.status_code == 200, logged.text
        got = http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()["run"]
        values = {m["key"]: m["value"] for m in got["data"]["metrics"]}
        assert values == {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": -12.0}
        assert {"key": "mlflow.runName", "value": "w"} in got["data"]["tags"]

        search = http.post(
            "/api/2.0/mlflow/runs/search",
            json={"experiment_ids": [exp_id], "filter": "metrics.d < -11.5", "page_token": ""},
        ).json()
        assert [r["info"]["run_id"] for r in search["runs"]] == [run_id]
        assert "next_page_token" not in search
        bad_token = http.post(
            "/api/2.0/mlflow/runs/search",
            json={"experiment_ids": [exp_id], "page_token": "not-a-token"},
        )
        assert bad_token.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        no_run = http.get("/api/2.0/mlflow/runs/get", params={"run_id": "f" * 32})
        assert (no_run.status_code, no_run.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")

        http.post("/api/2.0/mlflow/registered-models/create", json={"name": "wire-model"})
        rm = http.get("/api/2.0/mlflow/registered-models/get", params={"name": "wire-model"})
        assert rm.json()["registered_model"]["name"] == "wire-model"

        mpu = http.post("/api/2.0/mlflow-artifacts/mpu/create/1/2/artifacts/x.bin", json={})
        assert (mpu.status_code, mpu.json()["error_code"]) == (501, "NOT_IMPLEMENTED")
        put = http.put(
            f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/d/x.txt",
            content=b"abc",
        )
        assert put.status_code == 200, put.text
        listed = http.get(
            "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{run_id}/artifacts"}
        ).json()
        assert listed == {"files": [{"path": "d", "is_dir": True}]}
        down = http.get(f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/d/x.txt")
        assert down.content == b"abc"


def test_remaining_routes_over_http(api_server: tuple[str, Any]) -> None:
    """Routes the stock-client script does not reach: log-model, log-inputs, logged-model
    params and artifact listing, the runs artifact list, deleting a logged model."""
    url, backend = api_server
    api = "/api/2.0/mlflow"
    with httpx.Client(base_url=url) as http:
        exp_id = http.post(f"{api}/experiments/create", json={"name": "rest"}).json()[
            "experiment_id"
        ]
        run_id = http.post(f"{api}/runs/create", json={"experiment_id": exp_id}).json()["run"][
            "info"
        ]["run_id"]
        model_json = '{"artifact_path": "m", "flavors": {"sklearn": {}}}'
        ok = http.post(f"{api}/runs/log-model", json={"run_id": run_id, "model_json": model_json})
        assert ok.status_code == 200, ok.text
        dataset = {"name": "train", "digest": "abc", "source_type": "local", "source": "{}"}
        ok = http.post(
            f"{api}/runs/log-inputs",
            json={"run_id": run_id, "datasets": [{"tags": [], "dataset": dataset}]},
        )
        assert ok.status_code == 200, ok.text
        run = http.get(f"{api}/runs/get", params={"run_id": run_id}).json()["run"]
        assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "train"
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert '"artifact_path": "m"' in tags["mlflow.log-model.history"]
        assert "conveyor.mlflow.dataset_inputs" not in tags

        model = http.post(
            f"{api}/logged-models",
            json={"experiment_id": exp_id, "source_run_id": run_id, "name": "lm"},
        ).json()["model"]["info"]
        model_id = model["model_id"]
        assert model["status"] == "LOGGED_MODEL_PENDING"
        http.post(
            f"{api}/logged-models/{model_id}/params", json={"params": [{"key": "a", "value": "1"}]}
        )
        up = http.put(
            f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/models/{model_id}/artifacts/MLmodel",
            content=b"flavors: {}\n",
        )
        assert up.status_code == 200, up.text
        listed = http.get(f"{api}/logged-models/{model_id}/artifacts/directories").json()
        assert listed["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 12}]
        done = http.patch(f"{api}/logged-models/{model_id}", json={"status": "LOGGED_MODEL_READY"})
        assert done.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
        got = http.get(f"{api}/logged-models/{model_id}").json()["model"]
        assert got["data"]["params"] == [{"key": "a", "value": "1"}]
        gone = http.delete(f"{api}/logged-models/{model_id}")
        assert gone.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        # the run's own artifact listing leaves the logged model's files out
        assert http.get(f"{api}/artifacts/list", params={"run_id": run_id}).json()["files"] == []
        assert backend.list_artifacts(run_id)[0]["path"] == f"logged-models/{model_id}/MLmodel"
