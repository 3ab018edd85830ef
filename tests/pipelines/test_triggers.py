"""Triggers: refused when their pipeline or cause is missing; M of N, cooldown, dedup,
concurrency, labelled rows; an alert storm starts one run; cron and new dataset versions."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from tests.pipelines.conftest import UserCode
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.errors import NotFound, ValidationFailed
from conveyor.monitoring import service as monitoring
from conveyor.monitoring.alerts import Alert, AlertEvent, call_hooks, on_alert, remove_alert_hook
from conveyor.monitoring.monitors import MonitorSpec
from conveyor.pipelines import controller, service, triggers

RETRAIN = """
    import conveyor

    RUNS = []

    @conveyor.step
    def train(seed: int) -> dict:
        RUNS.append(seed)
        return {"seed": seed}

    @conveyor.pipeline
    def retrain(seed: int = 1):
        return train(seed)
"""

MINUTE = 60_000
T0 = 1_800_000_000_000


@pytest.fixture
def retrain(backend: Any, user_code: UserCode) -> Any:
    user_code.write("retrain_flow", RETRAIN)
    mod = user_code.load("retrain_flow")
    with backend.meta.write(backend.actor) as uow:
        monitoring.create_monitor(uow, MonitorSpec("churn-drift", "churn", "drift.share", 0.3))
    return mod


def _create(backend: Any, name: str = "t", **kw: Any) -> triggers.Trigger:
    kw.setdefault("pipeline", "retrain_flow:retrain")
    kw.setdefault("cause_kind", "alert")
    kw.setdefault("cause", "churn-drift")
    with backend.meta.write(backend.actor) as uow:
        return triggers.create_trigger(uow, name, **kw)


def _fired(decisions: list[controller.Decision]) -> list[bool]:
    return [d.fired for d in decisions]


def test_missing_pipeline_or_monitor_is_refused_at_create(backend: Any, retrain: Any) -> None:
    with pytest.raises(NotFound, match="no monitor 'nope'"):
        _create(backend, cause="nope")
    with pytest.raises(NotFound, match="no module 'no_such_flow'"):
        _create(backend, pipeline="no_such_flow:retrain")
    with pytest.raises(NotFound, match="has no 'missing'"):
        _create(backend, pipeline="retrain_flow:missing")
    with pytest.raises(ValidationFailed, match="not a cron expression"):
        _create(backend, cause_kind="cron", cause="every day")
    with pytest.raises(NotFound, match="no dataset 'labels'"):
        _create(backend, cause_kind="dataset", cause="labels")
    with pytest.raises(ValidationFailed, match="1 <= m <= n"):
        _create(backend, m=3, n=2)
    with backend.meta.read() as conn:
        assert triggers.list_triggers(conn) == []


def test_fires_on_m_of_the_last_n_evaluations(backend: Any, retrain: Any) -> None:
    _create(backend, m=2, n=3, cooldown_s=0)
    evidence = {"churn-drift"}
    none: set[str] = set()
    ticks = [
        controller.tick(backend, T0, evidence=evidence),  # 1 of 1: no
        controller.tick(backend, T0 + MINUTE, evidence=none),  # 1 of 2: no
        controller.tick(backend, T0 + 2 * MINUTE, evidence=evidence),  # 2 of 3: fire
        controller.tick(backend, T0 + 3 * MINUTE, evidence=none),  # negative: no
        controller.tick(backend, T0 + 4 * MINUTE, evidence=none),  # negative: no
        controller.tick(backend, T0 + 5 * MINUTE, evidence=evidence),  # 1 of 3: no
    ]
    assert [_fired(t) for t in ticks] == [[False], [False], [True], [False], [False], [False]]
    assert "1 of the last 1 positive, needs 2 of 3" in ticks[0][0].reason
    assert retrain.RUNS == [1]
    run = ticks[2][0].pipeline_run_id
    with backend.meta.read() as conn:
        stored = service.get_pipeline_run(conn, run)
    assert stored.status == "succeeded" and stored.cause["kind"] == "alert"
    assert stored.trigger_id is not None


def test_cooldown_blocks_a_second_firing(backend: Any, retrain: Any) -> None:
    _create(backend, cooldown_s=3600, params={"seed": 1})
    ev = {"churn-drift"}
    first = controller.tick(backend, T0, evidence=ev)
    soon = controller.tick(backend, T0 + 30 * MINUTE, evidence=ev)
    later = controller.tick(backend, T0 + 61 * MINUTE, evidence=ev)
    assert _fired(first) == [True] and _fired(soon) == [False] and _fired(later) == [True]
    assert soon[0].reason.endswith("not fired: cooldown: fired 1800s ago, 1800s left")


def test_dedup_per_model_and_cause_across_triggers(backend: Any, retrain: Any) -> None:
    _create(backend, "a", model="churn", cooldown_s=0)
    _create(backend, "b", model="churn", cooldown_s=0)
    _create(backend, "c", model="fraud", cooldown_s=0)
    decisions = controller.tick(backend, T0, evidence={"churn-drift"}, launch=False)
    assert {d.trigger: d.fired for d in decisions} == {"a": True, "b": False, "c": True}
    b = next(d for d in decisions if d.trigger == "b")
    assert "duplicate" in b.reason and "churn|alert:churn-drift" in b.reason
    again = controller.tick(backend, T0 + MINUTE, evidence={"churn-drift"}, launch=False)
    assert _fired(again) == [False, False, False]  # the queued runs are still active
    with backend.meta.read() as conn:
        queued = service.list_pipeline_runs(conn, status="queued")
    assert len(queued) == 2


def test_concurrency_limit(backend: Any, retrain: Any) -> None:
    trig = _create(backend, cooldown_s=0, max_concurrent=1)
    with backend.meta.write(backend.actor) as uow:  # a run of this trigger is still going
        service.create_pipeline_run(
            uow,
            "f" * 32,
            pipeline="retrain",
            target="retrain_flow:retrain",
            params={},
            trigger_id=trig.id,
        )
    decisions = controller.tick(backend, T0, evidence={"churn-drift"})
    assert _fired(decisions) == [False]
    assert "concurrency: 1 runs active (max 1)" in decisions[0].reason


def test_not_enough_labelled_rows(backend: Any, retrain: Any) -> None:
    backend.log_dataset("labels", pd.DataFrame({"y": [0, 1, 1]}))
    _create(backend, cooldown_s=0, labels_dataset="labels", min_labels=5)
    blocked = controller.tick(backend, T0, evidence={"churn-drift"})
    assert _fired(blocked) == [False]
    assert "not enough labelled data: 'labels' has 3 rows, needs 5" in blocked[0].reason
    backend.log_dataset("labels", pd.DataFrame({"y": [0, 1, 1, 0, 1, 0]}))
    assert _fired(controller.tick(backend, T0 + MINUTE, evidence={"churn-drift"})) == [True]


def _event(monitor: Any, n: int) -> AlertEvent:
    alert = Alert(
        id=f"{n:032x}",
        monitor_id=monitor.id,
        monitor=monitor.name,
        endpoint="churn",
        state="firing",
        severity="warning",
        value=0.9,
        threshold=0.3,
        message="drift",
        started_at=T0,
        fired_at=T0,
        resolved_at=None,
        updated_at=T0,
    )
    return AlertEvent("firing", alert, {"name": monitor.name, "id": monitor.id}, T0)


def test_an_alert_storm_starts_one_run(backend: Any, retrain: Any) -> None:
    _create(backend, cooldown_s=3600)
    with backend.meta.read() as conn:
        monitor = monitoring.get_monitor(conn, "churn-drift")
    on_alert(controller.on_alert_event)
    try:
        for n in range(25):
            assert call_hooks(_event(monitor, n)) == []
        call_hooks(AlertEvent("resolved", _event(monitor, 99).alert, {"name": "churn-drift"}, T0))
    finally:
        remove_alert_hook(controller.on_alert_event)
    assert retrain.RUNS == [1]
    with backend.meta.read() as conn:
        runs = service.list_pipeline_runs(conn)
        trig = triggers.get_trigger(conn, "t")
        evaluations = triggers.list_evaluations(conn, trig.id, limit=100)
    assert [r.status for r in runs] == ["succeeded"]
    assert runs[0].cause["why"] == f"alert {0:032x} of monitor 'churn-drift' fired"
    assert len(evaluations) == 25 and sum(e["fired"] for e in evaluations) == 1


def test_paused_triggers_are_not_evaluated(backend: Any, retrain: Any) -> None:
    _create(backend)
    with backend.meta.write(backend.actor) as uow:
        assert triggers.set_trigger_state(uow, "t", "paused").state == "paused"
    assert controller.tick(backend, T0, evidence={"churn-drift"}) == []


def test_cron_trigger_fires_when_due(backend: Any, retrain: Any) -> None:
    trig = _create(backend, cause_kind="cron", cause="0 3 * * *", cooldown_s=0)
    day = 86_400_000
    created = trig.created_at
    assert _fired(controller.tick(backend, created + 1000)) in ([False], [True])
    assert _fired(controller.tick(backend, created + day + 1000)) == [True]
    assert _fired(controller.tick(backend, created + day + 2000)) == [False]


def test_new_dataset_version_fires_once(backend: Any, retrain: Any) -> None:
    backend.log_dataset("fresh", pd.DataFrame({"a": [1]}))
    _create(backend, cause_kind="dataset", cause="fresh", cooldown_s=0)
    assert _fired(controller.tick(backend, T0)) == [False]  # the version seen at create
    backend.log_dataset("fresh", pd.DataFrame({"a": [1, 2]}))
    assert _fired(controller.tick(backend, T0 + MINUTE)) == [True]
    assert _fired(controller.tick(backend, T0 + 2 * MINUTE)) == [False]


def test_trigger_cli(backend: Any, retrain: Any) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "trigger",
            "create",
            "drift",
            "--pipeline",
            "retrain_flow:retrain",
            "--on",
            "alert:churn-drift",
            "--m",
            "1",
            "--n",
            "2",
            "--cooldown",
            "2h",
            "--param",
            "seed=7",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    data = json.loads(made.output)
    assert data["cooldown_s"] == 7200 and data["params"] == {"seed": 7}
    refused = runner.invoke(
        app, ["trigger", "create", "x", "--pipeline", "retrain_flow:retrain", "--on", "alert:ghost"]
    )
    assert refused.exit_code == 1 and "no monitor 'ghost'" in refused.output
    assert [
        t["name"] for t in json.loads(runner.invoke(app, ["trigger", "list", "--json"]).output)
    ] == ["drift"]
    assert runner.invoke(app, ["trigger", "pause", "drift"]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["trigger", "show", "drift", "--json"]).output)
    assert shown["state"] == "paused" and shown["evaluations"] == []
    assert runner.invoke(app, ["trigger", "resume", "drift"]).exit_code == 0
    ticked = runner.invoke(app, ["trigger", "tick", "--json"])
    assert ticked.exit_code == 0, ticked.output
    assert json.loads(ticked.output)[0]["positive"] is False  # no firing alert stored


def test_the_shared_scheduler_runs_the_controller(backend: Any, retrain: Any) -> None:
    from conveyor.jobs import Scheduler

    backend.log_dataset("fresh", pd.DataFrame({"a": [1]}))
    _create(backend, cause_kind="dataset", cause="fresh", cooldown_s=0)
    backend.log_dataset("fresh", pd.DataFrame({"a": [1, 2]}))
    scheduler = Scheduler("test-triggers")
    job = controller.schedule_triggers(scheduler, backend, interval=3600)
    with scheduler:
        assert job.wait_for_runs(1, timeout=60)
    assert job.last_error is None
    assert [d.fired for d in job.last_result] == [True]
    assert retrain.RUNS == [1]
