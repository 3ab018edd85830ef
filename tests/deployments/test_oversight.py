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


def _post(c: Any, path: str, rows: Any) -> Any:
    return c.post(path, json={"dataframe_records": rows})


def test_stop_answers_503_with_who_and_why_until_resumed(deployed: Any, clf_data: Any) -> None:
    from conveyor.deployments.runtime import DeploymentServer
    from conveyor.errors import Conflict

    from .helpers import client, records, run

    rows = records(clf_data[0].head(2))
    for blank in ("", " \t"):
        with pytest.raises(ValidationFailed, match="a reason is required to stop 'churn-api'"):
            deployed.stop_deployment("churn-api", blank)
    refused = _cli("deployments", "stop", "churn-api")
    assert refused.exit_code == 2 and "a reason is required to stop" in refused.stderr
    assert deployed.get_deployment("churn-api").stopped is None
    assert _last(deployed, "deployment.stop") is None
    server = DeploymentServer(deployed, ["churn-api"], poll_interval=60)

    async def go() -> None:
        async with client(server) as c:
            assert (await _post(c, "/endpoints/churn-api/invocations", rows)).status_code == 200
            done = _cli("deployments", "stop", "churn-api", "--reason", "INC-9: drift on age")
            assert done.exit_code == 0, done.output
            assert json.loads(done.stdout)["stopped"]["reason"] == "INC-9: drift on age"
            await server.watcher.refresh()  # what the poll every interval does
            for path in ("/endpoints/churn-api/invocations", "/invocations", "/explain"):
                answer = await _post(c, path, rows)
                assert answer.status_code == 503, (path, answer.text)
                error = answer.json()["error"]
                assert error["details"]["cause"] == "stopped"
                assert "is stopped" in error["message"]
                assert "INC-9: drift on age" in error["message"]
            v2 = await c.post("/v2/models/churn-api/infer", json={"inputs": []})
            assert v2.status_code == 503 and "INC-9" in v2.json()["error"]
            status = (await c.get("/deployments")).json()["endpoints"]["churn-api"]
            assert status["stopped"]["reason"] == "INC-9: drift on age"
            with pytest.raises(Conflict, match="already stopped"):
                deployed.stop_deployment("churn-api", "again")
            with pytest.raises(ValidationFailed, match="a reason is required to resume"):
                deployed.resume_deployment("churn-api", "")
            deployed.resume_deployment("churn-api", "drift explained: a new partner")
            await server.watcher.refresh()
            assert (await _post(c, "/endpoints/churn-api/invocations", rows)).status_code == 200

    run(go())
    stop, resume = _last(deployed, "deployment.stop"), _last(deployed, "deployment.resume")
    assert stop.details["reason"] == "INC-9: drift on age" and stop.actor
    assert resume.details == {**resume.details, "reason": "drift explained: a new partner",
                              "stop_reason": "INC-9: drift on age"}  # fmt: skip
    with pytest.raises(ValidationFailed, match="not stopped"):
        deployed.resume_deployment("churn-api", "nothing to resume")
    assert deployed.get_deployment("churn-api").current_revision == 2  # revisions untouched


def test_override_sets_weights_as_an_audited_revision(deployed: Any) -> None:
    deployed.deploy("churn-api", model="churn/1", canary="churn/2:20", compile=False)
    with pytest.raises(ValidationFailed, match="a reason is required to override"):
        deployed.override_traffic("churn-api", {"primary": 100, "canary": 0}, " ")
    routes = r"no weighted route 'shadow'.*\['canary', 'primary'\]"
    with pytest.raises(ValidationFailed, match=routes):
        deployed.override_traffic("churn-api", {"shadow": 10}, "try")
    with pytest.raises(ValidationFailed, match="must sum to 100, got 90"):
        deployed.override_traffic("churn-api", {"primary": 70}, "try")
    with pytest.raises(ValidationFailed, match="must be a number"):
        deployed.override_traffic("churn-api", {"primary": "all"}, "try")
    assert deployed.get_deployment("churn-api").current_revision == 3  # nothing changed

    done = _cli("deployments", "override", "churn-api", "-w", "primary=100", "-w", "canary=0",
                "--reason", "canary answers slowly")  # fmt: skip
    assert done.exit_code == 0, done.output
    rev = deployed.get_revision("churn-api")
    assert rev.revision == 4 and rev.reason == "override" and rev.parent_revision == 3
    assert {r.name: r.weight for r in rev.routes} == {"primary": 100.0, "canary": 0.0}
    event = _last(deployed, "deployment.override")
    assert event.details["reason"] == "canary answers slowly" and event.details["previous"] == 3
    bad = _cli("deployments", "override", "churn-api", "-w", "primary", "--reason", "x")
    assert bad.exit_code != 0 and "ROUTE=PERCENT" in bad.stderr
    back = deployed.rollback("churn-api", reason="undo the override")
    assert back.restored_from == 3


def test_stop_and_override_pause_a_running_rollout(deployed: Any) -> None:
    deployed.rollback("churn-api", reason="start from v1")
    deployed.start_rollout("churn-api", "churn/2", steps="50")
    deployed.stop_deployment("churn-api", "freeze everything")
    status = deployed.rollout_status("churn-api")
    assert status["state"] == "paused" and "endpoint stopped: freeze everything" in status["reason"]
    assert _last(deployed, "deployment.stop").details["paused_rollout"] == status["id"]
    deployed.resume_deployment("churn-api", "all clear")
    assert deployed.rollout_status("churn-api")["state"] == "paused"  # resumed on its own


@pytest.mark.server
def test_rest_stop_resume_and_override_need_a_reason(deployed: Any) -> None:
    with ServerThread(create_app(deployed)) as server:
        base = f"{server.url}/api/v1/deployments/churn-api"
        for verb in ("stop", "resume", "override"):
            refused = httpx.post(f"{base}/{verb}", json={"weights": {"primary": 100}})
            assert refused.status_code == 422 and "reason" in refused.text, refused.text
        stopped = httpx.post(f"{base}/stop", json={"reason": "over REST"})
        assert stopped.status_code == 200 and stopped.json()["stopped"]["reason"] == "over REST"
        again = httpx.post(f"{base}/stop", json={"reason": "twice"})
        assert again.status_code == 409 and "already stopped" in again.text
        assert httpx.post(f"{base}/resume", json={"reason": "back"}).status_code == 200
        bad = httpx.post(f"{base}/override", json={"weights": {"primary": -1}, "reason": "x"})
        assert bad.status_code == 422 and "0..100" in bad.text
    assert _last(deployed, "deployment.stop").details["reason"] == "over REST"
