"""Ended runs are immutable and artifacts are written once (issue 10 item 2).

Enforced in the tracking service, so the embedded SDK, the HTTP SDK and the REST API (and
the CLI, which goes through the same backends) all obey.
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.artifacts import ArtifactStore
from conveyor.backend import LocalBackend
from conveyor.backend.http import HttpBackend
from conveyor.errors import Conflict
from conveyor.store import MetadataStore
from conveyor.tracking.metric_rows import MetricRows


def _rows() -> MetricRows:
    return MetricRows(["loss"], [0.5], [0], [1])


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "KILLED"])
def test_an_ended_run_accepts_nothing(
    status: str, meta: MetadataStore, artifacts: ArtifactStore
) -> None:
    backend = LocalBackend(meta, artifacts)
    run = backend.create_run(backend.get_or_create_experiment("e").id)
    backend.upload_artifact(run.id, "a.txt", io.BytesIO(b"a"))
    backend.end_run(run.id, status)
    writes = {
        "metrics": lambda: backend.log_batch(run.id, metrics=_rows()),
        "params": lambda: backend.log_batch(run.id, params={"p": "1"}),
        "tags": lambda: backend.log_batch(run.id, tags={"t": "1"}),
        "artifacts": lambda: backend.upload_artifact(run.id, "b.txt", io.BytesIO(b"b")),
        "end": lambda: backend.end_run(run.id, "FINISHED", metrics=_rows()),
    }
    for what, write in writes.items():
        with pytest.raises(Conflict, match=f"is {status}: an ended run is immutable") as info:
            write()
        assert info.value.details == {"run_id": run.id, "status": status}, what
    after = backend.get_run(run.id)
    assert after.params == {} and after.tags == {} and after.status == status
    assert [a["path"] for a in backend.list_artifacts(run.id)] == ["a.txt"]


def test_an_artifact_is_written_once(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    backend = LocalBackend(meta, artifacts)
    run = backend.create_run(backend.get_or_create_experiment("e").id)
    first = backend.upload_artifact(run.id, "model/weights.bin", io.BytesIO(b"v1"))
    again = backend.upload_artifact(run.id, "model/weights.bin", io.BytesIO(b"v1"))
    assert again == first  # the same bytes: accepted, nothing changes
    with pytest.raises(Conflict, match=r"already has an artifact 'model/weights.bin'"):
        backend.upload_artifact(run.id, "model/weights.bin", io.BytesIO(b"v2"))
    assert backend.artifact_entry(run.id, "model/weights.bin")["sha256"] == first["sha256"]
    events = backend.list_audit_events(action="run.log_artifact")
    assert len(events) == 1


@pytest.fixture
def server(api_server: tuple[str, LocalBackend]) -> tuple[str, LocalBackend]:
    return api_server


def test_rest_refuses_rewriting_a_finished_run(server: tuple[str, LocalBackend]) -> None:
    url, local = server
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as c:
        exp = c.post("/experiments/get-or-create", json={"name": "e"}).json()
        run = c.post("/runs", json={"experiment_id": exp["id"]}).json()
        path = f"/runs/{run['id']}/artifacts/model/weights.bin"
        assert c.put(path, content=b"v1").status_code == 201
        assert c.put(path, content=b"v1").status_code == 201  # identical bytes
        replaced = c.put(path, content=b"v2")
        assert replaced.status_code == 409 and "immutable" in replaced.json()["error"]["message"]
        assert c.post(f"/runs/{run['id']}/end", json={}).status_code == 200
        answer = c.put(path, content=b"v3")
        assert answer.status_code == 409, answer.text
        assert "FINISHED" in answer.json()["error"]["message"]
        batch = {"params": {"p": "1"}, "tags": {"t": "x"}}
        answer = c.post(f"/runs/{run['id']}/log-batch", json=batch)
        assert answer.status_code == 409, answer.text
        assert c.get(path).content == b"v1"
    assert local.get_run(run["id"]).params == {}


def test_http_sdk_gets_the_same_conflict(server: tuple[str, LocalBackend]) -> None:
    url, _ = server
    remote = HttpBackend(url)
    try:
        run = remote.create_run(remote.get_or_create_experiment("e").id)
        remote.end_run(run.id, "KILLED")
        with pytest.raises(Conflict, match="is KILLED"):
            remote.log_batch(run.id, metrics=_rows())
        with pytest.raises(Conflict, match="is KILLED"):
            remote.upload_artifact(run.id, "x.txt", io.BytesIO(b"x"))
    finally:
        remote.close()


def test_log_model_twice_to_one_path_is_refused() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    model = LogisticRegression().fit(frame, frame["a"] > 0)
    with conveyor.start_run() as run:
        conveyor.log_model(model, "model", input_example=frame.head(2))
        with pytest.raises(Conflict, match=r"already has a model .* at 'model'.*name="):
            conveyor.log_model(model, "model", input_example=frame.head(3))
        conveyor.log_model(model, "model-2", input_example=frame.head(3))
    backend = conveyor.connect()
    paths = {a["path"].split("/")[0] for a in backend.list_artifacts(run.run.id)}
    assert paths == {"model", "model-2"}
