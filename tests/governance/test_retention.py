"""Retention: the purge deletes prediction-log day partitions and monitor check records
older than the settings keep, never what an open legal hold covers; a real purge is
audited, a dry run changes nothing; holds are created and released with a reason."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conveyor._util import new_id, now_ms
from conveyor.backend.local import LocalBackend
from conveyor.cli.main import app
from conveyor.config import load_settings, reset_settings
from conveyor.errors import Conflict, ValidationFailed
from conveyor.governance.retention import retention_settings
from conveyor.monitoring.monitors import MonitorSpec
from conveyor.monitoring.tables import monitor_checks

RunJson = Callable[..., Any]
DAY = 86_400_000


def _day(days_ago: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A prediction log with day partitions 400, 200, 100 and 0 days old for two endpoints."""
    root = tmp_path / "pred-logs"
    monkeypatch.setenv("CONVEYOR_PREDICTION_LOG_URI", str(root))
    reset_settings()
    for kind in ("predictions", "feedback"):
        for endpoint in ("churn-api", "fraud-api"):
            for age in (400, 200, 100, 0):
                folder = root / kind / f"endpoint={endpoint}" / f"date={_day(age)}"
                folder.mkdir(parents=True)
                (folder / f"part-{new_id()}.parquet").write_bytes(b"x" * 10)
    return root


def _left(root: Path, kind: str, endpoint: str) -> list[str]:
    folder = root / kind / f"endpoint={endpoint}"
    return sorted(p.name.removeprefix("date=") for p in folder.iterdir())


def _checks(backend: LocalBackend) -> dict[str, list[int]]:
    """Two monitors (one per endpoint), each with checks 4000, 100 and 0 days old."""
    ages: dict[str, list[int]] = {}
    for endpoint in ("churn-api", "fraud-api"):
        with backend.meta.write(backend.actor) as uow:
            from conveyor.monitoring.crud import create_monitor

            monitor = create_monitor(
                uow, MonitorSpec(f"{endpoint}-drift", endpoint, "drift.share", 0.3)
            )
            for age in (4000, 100, 0):
                at = now_ms() - age * DAY
                uow.conn.execute(
                    monitor_checks.insert().values(
                        id=new_id(),
                        monitor_id=monitor.id,
                        evaluated_at=at,
                        window_start=at,
                        window_end=at,
                        value=0.1,
                        threshold=0.3,
                        status="ok",
                        details={},
                    )
                )
        ages[endpoint] = [4000, 100, 0]
    return ages


def _check_count(backend: LocalBackend) -> int:
    with backend.meta.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(monitor_checks)).scalar())


def test_defaults_and_settings_api(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = retention_settings()
    assert settings["prediction_logs_days"] == 183 and settings["reports_days"] == 3650
    assert settings["sources"]["prediction_logs_days"] == "default"
    with pytest.raises(ValidationFailed, match="retention_prediction_logs_days"):
        load_settings({"CONVEYOR_RETENTION_PREDICTION_LOGS_DAYS": "-1"})


def test_dry_run_changes_nothing_and_purge_keeps_recent_data(
    backend: LocalBackend, logs: Path, run_json: RunJson
) -> None:
    _checks(backend)
    events_before = len(backend.list_audit_events(limit=1000))
    plan = run_json("retention", "purge", "--dry-run")
    assert plan["dry_run"] is True
    parts = plan["prediction_logs"]["partitions"]
    assert {(p["kind"], p["endpoint"], p["date"]) for p in parts} == {
        (k, e, _day(a)) for k in ("predictions", "feedback") for e in ("churn-api", "fraud-api")
        for a in (400, 200)
    }  # fmt: skip
    assert plan["prediction_logs"]["files"] == 8 and plan["prediction_logs"]["bytes"] == 80
    assert plan["reports"]["monitor_checks"] == 2  # the 4000-day-old ones
    assert len(_left(logs, "predictions", "churn-api")) == 4 and _check_count(backend) == 6
    assert len(backend.list_audit_events(limit=1000)) == events_before  # a read

    done = run_json("retention", "purge")
    assert done["dry_run"] is False and done["prediction_logs"]["files"] == 8
    for kind in ("predictions", "feedback"):
        for endpoint in ("churn-api", "fraud-api"):
            assert _left(logs, kind, endpoint) == [_day(100), _day(0)]
    assert _check_count(backend) == 4
    event = backend.list_audit_events(action="retention.purge")[0]
    assert event.details["prediction_log_files"] == 8 and event.details["monitor_checks"] == 2
    assert run_json("retention", "purge")["prediction_logs"]["files"] == 0  # idempotent


def test_legal_hold_protects_its_endpoint(
    backend: LocalBackend, logs: Path, run_json: RunJson, runner: CliRunner
) -> None:
    _checks(backend)
    refused = runner.invoke(app, ["holds", "create", "deployment:churn-api"])
    assert refused.exit_code == 2 and "a reason is required" in refused.stderr
    bad = runner.invoke(app, ["holds", "create", "model:x", "--reason", "r"])
    assert bad.exit_code == 2 and "bad hold scope" in bad.stderr
    hold = run_json("holds", "create", "deployment:churn-api", "--reason", "claim 2026-114")
    assert hold["active"] is True and hold["created_by"]
    assert [h["id"] for h in run_json("holds", "list")] == [hold["id"]]

    done = run_json("retention", "purge")
    assert _left(logs, "predictions", "churn-api") == sorted(
        [_day(400), _day(200), _day(100), _day(0)]
    )
    assert _left(logs, "feedback", "churn-api") == _left(logs, "predictions", "churn-api")
    assert _left(logs, "predictions", "fraud-api") == [_day(100), _day(0)]
    assert len(done["held"]["partitions"]) == 4 and done["held"]["monitor_checks"] == 1
    assert done["held"]["holds"] == [hold["id"]] and _check_count(backend) == 5
    event = backend.list_audit_events(action="retention.purge")[0]
    assert event.details["holds"] == [hold["id"]] and event.details["held_partitions"] == 4

    refused = runner.invoke(app, ["holds", "release", hold["id"]])
    assert refused.exit_code == 2 and "--reason" in refused.stderr
    released = run_json("holds", "release", hold["id"], "--reason", "claim settled")
    assert released["active"] is False and released["release_reason"] == "claim settled"
    assert run_json("holds", "list") == []
    assert [h["id"] for h in run_json("holds", "list", "--released")] == [hold["id"]]
    with pytest.raises(Conflict, match="already released"):
        backend.release_hold(hold["id"], reason="again")
    run_json("retention", "purge")
    assert _left(logs, "predictions", "churn-api") == [_day(100), _day(0)]
    actions = [e.action for e in backend.list_audit_events(limit=100)]
    assert actions.count("hold.create") == 1 and actions.count("hold.release") == 1


def test_hold_on_everything_and_zero_means_forever(
    backend: LocalBackend, logs: Path, run_json: RunJson, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.create_hold("all", reason="regulator inquiry")
    assert run_json("retention", "purge")["prediction_logs"]["files"] == 0
    assert run_json("retention", "show")["holds"][0]["scope"] == "all"
    backend.release_hold(backend.list_holds()[0].id, reason="closed")
    monkeypatch.setenv("CONVEYOR_RETENTION_PREDICTION_LOGS_DAYS", "0")
    reset_settings()
    report = run_json("retention", "purge")
    assert report["cutoffs"]["prediction_logs"] is None and report["prediction_logs"]["files"] == 0
    monkeypatch.setenv("CONVEYOR_RETENTION_PREDICTION_LOGS_DAYS", "50")
    reset_settings()
    assert run_json("retention", "purge")["prediction_logs"]["files"] == 12  # 100 days and older
    assert _left(logs, "predictions", "fraud-api") == [_day(0)]


def test_scheduled_purge_runs_on_the_shared_scheduler(backend: LocalBackend, logs: Path) -> None:
    from conveyor.governance.retention import schedule_purge
    from conveyor.jobs import Scheduler

    scheduler = Scheduler("test-retention")
    job = schedule_purge(scheduler, backend.stores, 3600)
    scheduler.run_once()
    assert job.last_error is None and job.last_result["prediction_logs"]["files"] == 8
    assert backend.list_audit_events(action="retention.purge")


def test_holds_and_purge_through_rest(api_server: tuple[str, Any]) -> None:
    from conveyor.backend import connect

    url, _ = api_server
    remote = connect(url)
    try:
        hold = remote.create_hold("deployment:churn-api", reason="over REST")
        assert [h.id for h in remote.list_holds()] == [hold.id]
        with pytest.raises(ValidationFailed, match="a reason is required"):
            remote.release_hold(hold.id, reason=" ")
        assert remote.purge_retention(dry_run=True)["held"]["holds"] == [hold.id]
        assert remote.get_retention()["prediction_logs_days"] == 183
        assert remote.release_hold(hold.id, reason="done").released_at is not None
    finally:
        remote.close()


def test_report_json_is_serialisable(backend: LocalBackend, logs: Path) -> None:
    json.dumps(backend.purge_retention(dry_run=True))


def test_old_gate_reports_go_unless_evidence_or_held(
    backend: LocalBackend, logs: Path, run_json: RunJson
) -> None:
    """A gate report older than ``retention_reports_days`` is purged unless it is its
    version's newest, or was in force when a revision routing the version was created
    (lineage's "cleared" edge), or a hold covers an endpoint that routed the version."""
    from sklearn.linear_model import LogisticRegression

    import conveyor
    from conveyor.deployments.tables import deployment_revisions
    from conveyor.gates.tables import gate_reports

    x = [[0.0], [1.0], [2.0], [3.0]]
    for _ in range(2):
        with conveyor.start_run():
            conveyor.log_model(LogisticRegression().fit(x, [0, 0, 1, 1]), "model",
                               input_example=x, registered_model_name="churn")  # fmt: skip
    backend.deploy("churn-api", model="churn/1", compile=False)
    model_id = backend.get_model("churn").id
    ids: dict[str, str] = {}
    with backend.meta.write(backend.actor) as uow:
        for name, version, age in [("A", 1, 5000), ("B", 1, 4500), ("C", 1, 4200),
                                   ("D", 1, 10), ("E", 2, 5000)]:  # fmt: skip
            ids[name] = new_id()
            uow.conn.execute(gate_reports.insert().values(
                id=ids[name], model_id=model_id, version=version, policy_version=1,
                model_version_id=backend.get_model_version("churn", version).id, passed=True,
                report={"model": "churn"}, created_by="ci", created_at=now_ms() - age * DAY,
            ))  # fmt: skip
        # the endpoint's revision was deployed 4400 days ago: report B cleared it
        uow.conn.execute(deployment_revisions.update().values(created_at=now_ms() - 4400 * DAY))

    def left() -> set[str]:
        with backend.meta.read() as conn:
            found = {r.id for r in conn.execute(sa.select(gate_reports.c.id))}
        return {name for name, rid in ids.items() if rid in found}

    plan = run_json("retention", "purge", "--dry-run")
    assert plan["reports"]["gate_reports"] == 2  # A and C
    assert plan["reports"]["gate_reports_kept_as_evidence"] == 2  # B (cleared), E (newest)
    hold = backend.create_hold("deployment:churn-api", reason="claim 7")
    held = run_json("retention", "purge")
    assert held["reports"]["gate_reports"] == 0 and held["held"]["gate_reports"] == 2
    assert left() == set(ids)
    backend.release_hold(hold.id, reason="settled")
    done = run_json("retention", "purge")
    assert done["reports"]["gate_reports"] == 2 and left() == {"B", "D", "E"}
    [event] = backend.list_audit_events(action="retention.purge", newest_first=True, limit=1)
    assert event.details["gate_reports"] == 2
    assert event.details["gate_reports_kept_as_evidence"] == 2
    graph = backend.get_lineage(f"gate-report:{ids['B']}", "downstream")
    assert "deployment_revision" in {n["type"] for n in graph["nodes"]}  # the proof holds
