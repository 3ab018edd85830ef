"""A real API server with token authentication, and one user (and token) per role; a
backend on the test's CONVEYOR_HOME (what the CLI opens too) and CLI runners."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import HttpBackend, LocalBackend
from conveyor.cli.main import app
from conveyor.governance.roles import ROLES

#: httpx's one-shot calls with a timeout that a loaded CI machine does not hit.
HTTP = SimpleNamespace(
    **{m: partial(getattr(httpx, m), timeout=60) for m in ("get", "post", "put", "request")}
)


@dataclass
class Secured:
    """``url`` of a token-authenticated server over ``local``; ``tokens[role]`` per role
    (users are named after their role; ``root`` is the admin who created them)."""

    url: str
    local: LocalBackend
    tokens: dict[str, str]

    def client(self, who: str, project: str = "") -> HttpBackend:
        return HttpBackend(self.url, token=self.tokens[who], project=project)

    def audit_count(self) -> int:
        return len(self.local.list_audit_events(limit=10_000))


def add_users(local: LocalBackend) -> dict[str, str]:
    """``root`` (admin) and one user per role, each with a token: name -> token."""
    tokens: dict[str, str] = {}
    for name, role in [("root", "admin"), *((r, r) for r in ROLES)]:
        local.create_user(name, role)
        tokens[name] = local.create_token(name).token
    return tokens


@pytest.fixture
def secured(sqlite_backend: LocalBackend) -> Iterator[Secured]:
    tokens = add_users(sqlite_backend)
    with ServerThread(create_app(sqlite_backend, auth="tokens")) as server:
        yield Secured(server.url, sqlite_backend, tokens)


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


@pytest.fixture
def backend(conveyor_home: Path) -> Iterator[LocalBackend]:
    api = LocalBackend.from_settings()
    yield api
    api.meta.dispose()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def run_json(runner: CliRunner) -> Callable[..., Any]:
    """Invoke ``conveyor <args> --json``, check it succeeded, return the parsed stdout."""

    def invoke(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke
