"""Human oversight: rollback, rollout pause/abort/manual promote each need a reason, are
refused with a clear message without one (nothing changes), and are audited with it —
through the SDK, the CLI and REST alike."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.cli.main import app
from conveyor.deployments import deploy_endpoint
from conveyor.errors import ValidationFailed

from .helpers import log_and_register


@pytest.fixture
def deployed(home_backend: Any, forests: list[Any], clf_data: Any) -> Any:
    """``churn`` v1 and v2; ``churn-api`` deployed with v1, then v2 (two revisions)."""
    for forest in forests:
        log_and_register(forest, "churn", clf_data[0].head(20))
    deploy_endpoint(home_backend, "churn-api", model="churn/1")
    deploy_endpoint(home_backend, "churn-api", model="churn/2")
    return home_backend


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--json"])


def _last(backend: Any, action: str) -> Any:
    events = backend.list_audit_events(action=action, newest_first=True, limit=1)
    return events[0] if events else None


def test_rollback_needs_a_reason_and_records_it(deployed: Any) -> None:
    for blank in ("", "   "):
        with pytest.raises(ValidationFailed, match="a reason is required to roll back 'churn-api'"):
            deployed.rollback("churn-api", reason=blank)
    refused = _cli("rollback", "churn-api")
    assert refused.exit_code == 2 and "--reason" in refused.stderr
    assert deployed.get_deployment("churn-api").current_revision == 2  # nothing changed
    assert _last(deployed, "deployment.rollback") is None

    rev = deployed.rollback("churn-api", reason="v2 mislabels premium customers")
    assert rev.revision == 3 and rev.restored_from == 1
    event = _last(deployed, "deployment.rollback")
    assert event.details["reason"] == "v2 mislabels premium customers"
    done = _cli("rollback", "churn-api", "--to", "2", "--reason", "back again")
    assert done.exit_code == 0, done.output
    assert _last(deployed, "deployment.rollback").details["reason"] == "back again"


def test_rollout_interventions_need_a_reason(deployed: Any) -> None:
    deployed.rollback("churn-api", reason="start from v1")
    deployed.start_rollout("churn-api", "churn/2", steps="50")
    for command in ("pause", "abort", "promote"):
        refused = _cli("rollout", command, "churn-api")
        assert refused.exit_code == 2, refused.output
        assert f"a reason is required to {command} the rollout on 'churn-api'" in refused.stderr
    assert deployed.rollout_status("churn-api")["state"] == "pending"

    paused = _cli("rollout", "pause", "churn-api", "--reason", "incident INC-7")
    assert json.loads(paused.stdout)["state"] == "paused"
    assert _last(deployed, "rollout.pause").details["reason"] == "incident INC-7"
    deployed.resume_rollout("churn-api")
    aborted = deployed.abort_rollout("churn-api", reason="wrong candidate")
    assert aborted["state"] == "aborted"
    assert _last(deployed, "rollout.abort").details["reason"] == "wrong candidate"


def test_manual_promote_records_the_reason(deployed: Any) -> None:
    deployed.rollback("churn-api", reason="start from v1")
    deployed.start_rollout("churn-api", "churn/2", steps="50")
    with pytest.raises(ValidationFailed, match="promote the rollout"):
        deployed.promote_rollout("churn-api", reason=" ")
    done = deployed.promote_rollout("churn-api", reason="approved in CAB-142")
    assert done["state"] == "promoted"
    event = _last(deployed, "rollout.promote")
    assert "approved in CAB-142" in event.details["reason"] and event.actor


@pytest.mark.server
def test_rest_refuses_a_rollback_without_reason(deployed: Any) -> None:
    with ServerThread(create_app(deployed)) as server:
        url = f"{server.url}/api/v1/deployments/churn-api/rollback"
        refused = httpx.post(url, json={})
        assert refused.status_code == 422 and "reason" in refused.text
        refused = httpx.post(url, json={"reason": "  "})
        assert refused.status_code == 422
        assert "a reason is required" in refused.json()["error"]["message"]
        ok = httpx.post(
            f"{server.url}/api/v1/deployments/churn-api/rollback", json={"reason": "over REST"}
        )
        assert ok.status_code == 201
    assert _last(deployed, "deployment.rollback").details["reason"] == "over REST"
