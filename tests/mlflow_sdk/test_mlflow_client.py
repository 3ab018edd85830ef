"""conveyor.MlflowClient: MLflow's registry and tracking method names over the operation
table; what Conveyor does differently raises a clear error naming the alternative."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.errors import NotFound, ValidationFailed
from conveyor.mlflow_sdk.client import UNSUPPORTED


def test_tracking_calls(tmp_path: Path) -> None:
    client = conveyor.MlflowClient()
    exp_id = client.create_experiment("mlc", tags={"team": "ml"})
    assert client.get_experiment(exp_id).name == "mlc"
    assert client.get_experiment_by_name("mlc").experiment_id == exp_id
    assert client.get_experiment_by_name("absent") is None
    assert [e.name for e in client.search_experiments()] == ["mlc"]

    run = client.create_run(exp_id, run_name="r", tags={"k": "v"})
    client.log_param(run.info.run_id, "lr", 0.1)
    for step in range(3):
        client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step, synchronous=True)
    client.log_metric(run.info.run_id, "nan", math.nan)
    client.set_tag(run.info.run_id, "stage", "dev")
    client.log_batch(run.info.run_id, params=[("depth", 3)], tags=[{"key": "x", "value": "y"}])
    (tmp_path / "notes.txt").write_text("hi")
    client.log_artifact(run.info.run_id, str(tmp_path / "notes.txt"), "docs")
    client.set_terminated(run.info.run_id)

    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.1", "depth": "3"}
    assert got.data.tags == {"k": "v", "stage": "dev", "x": "y"}
    assert [p.value for p in client.get_metric_history(got.info.run_id, "loss")] == [
        1.0,
        0.5,
        1 / 3,
    ]
    assert [a["path"] for a in client.list_artifacts(got.info.run_id)] == ["docs/notes.txt"]
    local = client.download_artifacts(got.info.run_id, "docs", str(tmp_path / "dl"))
    assert (Path(local) / "notes.txt").read_text() == "hi"
    with pytest.raises(NotFound, match="no artifact"):
        client.download_artifacts(got.info.run_id, "nothing")
    found = client.search_runs([exp_id], "metrics.loss < 0.5 and params.lr = '0.1'")
    assert [r.info.run_id for r in found] == [got.info.run_id]
    with pytest.raises(ValidationFailed, match="model_id"):
        client.log_metric(got.info.run_id, "m", 1.0, model_id="m-1")
    with pytest.raises(ValidationFailed, match="artifact_location"):
        client.create_experiment("elsewhere", artifact_location="s3://bucket")
    with pytest.raises(ValidationFailed, match="page_token"):
        client.search_runs([exp_id], page_token="abc")


def test_registry_calls_with_aliases() -> None:
    X = pd.DataFrame({"a": np.arange(10.0)})
    model = LogisticRegression().fit(X, (X["a"] > 4).astype(int))
    with conveyor.start_run() as run:
        conveyor.log_model(model, name="model", input_example=X[:2])
    client = conveyor.MlflowClient()
    created = client.create_registered_model("churn", tags={"owner": "me"}, description="d")
    assert created.name == "churn" and created.tags == {"owner": "me"}
    mv = client.create_model_version("churn", f"runs:/{run.id}/model", run_id=run.id)
    assert mv.version == "1" and mv.current_stage == "None" and mv.status == "READY"
    mv2 = client.create_model_version("churn", "model", run_id=run.id, description="two")
    assert mv2.version == "2" and mv2.description == "two"

    client.set_registered_model_alias("churn", "champion", "1")
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    assert client.get_registered_model("churn").aliases == {"champion": "1"}
    assert client.get_registered_model("churn").latest_versions[0].version == "2"
    client.set_model_version_tag("churn", "1", "validated", True)
    assert client.get_model_version("churn", 1).tags == {"validated": "True"}
    assert client.update_model_version("churn", "2", description="new").description == "new"
    assert [v.version for v in client.search_model_versions("name = 'churn'")] == ["2", "1"]
    assert [m.name for m in client.search_registered_models("name LIKE 'ch%'")] == ["churn"]
    assert [m.name for m in client.search_registered_models("name = 'churn'")] == ["churn"]
    assert client.get_model_version_download_uri("churn", 1) == f"runs:/{run.id}/model"
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(NotFound, match="no alias"):
        client.get_model_version_by_alias("churn", "champion")
    with pytest.raises(ValidationFailed, match="runs:/<run_id>/<path>"):
        client.create_model_version("churn", "s3://bucket/model")
    with pytest.raises(ValidationFailed, match="name = '<model>'"):
        client.search_model_versions("run_id = 'x'")
    with pytest.raises(ValidationFailed, match="not supported"):
        client.search_registered_models("tags.owner = 'me'")


@pytest.mark.parametrize("method", sorted(UNSUPPORTED))
def test_unsupported_methods_say_what_to_use(method: str) -> None:
    with pytest.raises(ValidationFailed, match="not supported by Conveyor"):
        getattr(conveyor.MlflowClient(), method)("churn", "1", "Production")


def test_stage_transition_points_to_aliases_and_unknown_methods_explain() -> None:
    client = conveyor.MlflowClient()
    with pytest.raises(ValidationFailed, match="set_registered_model_alias"):
        client.transition_model_version_stage("m", "1", stage="Production")
    with pytest.raises(AttributeError, match=r"docs/mlflow\.md"):
        client.log_table  # noqa: B018
    with pytest.raises(ValidationFailed, match="one store"):
        conveyor.MlflowClient(registry_uri="databricks-uc")
