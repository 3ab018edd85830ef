"""`conveyor import mlflow`: stores written by the stock MLflow client (SQLite database,
mlruns folder, tracking server) are copied into Conveyor, and a second import copies
nothing twice."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app
from conveyor.errors import PermissionDenied, ValidationFailed
from conveyor.mlflow_import import import_mlflow, open_source
from conveyor.mlflow_import.artifacts import local_path
from conveyor.mlflow_import.importer import ID_TAG, STARTED_TAG, VERSION_TAG

pytestmark = pytest.mark.slow

X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})


def _import(store: dict[str, Any], **kwargs: Any) -> Any:
    source = open_source(store["from"], **kwargs)
    try:
        return import_mlflow(source)
    finally:
        source.close()


def _check_imported(store: dict[str, Any]) -> None:
    client = conveyor.connect()
    exp = client.get_experiment("imported-exp")
    assert exp.tags["team"] == "ml" and exp.tags[ID_TAG] == store["experiment_id"]
    runs = {r.tags[ID_TAG]: r for r in conveyor.search_runs(experiment_ids=[exp.id])}
    ids = store["runs"]
    assert set(runs) == {ids["first"], ids["child"], ids["second"]}  # the deleted run is not
    first = runs[ids["first"]]
    assert first.name == "first" and first.status == "FINISHED" and first.end_time
    assert first.params == {"lr": "0.1", "model": "lr"}
    assert first.tags["stage"] == "dev" and first.tags["mlflow.user"]
    assert "long" not in first.tags  # over Conveyor's limit: noted in the summary
    history = client.get_metric_history(first.id, "loss")
    assert [(p.step, p.value) for p in history] == [(s, -12.0 + s * 0.5) for s in range(5)]
    assert math.isnan(first.metrics["nan_metric"])
    assert runs[ids["child"]].parent_run_id == first.id
    notes = client.artifact_entry(first.id, "docs/notes.txt")
    assert b"".join(client.iter_blob(notes["sha256"])) == b"hello from mlflow"

    model = client.get_model("imported-model")
    assert model.aliases == {"champion": 1, "legacy": 2}
    v1 = client.get_model_version("imported-model", 1)
    assert v1.tags == {"validated": "yes", VERSION_TAG: "1"}
    assert v1.flavor == "sklearn" and v1.run_id == first.id
    assert [c["name"] for c in v1.signature["inputs"]] == ["a", "b"]
    champion = conveyor.load_model("models:/imported-model@champion")  # skops: safe
    assert champion.predict(X[:3]).tolist() == store["predictions"]
    v2 = client.get_model_version("imported-model", 2)
    assert v2.flavor == "mlflow_pickle" and v2.run_id == runs[ids["second"]].id
    with pytest.raises(PermissionDenied, match="allow_pickle=True"):
        conveyor.load_model("models:/imported-model@legacy")
    pickled = conveyor.load_model("models:/imported-model@legacy", allow_pickle=True)
    assert pickled.predict(X[:3]).tolist() == store["predictions"]


def _check_again(first: Any, second: Any) -> None:
    assert first.imported["runs"] == 3 and first.imported["model versions"] == 2
    assert first.imported["metric points"] >= 7 and first.imported["aliases"] == 2
    assert any("'long'" in n and "6000" in n for n in first.notes)
    assert any("cloudpickle" in n and "allow_pickle" in n for n in first.notes)
    assert not any(second.imported.values()), second.imported
    assert second.existing["runs"] == 3 and second.existing["model versions"] == 2
    assert second.existing["aliases"] == 2 and second.existing["registered models"] == 1
    assert len(conveyor.search_runs(experiment_names=["imported-exp"])) == 3
    assert len(conveyor.connect().list_model_versions("imported-model")) == 2


def test_import_sqlite_database_twice(sqlite_store: dict[str, Any]) -> None:
    first = _import(sqlite_store)
    _check_imported(sqlite_store)
    second = _import(sqlite_store)
    _check_again(first, second)


def test_import_mlruns_folder_twice(files_store: dict[str, Any]) -> None:
    first = _import(files_store)
    _check_imported(files_store)
    _check_again(first, _import(files_store))


def test_import_from_tracking_server_twice(server_store: dict[str, Any]) -> None:
    first = _import(server_store)
    _check_imported(server_store)
    _check_again(first, _import(server_store))


def test_interrupted_run_import_is_ended_and_redone(sqlite_store: dict[str, Any]) -> None:
    exp = conveyor.connect().create_experiment("imported-exp")
    half = conveyor.connect().create_run(exp.id, tags={STARTED_TAG: sqlite_store["runs"]["first"]})
    summary = _import(sqlite_store)
    assert conveyor.get_run(half.id).status == "KILLED"
    assert any("interrupted" in n for n in summary.notes)
    assert summary.imported["runs"] == 3 and summary.existing["experiments"] == 1


def test_cli_prints_a_summary_and_json(sqlite_store: dict[str, Any]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["import", "mlflow", "--from", sqlite_store["from"]])
    assert result.exit_code == 0, result.output
    assert "Imported from" in result.output and "model versions" in result.output
    result = runner.invoke(app, ["import", "mlflow", "--from", sqlite_store["from"], "--json"])
    data = json.loads(result.stdout)
    assert data["existing"]["runs"] == 3 and not any(data["imported"].values())


def test_artifacts_root_finds_moved_artifacts(tmp_path) -> None:
    moved = tmp_path / "copy"
    (moved / "1" / "run1" / "artifacts").mkdir(parents=True)
    (moved / "1" / "models" / "m-1" / "artifacts").mkdir(parents=True)
    assert local_path("/gone/mlruns/1/run1/artifacts", moved) == moved / "1/run1/artifacts"
    assert (
        local_path("file:///gone/1/models/m-1/artifacts", moved) == moved / "1/models/m-1/artifacts"
    )
    assert local_path("mlflow-artifacts:/1/run1/artifacts", moved) == moved / "1/run1/artifacts"
    assert local_path("/gone/elsewhere", moved) == Path("/gone/elsewhere")  # nothing matches
    with pytest.raises(ValidationFailed, match="--artifacts"):
        local_path("mlflow-artifacts:/1/run1/artifacts", None)
    with pytest.raises(ValidationFailed, match="'s3' storage"):
        local_path("s3://bucket/1/run1/artifacts", moved)


@pytest.mark.parametrize(
    ("location", "hint"),
    [
        ("/no/such/place", "not a tracking server URL"),
        ("s3://bucket/mlflow.db", "not a database URL"),
        ("http://127.0.0.1:9/", "cannot reach an MLflow server"),
    ],
)
def test_bad_sources_are_refused_clearly(location: str, hint: str) -> None:
    with pytest.raises(ValidationFailed, match=hint):
        open_source(location)


def test_a_database_that_is_not_mlflow_is_refused(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ValidationFailed, match="not an MLflow tracking database"):
        open_source(str(path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationFailed, match="not an mlruns folder"):
        open_source(str(tmp_path / "empty"))


def test_import_into_a_conveyor_server(
    sqlite_store: dict[str, Any], api_server: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.backend import reset_backends
    from conveyor.config import reset_settings

    url, _ = api_server
    monkeypatch.setenv("CONVEYOR_URI", url)
    reset_settings()
    reset_backends()
    assert conveyor.connect().kind == "http"
    first = _import(sqlite_store)
    _check_imported(sqlite_store)
    _check_again(first, _import(sqlite_store))


@pytest.mark.postgres
def test_import_into_postgresql(
    sqlite_store: dict[str, Any], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.backend import reset_backends
    from conveyor.config import reset_settings

    from ..conftest import _reset_pg

    _reset_pg(pg_url)
    monkeypatch.setenv("CONVEYOR_DB_URL", pg_url)
    reset_settings()
    reset_backends()
    first = _import(sqlite_store)
    _check_imported(sqlite_store)
    _check_again(first, _import(sqlite_store))
