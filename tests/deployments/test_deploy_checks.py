"""Deploy refuses what cannot serve; a server restarted on a broken revision still serves
(issue 9 item 6, issue 10 item 5).

- a model without input example or signature is refused at deploy, naming the fix;
- ``deploy --no-compile`` verifies every blob like a compiling deploy (no revision that a
  restarted server could not load);
- at start-up a server serves the newest revision that loads and reports the broken one;
- only when no revision loads do the endpoint's routes answer 503 with the reason (not 404).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.deployments.runtime import DeploymentServer
from conveyor.errors import IntegrityError, NotFound, ValidationFailed
from conveyor.registry.entities import ModelVersion

from .helpers import client, corrupt_blob, log_and_register, records, run


def _model_blob(mv: ModelVersion) -> str:
    return next(str(f["sha256"]) for f in mv.files if f["path"] == "model.skops")


@pytest.mark.parametrize("compile", [True, False], ids=["compile", "no-compile"])
def test_a_model_without_example_or_signature_is_refused(
    compile: bool, home_backend: Any, forests: list[RandomForestClassifier]
) -> None:
    log_and_register(forests[0], "bare", None)
    with pytest.raises(ValidationFailed) as info:
        home_backend.deploy("bare-api", model="bare/1", compile=compile)
    message = info.value.message
    assert "log_model(..., input_example=...)" in message and "signature=" in message
    assert "nothing was deployed" in message
    assert home_backend.list_deployments() == []


def test_cli_deploy_no_compile_refuses_a_corrupted_model(
    home_backend: Any, forests: list[Any], clf_data: Any
) -> None:
    log_and_register(forests[0], "churn", clf_data[0].head(5))
    mv = home_backend.get_model_version("churn", 1)
    corrupt_blob(home_backend.artifacts, _model_blob(mv))
    result = CliRunner().invoke(app, ["deploy", "churn-api", "--model", "churn/1", "--no-compile"])
    assert result.exit_code != 0, result.output
    assert "model.skops" in result.output and "corrupted" in result.output
    assert home_backend.list_deployments() == []


def test_no_compile_refuses_a_missing_blob(
    home_backend: Any, forests: list[Any], clf_data: Any
) -> None:
    log_and_register(forests[0], "churn", clf_data[0].head(5))
    mv = home_backend.get_model_version("churn", 1)
    path = Path(home_backend.artifacts.backend.root) / home_backend.artifacts.key(_model_blob(mv))
    path.unlink()
    with pytest.raises(NotFound, match=r"'model.skops' of churn/1 .* is missing"):
        home_backend.deploy("churn-api", model="churn/1", compile=False)


def test_restart_serves_the_last_revision_that_loads(
    home_backend: Any, forests: list[Any], clf_data: Any
) -> None:
    X = clf_data[0]
    log_and_register(forests[0], "churn", X.head(5))
    log_and_register(forests[1], "churn", X.head(5))
    home_backend.deploy("churn-api", model="churn/1", compile=False)
    home_backend.deploy("churn-api", model="churn/2", compile=False)
    corrupt_blob(home_backend.artifacts, _model_blob(home_backend.get_model_version("churn", 2)))

    server = DeploymentServer(home_backend, ["churn-api"], poll_interval=60)  # a restart
    status = server.watcher.status["churn-api"]
    assert status.serving == 1 and status.failed_revision == 2
    assert status.error is not None and "revision 2 failed to load" in status.error

    async def go() -> None:
        async with client(server) as c:
            r = await c.post(
                "/endpoints/churn-api/invocations", json={"records": records(X.head(2))}
            )
            assert r.status_code == 200, r.text
            report = (await c.get("/deployments")).json()["endpoints"]["churn-api"]
            assert report["serving"] == 1 and report["failed_revision"] == 2

    run(go())


def test_an_endpoint_where_no_revision_loads_answers_503_with_the_reason(
    home_backend: Any, forests: list[Any], clf_data: Any
) -> None:
    X: pd.DataFrame = clf_data[0]
    log_and_register(forests[0], "churn", X.head(5))
    home_backend.deploy("churn-api", model="churn/1", compile=False)
    corrupt_blob(home_backend.artifacts, _model_blob(home_backend.get_model_version("churn", 1)))
    with pytest.raises(IntegrityError):  # the model itself cannot be read
        home_backend.deploy("other-api", model="churn/1", compile=False)

    server = DeploymentServer(home_backend, ["churn-api"], poll_interval=60)  # starts anyway
    body = {"records": records(X.head(2))}

    async def go() -> None:
        async with client(server) as c:
            for path in ("/endpoints/churn-api/invocations", "/invocations"):
                r = await c.post(path, json=body)
                assert r.status_code == 503, (path, r.text)
                error = r.json()["error"]
                assert error["code"] == "unavailable" and "revision 1 failed" in error["message"]
                assert "corrupted" in error["message"] and int(r.headers["retry-after"]) >= 1
            v2 = await c.post(
                "/v2/models/churn-api/infer",
                json={"inputs": [{"name": "f0", "shape": [1], "datatype": "FP64", "data": [1]}]},
            )
            assert v2.status_code == 503 and "revision 1 failed" in v2.json()["error"]
            assert (await c.post("/endpoints/ghost/invocations", json=body)).status_code == 404

    run(go())
