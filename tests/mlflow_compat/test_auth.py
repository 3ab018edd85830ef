"""Issue 14: ``MLFLOW_TRACKING_TOKEN`` against ``conveyor server`` with tokens. The stock
client works with a token and gets MLflow's ``UNAUTHENTICATED`` without one; the artifact
proxy answers 401 in MLflow's error shape too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.mlflow_compat.conftest import run_script

from conveyor.api import create_app
from conveyor.api.testing import ServerThread

pytestmark = pytest.mark.slow


def test_stock_client_with_and_without_a_token(
    mlflow_python: Path, sqlite_backend: Any, tmp_path: Path
) -> None:
    sqlite_backend.create_user("ann", "editor")
    token = sqlite_backend.create_token("ann").token
    with ServerThread(create_app(sqlite_backend, auth="tokens")) as server:
        proxy = f"{server.url}/api/2.0/mlflow-artifacts"
        for method, path in [
            ("GET", "/artifacts"),
            ("GET", "/artifacts/0/abc/artifacts/a.txt"),
            ("PUT", "/artifacts/0/abc/artifacts/a.txt"),
            ("DELETE", "/artifacts/0/abc/artifacts/a.txt"),
            ("POST", "/mpu/create/0/abc/artifacts/a.txt"),
        ]:
            answer = httpx.request(method, proxy + path)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["error_code"] == "UNAUTHENTICATED"
            assert set(answer.json()) == {"error_code", "message"}
        seen = run_script(
            mlflow_python, "auth.py", server.url, tmp_path, env={"CONVEYOR_TEST_TOKEN": token}
        )
    code, status, message = seen["no_token"]
    assert (code, status) == ("UNAUTHENTICATED", 401)
    assert "Authorization: Bearer" in message  # says what to send
    assert seen["bad_token"][:2] == ["UNAUTHENTICATED", 401]
    assert seen["metrics"] == {"m": 0.5}
    assert seen["artifacts"] == ["a.txt"] and seen["artifact"] == "through the proxy"
    run = sqlite_backend.get_run(seen["run_id"])
    assert run.params == {"p": "1"}
    events = sqlite_backend.list_audit_events(object_id=run.id, limit=10)
    assert {e.actor for e in events} == {"ann"}  # the token's user did the writes
