"""Security: privilege escalation, path traversal, oversized payloads, injection through
filters and constant-time token comparison — each refused with a 4xx naming the rule, and
nothing changed in the store (audit head, objects and files checked)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.governance.conftest import HTTP, Secured, add_users, error_of

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import LocalBackend
from conveyor.config import load_settings
from conveyor.errors import PermissionDenied
from conveyor.governance.identity import Actor
from conveyor.governance.users import authenticate
from conveyor.registry import service as registry
from conveyor.store.tables import audit_head

FILES = [{"path": "conveyor-model.json", "sha256": "a" * 64, "size": 10}]


def _seq(local: LocalBackend) -> int:
    with local.read() as conn:
        return int(conn.execute(sa.select(audit_head.c.seq)).scalar_one())


def _auth(secured: Secured, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secured.tokens[who]}"}


def test_a_viewer_cannot_deploy_or_move_aliases(secured: Secured) -> None:
    with secured.local.meta.write(Actor("editor")) as uow:
        registry.create_model_version(
            uow, "churn", source="runs:/r/m", manifest_sha256="a" * 64, files=FILES,
            flavor="sklearn",
        )  # fmt: skip
    before = _seq(secured.local)
    with secured.client("viewer") as viewer:
        with pytest.raises(PermissionDenied, match="'deployments:write'") as info:
            viewer.deploy("churn-api", model="churn/1", compile=False)
        assert info.value.details["roles_with_permission"] == ["editor", "admin"]
        with pytest.raises(PermissionDenied, match="'models:write'"):
            viewer.set_model_alias("churn", "champion", 1)
        with pytest.raises(PermissionDenied, match="'approvals:request'"):
            viewer.request_approval("churn", 1, "alias:champion")
    assert _seq(secured.local) == before
    assert secured.local.list_deployments() == [] and secured.local.get_model("churn").aliases == {}


@pytest.mark.parametrize(
    "path",
    [
        "..%2F..%2Foutside.txt",  # percent-encoded, so the route receives the dots
        "a%2F..%2F..%2Foutside.txt",
        "%2Fetc%2Fpasswd",
        "..%2Foutside.txt",
        "a%5C..%5C..%5Coutside.txt",  # backslashes
        "../../outside.txt",  # clients resolve these dots: another route answers 405
    ],
)
def test_path_traversal_in_artifact_routes_is_refused(
    secured: Secured, tmp_path: Path, path: str
) -> None:
    run = secured.local.create_run(secured.local.create_experiment("e").id)
    before = _seq(secured.local)
    url = f"{secured.url}/api/v1/runs/{run.id}/artifacts/{path}"
    up = HTTP.put(url, content=b"owned", headers=_auth(secured, "editor"))
    if "%" in path:
        assert "path" in error_of(up, 422)["message"]
        assert "path" in error_of(HTTP.get(url, headers=_auth(secured, "viewer")), 422)["message"]
    else:
        assert up.status_code == 405, up.text
    assert _seq(secured.local) == before
    assert secured.local.list_artifacts(run.id) == []
    assert not list(tmp_path.rglob("outside.txt"))


def test_blob_routes_take_only_sha256(secured: Secured) -> None:
    for bad in ("..%2F..%2Fetc%2Fpasswd", "abc", "g" * 64):
        answer = HTTP.get(f"{secured.url}/api/v1/blobs/{bad}", headers=_auth(secured, "viewer"))
        assert answer.status_code in (404, 422), answer.text


@pytest.fixture
def small_limit(sqlite_backend: LocalBackend) -> Iterator[tuple[str, LocalBackend, dict[str, str]]]:
    tokens = add_users(sqlite_backend)
    settings = load_settings({"CONVEYOR_MAX_REQUEST_MB": "0.01"})  # about 10 kB
    with ServerThread(create_app(sqlite_backend, settings=settings, auth="tokens")) as server:
        yield server.url, sqlite_backend, tokens


def test_oversized_payloads_are_413_before_anything_is_stored(
    small_limit: tuple[str, LocalBackend, dict[str, str]],
) -> None:
    url, local, tokens = small_limit
    before = _seq(local)
    big = {"name": "x", "description": "y" * 50_000}
    for headers in ({"Authorization": f"Bearer {tokens['admin']}"}, {}):
        answer = HTTP.post(f"{url}/api/v1/experiments", json=big, headers=headers)
        error = error_of(answer, 413)
        assert error["code"] == "too_large" and "CONVEYOR_MAX_REQUEST_MB" in error["message"]
    assert _seq(local) == before and local.list_experiments() == []


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.a > 1; DROP TABLE runs",
        "params.x = 'a' OR 1=1 --",
        "attributes.status = 'FINISHED' UNION SELECT * FROM api_tokens",
        "tags.t = '' ; DELETE FROM users; --'",
    ],
)
def test_injection_through_search_filters_is_refused(secured: Secured, filter_string: str) -> None:
    exp = secured.local.create_experiment("e")
    secured.local.create_run(exp.id)
    before = _seq(secured.local)
    answer = HTTP.post(
        f"{secured.url}/api/v1/runs/search",
        json={"experiment_ids": [exp.id], "filter": filter_string},
        headers=_auth(secured, "viewer"),
    )
    assert answer.status_code in (400, 422), answer.text
    assert "filter" in answer.json()["error"]["message"].lower()
    assert _seq(secured.local) == before
    assert len(secured.local.search_runs([exp.id])) == 1
    assert len(secured.local.list_users()) == 5


def test_names_in_queries_are_data_not_sql(secured: Secured) -> None:
    exp = secured.local.create_experiment("e")
    secured.local.create_run(exp.id)
    before = _seq(secured.local)
    with secured.client("viewer") as viewer:
        assert viewer.list_approvals(model="x' OR '1'='1") == []
        assert viewer.search_runs([exp.id], "metrics.`a) OR (1=1` > 0") == []  # a metric key
    with secured.client("root") as root:
        assert root.list_tokens("root' OR '1'='1") == []
    assert _seq(secured.local) == before


def test_token_secrets_are_compared_in_constant_time(
    secured: Secured, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both a wrong secret for a known id and an unknown id go through compare_digest."""
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    known = secured.tokens["viewer"]
    token_id = known.split("_")[1]
    with secured.local.read() as conn:
        assert authenticate(conn, known).name == "viewer"
        for forged in (f"cvy_{token_id}_{'x' * 43}", f"cvy_{'f' * 12}_{'x' * 43}"):
            with pytest.raises(Exception, match="not valid"):
                authenticate(conn, forged)
    assert len(calls) == 3 and all(len(a) == len(b) == 64 for a, b in calls)
