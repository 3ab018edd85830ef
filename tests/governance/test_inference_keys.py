"""Inference keys: an endpoint listed in the keys file answers only callers with one of
its keys (v2 and MLflow routes, on `conveyor server`'s /serving mount); others stay open."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import conveyor
from conveyor.api.app import create_app
from conveyor.api.testing import ServerThread
from conveyor.cli.main import app as cli
from conveyor.config import load_settings
from conveyor.errors import ValidationFailed
from conveyor.governance.inference_keys import load_inference_keys


def _toy_and_open() -> Any:
    """Endpoints ``toy`` and ``open`` on one small classifier; the SDK's backend."""
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 0.0]})
    with conveyor.start_run():
        conveyor.log_model(LogisticRegression().fit(x, [0, 0, 1, 1]), "model",
                           input_example=x, registered_model_name="toy")  # fmt: skip
    backend = conveyor.connect()
    backend.deploy("toy", model="toy/1", compile=False)
    backend.deploy("open", model="toy/1", compile=False)
    return backend


@pytest.mark.server
def test_a_keyed_endpoint_needs_its_key(tmp_path: Path) -> None:
    backend = _toy_and_open()
    keys = tmp_path / "keys.json"
    made = CliRunner().invoke(cli, ["inference-keys", "create", "toy", "--file", str(keys)])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600 and key not in keys.read_text()
    assert set(json.loads(keys.read_text())) == {"toy"}
    settings = load_settings(
        {"CONVEYOR_INFERENCE_KEYS_FILE": str(keys), "CONVEYOR_AUTH": "insecure-local"}
    )
    row = {"dataframe_records": [{"a": 3.0, "b": 0.0}]}
    v2 = {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [3.0]},
                     {"name": "b", "shape": [1], "datatype": "FP64", "data": [0.0]}]}  # fmt: skip
    with (
        ServerThread(create_app(backend, settings=settings), lifespan="on") as server,
        httpx.Client(base_url=server.url + "/serving", timeout=60) as client,
    ):
        refused = client.post("/endpoints/toy/invocations", json=row)
        assert refused.status_code == 401 and "needs an inference key" in refused.text
        wrong = {"Authorization": "Bearer cvk_wrong"}
        assert client.post("/endpoints/toy/invocations", json=row, headers=wrong).status_code == 401
        assert client.post("/v2/models/toy/infer", json=v2).status_code == 401
        good = {"Authorization": f"Bearer {key}"}
        answer = client.post("/endpoints/toy/invocations", json=row, headers=good)
        assert answer.status_code == 200 and answer.json()["predictions"] == [1]
        assert client.post("/v2/models/toy/infer", json=v2, headers=good).status_code == 200
        assert client.post("/endpoints/open/invocations", json=row).status_code == 200
        assert key not in refused.text


def test_a_bad_keys_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="does not exist"):
        load_inference_keys(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"toy": ["short"]}')
    with pytest.raises(ValidationFailed, match="sha256"):
        load_inference_keys(tmp_path / "bad.json")
    assert load_inference_keys("") == {}


@pytest.mark.server
def test_store_keys_guard_predict_explain_and_feedback(tmp_path: Path) -> None:
    """Keys made through the operation table (audited, stored as sha256) are picked up by
    `conveyor serve`'s runtime on its poll, on every route of the endpoint, /feedback too;
    revoking the last key closes the endpoint."""
    from conveyor.deployments.runtime import DeploymentServer
    from conveyor.governance.tables import inference_keys
    from conveyor.serving import PredictionLog

    backend = _toy_and_open()
    made = CliRunner().invoke(cli, ["inference-keys", "create", "toy", "-d", "web shop"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("cvk_")
    with backend.meta.read() as conn:
        stored = conn.execute(sa.select(inference_keys)).one()
    assert stored.secret_sha256 == hashlib.sha256(key.encode()).hexdigest()
    created = backend.list_audit_events(action="inference_key.create")[0]
    assert created.object_id == stored.id and key not in json.dumps(created.to_dict())
    assert stored.secret_sha256 not in json.dumps(created.to_dict())
    assert [k.key for k in backend.list_inference_keys("toy")] == [None]  # never shown again

    row = {"dataframe_records": [{"a": 3.0, "b": 0.0}]}
    good = {"Authorization": f"Bearer {key}"}
    app = DeploymentServer(
        backend, None, poll_interval=60, prediction_log=PredictionLog(str(tmp_path / "log"))
    )
    with (
        ServerThread(app, lifespan="on") as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        answer = client.post("/endpoints/toy/invocations", json=row, headers=good)
        assert answer.status_code == 200, answer.text
        feedback = {"endpoint": "toy", "prediction_id": answer.json()["prediction_ids"][0],
                    "label": 1}  # fmt: skip
        for path, body in [("/endpoints/toy/invocations", row), ("/endpoints/toy/explain", row),
                           ("/feedback", feedback)]:  # fmt: skip
            refused = client.post(path, json=body)
            assert refused.status_code == 401 and "needs an inference key" in refused.text, path
            assert client.post(path, json=body, headers=good).status_code == 200, path
        assert client.post("/endpoints/open/invocations", json=row).status_code == 200

        revoked = CliRunner().invoke(cli, ["inference-keys", "revoke", stored.id, "--json",
                                           "--reason", "leaked in a log"])  # fmt: skip
        assert revoked.exit_code == 0, revoked.output
        assert json.loads(revoked.stdout)["revoke_reason"] == "leaked in a log"
        app.watcher.poll()  # what the runtime does every poll interval
        closed = client.post("/endpoints/toy/invocations", json=row, headers=good)
        assert closed.status_code == 401  # its last key revoked: closed, not open
    event = backend.list_audit_events(action="inference_key.revoke")[0]
    assert event.details["reason"] == "leaked in a log" and event.actor
    with pytest.raises(ValidationFailed, match="a reason is required to revoke"):
        backend.revoke_inference_key(stored.id, "")
    with pytest.raises(ValidationFailed, match="16 hexadecimal"):
        backend.revoke_inference_key("../etc", "x")
