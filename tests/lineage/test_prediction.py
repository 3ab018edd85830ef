"""Walking back from a served prediction id: the revision that served it, the model
version, its run and the data it was trained on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.monitoring.served import client

from conveyor.deployments.runtime import DeploymentServer
from conveyor.errors import NotFound
from conveyor.monitoring.windows import _files, default_log_uri
from conveyor.serving.prediction_log import PredictionLog


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meta.db'}"


def _serve(backend: Any, rows: list[dict[str, float]]) -> str:
    plog = PredictionLog(default_log_uri(), flush_interval_s=3600)
    server = DeploymentServer(backend, ["churn-api"], poll_interval=60, prediction_log=plog)

    async def go() -> None:
        async with client(server) as c:
            r = await c.post("/endpoints/churn-api/invocations", json={"dataframe_records": rows})
            assert r.status_code == 200, r.text

    asyncio.run(go())
    files = _files(default_log_uri(), "predictions", "churn-api", None)
    ids = [
        i for f in files for i in pq.ParquetFile(f).read(["prediction_id"]).column(0).to_pylist()
    ]
    assert len(ids) == len(rows)
    return str(ids[-1])


def test_a_prediction_walks_back_to_its_model_and_data(looped: Any) -> None:
    prediction = _serve(looped, [{"f0": 0.1, "f1": -0.2}, {"f0": 1.5, "f1": 0.3}])
    graph = looped.get_lineage(f"prediction:{prediction}", "upstream", 8)
    ids = {n["id"] for n in graph["nodes"]}
    assert {
        "deployment:churn-api/1",
        "model:churn/1",
        "dataset:retrain.load/1",
    } <= ids, sorted(ids)
    assert any(i.startswith("pipeline-run:") for i in ids)
    root = next(n for n in graph["nodes"] if n["id"] == graph["root"])
    assert root["attrs"]["endpoint"] == "churn-api" and root["attrs"]["model"] == "churn/1"
    with pytest.raises(NotFound, match="no prediction 'nope'"):
        looped.get_lineage("prediction:nope")
