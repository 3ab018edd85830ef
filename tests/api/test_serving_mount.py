"""`conveyor server` also serves deployed endpoints under /serving, logging predictions
where monitoring reads them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.api.app import create_app
from conveyor.api.testing import ServerThread


@pytest.mark.server
def test_server_serves_deployed_endpoints(conveyor_home: Path) -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 0.0]})
    with conveyor.start_run():
        conveyor.log_model(
            LogisticRegression().fit(x, [0, 0, 1, 1]),
            "model",
            input_example=x,
            registered_model_name="toy",
        )
    backend = conveyor.connect()
    backend.deploy("toy", model="toy/1")
    with (
        ServerThread(create_app(backend), lifespan="on") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        answer = client.post(
            "/serving/endpoints/toy/invocations",
            json={"dataframe_records": [{"a": 3.0, "b": 0.0}]},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [1]
        bad = client.post("/serving/endpoints/toy/invocations", json={"records": [{}]})
        assert bad.status_code == 422
        assert client.get("/api/v1/health").status_code == 200
    logged = list((conveyor_home / "logs" / "predictions").rglob("*.parquet"))
    assert logged, "the prediction log is flushed at shutdown"


@pytest.mark.server
def test_an_endpoint_deployed_after_the_server_started_answers_at_once(
    conveyor_home: Path,
) -> None:
    """No 404 for the first requests after a deploy: the server polls on an unknown name."""
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 0.0]})
    with conveyor.start_run():
        conveyor.log_model(LogisticRegression().fit(x, [0, 0, 1, 1]), "model",
                           input_example=x, registered_model_name="toy")  # fmt: skip
    backend = conveyor.connect()
    row = {"records": [{"a": 3.0, "b": 0.0}]}
    with (
        ServerThread(create_app(backend), lifespan="on") as server,  # nothing deployed yet
        httpx.Client(base_url=server.url) as client,
    ):
        unknown = client.post("/serving/endpoints/first/invocations", json=row)
        assert unknown.status_code == 404 and "first" in unknown.text
        for name in ("first", "second"):
            backend.deploy(name, model="toy/1")
            answer = client.post(f"/serving/endpoints/{name}/invocations", json=row)
            assert answer.status_code == 200, answer.text
            assert client.post("/serving/invocations", json=row).status_code == 200
