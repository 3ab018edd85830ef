"""Issue 14 item 3: the stock MLflow client's round trip against ``conveyor server``, and
the same objects seen through Conveyor's own SDK and registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from tests.mlflow_compat.conftest import run_script

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.errors import PermissionDenied, ValidationFailed
from conveyor.governance.identity import Actor
from conveyor.models import load_model
from conveyor.registry.pickle_trust import TRUST_TAG
from conveyor.registry.uris import materialize, resolve_model_uri

pytestmark = pytest.mark.slow


def test_stock_client_round_trip_lands_in_conveyor(
    mlflow_python: Path, store_server: tuple[str, Any], tmp_path: Path
) -> None:
    """On SQLite and on PostgreSQL (``store_server``)."""
    url, backend = store_server
    seen = run_script(mlflow_python, "roundtrip.py", url, tmp_path)

    # what the stock client saw
    assert seen["predictions"] == seen["expected"]
    assert seen["status"] == "FINISHED"
    assert seen["params"] == {"C": "1.0", "solver": "lbfgs"}
    assert seen["metrics"] == {"loss": 0.2}
    assert seen["run_name"] == "roundtrip"
    assert [step for step, _ in seen["history"]] == [0, 1, 2, 3, 4]
    assert seen["artifacts"] == ["notes.txt", "sub"]  # the logged model's files are not listed
    assert seen["sub_artifacts"] == ["sub/dir/notes.txt"]
    assert seen["notes"] == "hello conveyor"
    assert seen["registered_version"] == "1"
    assert (seen["alias_version"], seen["alias_version_type"]) == ("1", "str")
    assert seen["logged_model_status"].endswith("READY")

    # the same objects through Conveyor
    run = backend.get_run(seen["run_id"])
    assert run.experiment_id == seen["experiment_id"]
    assert backend.get_experiment("mlflow-compat").id == seen["experiment_id"]
    assert run.params == {"C": "1.0", "solver": "lbfgs"}
    assert [p.value for p in backend.get_metric_history(run.id, "loss")][-1] == 0.2
    paths = {a["path"] for a in backend.list_artifacts(run.id)}
    assert {"notes.txt", "sub/dir/notes.txt"} <= paths
    assert f"logged-models/{seen['model_id']}/MLmodel" in paths

    # MLflow 3 saves scikit-learn with skops: a Conveyor model version that Conveyor loads
    # (trusted types checked) and deploys like its own
    mv = backend.get_model_version("mlflow-compat-model", "champion")
    assert (mv.version, mv.flavor, mv.run_id) == (1, "sklearn", run.id)
    assert mv.source == f"runs:/{run.id}/logged-models/{seen['model_id']}"
    assert {"MLmodel", "model.skops", "conveyor-model.json"} <= {f["path"] for f in mv.files}
    assert [c["name"] for c in (mv.signature or {})["inputs"]] == ["a", "b"]
    folder = materialize(
        backend, resolve_model_uri(backend, "models:/mlflow-compat-model@champion")
    )
    frame = pd.DataFrame({"a": [1.0, 15.0], "b": [1.0, 0.0]})
    assert list(load_model(folder).predict(frame)) == [0, 1]
    revision = backend.deploy("mlflow-compat", model="mlflow-compat-model/1", compile=False)
    assert revision.endpoint == "mlflow-compat"

    # a pickled MLflow model is a version too, refused by deploy until an admin trusts it
    pickled = backend.get_model_version("mlflow-compat-pickled", seen["pickled_version"])
    assert pickled.flavor == "mlflow_pickle"
    ref = "mlflow-compat-pickled/1"
    with pytest.raises(PermissionDenied, match=r"cloudpickle.*--trust-pickle") as refused:
        backend.deploy("mlflow-pickled", model=ref, compile=False)
    assert refused.value.details["flag"] == "--trust-pickle"
    editor = backend.as_actor(Actor("ed", roles=(("default", "editor"),)))
    with pytest.raises(PermissionDenied, match="models:trust"):
        editor.deploy("mlflow-pickled", model=ref, compile=False, trust_pickle=True)
    with pytest.raises(ValidationFailed, match="reserved"):  # the mark is no ordinary tag
        backend.set_model_version_tag("mlflow-compat-pickled", 1, TRUST_TAG, "ed")
    backend.deploy("mlflow-pickled", model=ref, compile=False, trust_pickle=True)
    assert backend.get_model_version("mlflow-compat-pickled", 1).tags[TRUST_TAG]
    with ServerThread(create_app(backend), lifespan="on") as server:  # a fresh runtime
        answer = httpx.post(
            f"{server.url}/serving/endpoints/mlflow-pickled/invocations",
            json={"dataframe_records": seen["pickled_rows"]},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == seen["pickled_expected"]
    assert 0 < sum(seen["pickled_expected"]) < len(seen["pickled_expected"])
    assert backend.get_model("mlflow-compat-model").aliases == {"champion": 1}
    actions = {e.action for e in backend.list_audit_events(limit=1000)}
    assert {
        "run.create",
        "logged_model.create",
        "model_version.create",
        "model.set_alias",
        "model_version.trust_pickle",
    } <= actions
