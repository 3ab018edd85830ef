"""``conveyor rollout ...`` embedded and against a live server (the operation table's
generated routes), and ``rollout run --once`` driving the controller."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import reset_backends
from conveyor.cli.main import app
from conveyor.config import reset_settings
from conveyor.deployments import deploy_endpoint

from .helpers import log_and_register


@pytest.fixture(params=[pytest.param("server", marks=pytest.mark.server), "embedded"])
def remote(
    request: pytest.FixtureRequest,
    home_backend: Any,
    forests: list[Any],
    clf_data: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """``churn`` v1 serving ``churn-api`` and v2 (``server``: CONVEYOR_URI -> a server)."""
    X = clf_data[0]
    for forest in forests:
        log_and_register(forest, "churn", X.head(20))
    deploy_endpoint(home_backend, "churn-api", model="churn/1")
    if request.param == "embedded":
        yield home_backend
        return
    with ServerThread(create_app(home_backend)) as server:
        monkeypatch.setenv("CONVEYOR_URI", server.url)
        reset_settings()
        yield home_backend
        reset_backends()


def _cli(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else result.output


def test_rollout_commands(remote: Any) -> None:
    started = _cli("rollout", "start", "churn-api", "--candidate", "churn/2",
                   "--steps", "20,60", "--interval", "5m", "--min-samples", "50")  # fmt: skip
    assert started["state"] == "pending" and started["config"]["steps"] == [20, 60, 100]
    assert started["config"]["thresholds"]["min_samples"] == 50
    again = _cli("rollout", "start", "churn-api", "--candidate", "churn/2", code=1)
    assert "--supersede" in again
    status = _cli("rollout", "status", "churn-api")
    assert status["state"] == "pending" and [d["action"] for d in status["decisions"]] == ["start"]
    assert _cli("rollout", "pause", "churn-api", "--reason", "freeze")["state"] == "paused"
    assert _cli("rollout", "resume", "churn-api")["state"] == "pending"
    aborted = _cli("rollout", "abort", "churn-api", "--reason", "done")
    assert aborted["state"] == "aborted"
    missing = _cli("rollout", "status", "nope", code=1)
    assert "no rollout" in missing
    bad = _cli("rollout", "start", "churn-api", "--candidate", "churn/2", "--steps", "x", code=2)
    assert "bad steps" in bad


def test_rollout_run_once_begins_the_rollout(remote: Any) -> None:
    _cli("rollout", "start", "churn-api", "--candidate", "churn/2", "--steps", "50")
    reset_backends()
    if "CONVEYOR_URI" in os.environ:
        out = _cli("rollout", "run", "--once", code=2)
        assert "unset CONVEYOR_URI" in out
        return
    ticked = _cli("rollout", "run", "--once")
    assert [(t["action"], t["weight"]) for t in ticked] == [("begin", 50.0)]
    status = _cli("rollout", "status", "churn-api")
    assert status["state"] == "progressing" and status["weight"] == 50
