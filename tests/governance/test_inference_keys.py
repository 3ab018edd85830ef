"""Inference keys: an endpoint listed in the keys file answers only callers with one of
its keys (v2 and MLflow routes, on `conveyor server`'s /serving mount); others stay open."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import conveyor
from conveyor.api.app import create_app
from conveyor.api.testing import ServerThread
from conveyor.cli.main import app as cli
from conveyor.config import load_settings
from conveyor.errors import ValidationFailed
from conveyor.governance.inference_keys import load_inference_keys


@pytest.mark.server
def test_a_keyed_endpoint_needs_its_key(tmp_path: Path) -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 0.0]})
    with conveyor.start_run():
        conveyor.log_model(LogisticRegression().fit(x, [0, 0, 1, 1]), "model",
                           input_example=x, registered_model_name="toy")  # fmt: skip
    backend = conveyor.connect()
    backend.deploy("toy", model="toy/1", compile=False)
    backend.deploy("open", model="toy/1", compile=False)
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
