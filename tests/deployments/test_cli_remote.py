"""``conveyor deploy|rollback|deployments ...`` with CONVEYOR_URI set: the same commands run
against a live server (which compiles the models) as on the embedded store, and ``serve``
says it is embedded-only."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import reset_backends
from conveyor.cli.main import app
from conveyor.config import reset_settings

from .helpers import log_and_register

pytestmark = pytest.mark.server


@pytest.fixture(params=["server", "embedded"])
def remote(
    request: pytest.FixtureRequest,
    home_backend: Any,
    forests: list[Any],
    clf_data: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """Two versions of 'churn' in the embedded store, then (``server``) CONVEYOR_URI -> a
    server on that store.

    Yields the embedded backend, to check what the commands wrote.
    """
    X = clf_data[0]
    for forest in forests:
        log_and_register(forest, "churn", X.head(20))
    if request.param == "embedded":
        yield home_backend
        return
    with ServerThread(create_app(home_backend)) as server:
        monkeypatch.setenv("CONVEYOR_URI", server.url)
        reset_settings()
        yield home_backend
        reset_backends()  # close keep-alive connections before the server stops


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_deploy_rollback_list_show_against_a_server(
    remote: Any, clf_data: Any, tmp_path: Path
) -> None:
    X, y = clf_data
    rows = tmp_path / "rows.parquet"
    X.assign(label=y).to_parquet(rows)
    first = _cli("deploy", "churn-api", "--model", "churn/1", "--validation-data", str(rows))
    assert first["revision"] == 1 and first["compiled"]["churn/1"]["status"] == "onnx"
    assert first["compiled"]["churn/1"]["parity"]["rows"] == len(X)  # the file's rows
    second = _cli("deploy", "churn-api", "-m", "churn/1", "--canary", "churn/2:20", "--no-compile")
    assert (second["revision"], second["rollout_state"]) == (2, "canary")
    assert second["compiled"]["churn/2"]["status"] == "pending"

    back = _cli("rollback", "churn-api", "--reason", "r")
    assert (back["revision"], back["restored_from"]) == (3, 1)
    assert _cli("rollback", "churn-api", "--to", "2", "--reason", "r")["routes"] == second["routes"]

    listed = _cli("deployments", "list")
    assert [(d["name"], d["current_revision"]) for d in listed] == [("churn-api", 4)]
    shown = _cli("deployments", "show", "churn-api")
    assert shown["current"]["restored_from"] == 2
    revisions = _cli("deployments", "revisions", "churn-api")
    assert [r["reason"] for r in revisions] == ["rollback", "rollback", "deploy", "deploy"]
    # written into the store (by the server, with CONVEYOR_URI)
    assert remote.get_deployment("churn-api").to_dict() == shown
    assert [e.action for e in remote.list_audit_events(object_type="deployment")][-2:] == [
        "deployment.rollback",
        "deployment.rollback",
    ]


def test_tables_and_errors_against_a_server(remote: Any) -> None:
    runner = CliRunner()
    deployed = runner.invoke(app, ["deploy", "churn-api", "--model", "churn/2"])
    assert deployed.exit_code == 0, deployed.output
    assert "churn/2: ONNX" in deployed.stdout and "Deployed churn-api" in deployed.stdout
    shown = runner.invoke(app, ["deployments", "show", "churn-api"])
    assert shown.exit_code == 0 and "Endpoint churn-api" in shown.stdout

    missing = runner.invoke(app, ["deploy", "churn-api", "--model", "churn/9"])
    assert missing.exit_code == 1
    assert "Not found: primary churn/9: model 'churn' has no version 9" in missing.stderr
    bad = runner.invoke(app, ["deploy", "churn-api", "-m", "churn/1:80", "--canary", "churn/2:10"])
    assert bad.exit_code == 2 and "must sum to 100" in bad.stderr
    ghost = runner.invoke(app, ["rollback", "ghost", "--reason", "r"])
    assert ghost.exit_code == 1 and "'ghost' is not deployed" in ghost.stderr

    if os.environ.get("CONVEYOR_URI"):  # embedded, `serve` would start serving
        serve = runner.invoke(app, ["serve", "churn-api"])
        assert serve.exit_code == 2
        assert "unset CONVEYOR_URI" in serve.stderr and "conveyor server" in serve.stderr
