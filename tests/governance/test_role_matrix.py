"""Every REST route and every role against a real server, checked against the one declared
table (``conveyor.governance.roles.ROLE_PERMISSIONS``): a role without the route's
permission gets 403 naming the permission and the admins who can grant it, and nothing
changes in the store; a role with it gets past authorization (whatever the dummy input
then earns); no token is 401 everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.governance.conftest import add_users

from conveyor.api import create_app
from conveyor.api._operations import operations
from conveyor.api.app import API_PREFIX
from conveyor.api.testing import ServerThread
from conveyor.backend import LocalBackend
from conveyor.client import Client
from conveyor.client.op import Op
from conveyor.governance.roles import ROLES, has_permission, roles_with
from conveyor.store.tables import audit_head

OPEN = {"/api/v1/health", "/api/v1/docs", "/api/v1/openapi.json", "/openapi.json"}


#: Hand-written routes that are not an operation's own path: the operation they run.
EXTRA = {("GET", "/api/v1/runs/{run_id}/artifacts/{path}"): Client.list_artifacts}


def _routes(app: Any) -> list[tuple[str, str, Op[Any, Any]]]:
    """(method, path with dummy parameters, operation) of every route in the OpenAPI."""
    by_route = {
        (op.method, API_PREFIX + re.sub(r":path}", "}", op.path)): op for op in operations(Client)
    }
    by_route.update(EXTRA)
    out: list[tuple[str, str, Op[Any, Any]]] = []
    for path, methods in app.openapi()["paths"].items():
        if path in OPEN or not path.startswith(API_PREFIX + "/"):
            continue  # other mounts (the MLflow adapter, the UI) carry their own tests
        for method in methods:
            op = by_route.get((method.upper(), path))
            assert op is not None, f"{method} {path} is not an operation of the table"
            out.append((method.upper(), re.sub(r"{[^}]+}", "1", path), op))
    return out


@pytest.fixture(scope="module")
def matrix_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, LocalBackend, dict[str, str], list[tuple[str, str, Op[Any, Any]]]]]:
    from conveyor.artifacts import ArtifactStore
    from conveyor.store import MetadataStore

    tmp = tmp_path_factory.mktemp("matrix")
    local = LocalBackend(
        MetadataStore(f"sqlite:///{tmp / 'm.db'}"), ArtifactStore.from_uri(str(tmp / "a"))
    )
    tokens = add_users(local)
    app = create_app(local, auth="tokens")
    with ServerThread(app) as server:
        yield server.url, local, tokens, _routes(app)
    _http.close()
    local.close()


_http = httpx.Client(timeout=60)  # closed by the module fixture


def _send(url: str, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET" or method == "DELETE":
        return _http.request(method, url + path, headers=headers)
    if method == "PUT" and "/artifacts/" in path:
        return _http.put(url + path, content=b"x", headers=headers)
    return _http.request(method, url + path, json={}, headers=headers)


def _audit_seq(local: LocalBackend) -> int:
    with local.read() as conn:
        return int(conn.execute(sa.select(audit_head.c.seq)).scalar_one())


def test_every_route_declares_a_permission_the_table_knows(matrix_server: Any) -> None:
    *_, routes = matrix_server
    assert len(routes) > 60
    for method, path, op in routes:
        assert roles_with(op.permission), f"{method} {path}: no role holds {op.permission}"
        assert "admin" in roles_with(op.permission)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_allowed_exactly_what_the_table_says(matrix_server: Any, role: str) -> None:
    url, local, tokens, routes = matrix_server
    wrong: list[str] = []
    for method, path, op in routes:
        allowed = has_permission(role, op.permission)
        before = _audit_seq(local)
        response = _send(url, method, path, tokens[role])
        where = f"{role} {method} {path} ({op.permission}) -> {response.status_code}"
        if allowed:
            if response.status_code in (401, 403):
                wrong.append(f"{where}: refused, {response.text[:200]}")
            continue
        if response.status_code != 403:
            wrong.append(f"{where}: expected 403")
            continue
        error = response.json()["error"]
        details = error["details"]
        if details.get("permission") != op.permission or details["granted_by"] != [
            "admin",
            "root",
        ]:
            wrong.append(f"{where}: {error}")
        if op.permission not in error["message"] or "root" not in error["message"]:
            wrong.append(f"{where}: message does not name the permission and who grants it")
        if _audit_seq(local) != before:
            wrong.append(f"{where}: the refused request changed the store")
    assert wrong == []


def test_no_token_is_401_on_every_route(matrix_server: Any) -> None:
    url, _, _, routes = matrix_server
    statuses = {(m, p): _send(url, m, p, None).status_code for m, p, _ in routes}
    assert {k: v for k, v in statuses.items() if v != 401} == {}


def test_every_get_needs_only_a_read_permission() -> None:
    """A GET changes nothing, so a viewer may call it (``tx="stores"`` defaults to write):
    only the listings of users and tokens need their ``:manage`` permission."""
    wrong = {
        op.path: op.permission
        for op in operations(Client)
        if op.method == "GET"
        and not op.permission.endswith(":read")
        and op.permission not in ("users:manage", "tokens:manage")
    }
    assert not wrong, f"GET operations that need more than a read: {wrong}"
