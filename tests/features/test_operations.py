"""The feature operations from the operation table, on both transports (embedded, HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import conveyor
from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.client import Client, HttpTransport
from conveyor.errors import NotFound, ValidationFailed
from conveyor.features import get_historical_features
from conveyor.features.loader import definitions_of

from .helpers import T0, make_world


@pytest.fixture(params=["local", "http"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    local = conveyor.connect()
    if request.param == "local":
        yield local
        return
    with ServerThread(create_app(local)) as server:
        http = Client(HttpTransport(server.url))
        yield http
        http.close()


def test_apply_materialize_and_read(client: Client, tmp_path: Path) -> None:
    world = make_world(tmp_path / "data", 9)
    plan = client.apply_features(definitions_of(world.objects))
    assert plan.applied and {i.action for i in plan.items} == {"added"}
    assert client.get_feature_definition("a").spec["ttl_s"] == world.ttl_a.total_seconds()
    views = client.resolve_features(service="both")
    assert [(v.name, v.feature_names) for v in views] == [
        ("a", ["orders", "spend"]),
        ("b", ["score"]),
    ]
    done = client.materialize_features(end=int((T0.timestamp() + 86_400) * 1000))
    assert {m.view for m in done} == {"a", "b"}
    answer = client.get_online_features([{"customer_id": 1}], ["b:score"])
    assert answer.statuses["score"] == ["PRESENT"] and isinstance(answer.values["score"][0], float)
    with get_historical_features(world.entities.head(5), ["b:score"], client=client) as job:
        assert len(job.to_df()) == 5
    assert [f.view for f in client.feature_freshness()] == ["a", "b"]
    assert len(client.list_materializations()) == 2
    binding = client.set_endpoint_features("churn-api", "both", on_missing="defaults")
    assert client.get_endpoint_features("churn-api").on_missing == binding.on_missing
    with pytest.raises(ValidationFailed, match="on_missing 'later'"):
        client.set_endpoint_features("churn-api", "both", on_missing="later")
    with pytest.raises(NotFound, match="no feature service 'ghost'"):
        client.set_endpoint_features("churn-api", "ghost")
    client.delete_endpoint_features("churn-api")
    with pytest.raises(NotFound):
        client.get_endpoint_features("churn-api")
    with pytest.raises(NotFound, match="no online feature view 'zzz'"):
        client.materialize_features(views=["zzz"])
