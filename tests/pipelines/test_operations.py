"""Pipeline and trigger operations from the operation table, on both transports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.client import Client, HttpTransport, LocalTransport
from conveyor.errors import NotFound
from conveyor.monitoring import service as monitoring
from conveyor.monitoring.monitors import MonitorSpec


@pytest.fixture(params=["local", "http"])
def client(request: pytest.FixtureRequest, backend: Any) -> Iterator[Client]:
    if request.param == "local":
        yield Client(LocalTransport(backend.meta, backend.artifacts))
        return
    with ServerThread(create_app(backend)) as server:
        http = Client(HttpTransport(server.url))
        yield http
        http.close()


def test_pipeline_runs_and_explain(client: Client, backend: Any, flow_module: Any) -> None:
    flow = flow_module()
    first = flow.flow.run(n=4)
    second = flow.flow.run(n=4)
    runs = client.list_pipeline_runs()
    assert [r.id for r in runs] == [second.id, first.id]
    got = client.get_pipeline_run(second.id)
    assert got.status == "succeeded" and [s.cache for s in got.steps] == ["hit"] * 3
    explained = client.explain_pipeline_run(second.id)
    assert [(e["step"], e["cache"]) for e in explained] == [
        ("load", "hit"),
        ("features", "hit"),
        ("summary", "hit"),
    ]
    with pytest.raises(NotFound, match="no pipeline run 'nope'"):
        client.get_pipeline_run("nope")


def test_trigger_operations(client: Client, backend: Any, flow_module: Any) -> None:
    flow_module()
    with backend.meta.write(backend.actor) as uow:
        monitoring.create_monitor(uow, MonitorSpec("drift", "churn", "drift.share", 0.3))
    made = client.create_trigger(
        "retrain", pipeline="flow:flow", cause_kind="alert", cause="drift", m=2, n=3
    )
    assert made.name == "retrain" and made.m == 2
    with pytest.raises(NotFound, match="no monitor 'ghost'"):
        client.create_trigger("x", pipeline="flow:flow", cause_kind="alert", cause="ghost")
    assert [t.name for t in client.list_triggers()] == ["retrain"]
    assert client.set_trigger_state("retrain", "paused").state == "paused"
    assert client.get_trigger("retrain").state == "paused"
    assert client.list_trigger_evaluations(made.id) == []
