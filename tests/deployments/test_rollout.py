"""Progressive rollout end to end: the real serving app writes the prediction log, the
controller reads it and moves traffic through real revisions. Time is driven explicitly."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from conveyor._util import now_ms
from conveyor.backend.local import LocalBackend
from conveyor.deployments import deploy_endpoint, get_revision
from conveyor.deployments import rollout as ro
from conveyor.deployments.runtime import DeploymentServer
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.governance.audit import list_events
from conveyor.governance.identity import local_actor
from conveyor.models import PythonModel, PythonModelContext
from conveyor.serving.prediction_log import PredictionLog
from conveyor.store import MetadataStore

from .conftest import register
from .helpers import client, records, run

ENDPOINT = "churn-api"


class Broken(PythonModel):
    """Raises on the rows whose ``f0`` is above ``above`` (every row of the data by
    default; its input example has ``f0 = -1000``)."""

    def __init__(self, above: float = -100.0) -> None:
        self.above = above

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        if (model_input["f0"].to_numpy() > self.above).any():
            raise RuntimeError("candidate bug")
        return np.zeros(len(model_input), dtype=np.int64)


class Sign(PythonModel):
    """A poor classifier: the sign of ``column``."""

    def __init__(self, column: str = "f3") -> None:
        self.column = column

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        return (model_input[self.column].to_numpy() > 0).astype(np.int64)


class Harness:
    """A deployed endpoint, its prediction log and a rollout controller over the store."""

    def __init__(self, backend: LocalBackend, tmp_path: Path, X: pd.DataFrame, y: Any) -> None:
        self.backend, self.X, self.y = backend, X, y
        self.log_uri = str(tmp_path / "logs")
        self.controller = ro_controller(backend.meta, self.log_uri)
        self.rows = records(X)

    def start(self, candidate: str, **config: Any) -> ro.Rollout:
        config.setdefault("interval", "1ms")
        config.setdefault("min_samples", 30)
        # p99 over ~100 in-process requests on a busy shared 2-core machine varies many
        # fold between two equal routes (a cold session, a preempted thread), so these
        # tests of decisions and traffic leave latency out; its statistic is tested in
        # test_rollout_analysis
        config.setdefault("latency_max_ratio", 1e6)
        return ro.start_rollout(self.backend, ENDPOINT, candidate, ro.make_config(**config))

    def rollout(self) -> ro.Rollout:
        with self.backend.meta.read() as conn:
            return ro.get_rollout(conn, ENDPOINT)

    def decisions(self) -> list[Any]:
        with self.backend.meta.read() as conn:
            return ro.list_decisions(conn, self.rollout().id)

    def traffic(self, n: int, *, labels: bool = True) -> list[tuple[int, str]]:
        """``n`` one-row requests through the real serving app (then its log is flushed);
        labels sent as feedback. Returns (status, route) per request."""
        out: list[tuple[int, str]] = []

        async def go() -> None:
            log = PredictionLog(self.log_uri, flush_interval_s=60)
            server = DeploymentServer(self.backend, [ENDPOINT], poll_interval=60,
                                      prediction_log=log)  # fmt: skip
            async with client(server) as c:
                feedback = []
                for i in range(n):
                    row = self.rows[i % len(self.rows)]
                    r = await c.post(f"/endpoints/{ENDPOINT}/invocations", json={"records": [row]})
                    out.append((r.status_code, r.headers.get("x-conveyor-route", "")))
                    if r.status_code == 200:
                        pid = r.json()["prediction_ids"][0]
                        feedback.append(
                            {"prediction_id": pid, "label": int(self.y[i % len(self.y)])}
                        )
                if labels and feedback:
                    r = await c.post("/feedback", json={"feedback": feedback})
                    assert r.status_code == 200, r.text

        run(go())
        return out

    def tick(self, now: int | None = None) -> list[Any]:
        return self.controller.tick(now=max(now_ms(), now or 0))


def ro_controller(meta: MetadataStore, log_uri: str) -> Any:
    from conveyor.deployments.rollout_controller import RolloutController

    return RolloutController(meta, log_uri=log_uri)


@pytest.fixture
def harness(
    backend: LocalBackend,
    tmp_path: Path,
    forests: list[RandomForestClassifier],
    clf_data: tuple[pd.DataFrame, np.ndarray],
) -> Harness:
    """``churn`` v1 (a forest) serving ``churn-api``; v2 the same forest (an equal candidate)."""
    # the router splits traffic at random; an unlucky split sends the canary rows whose
    # outputs differ enough for the output-shift test to fire (p < 0.01) on an equal
    # candidate, so the split is made repeatable
    random.seed(20261204)
    X, y = clf_data
    register(backend, "churn", forests[0], X.head(20), tmp_path)
    register(backend, "churn", forests[0], X.head(20), tmp_path)
    deploy_endpoint(backend, ENDPOINT, model="churn/1")
    return Harness(backend, tmp_path, X, y)


def _register_pyfunc(h: Harness, model: PythonModel, tmp_path: Path) -> int:
    example = h.X.head(5).assign(f0=-1000.0)
    return register(h.backend, "churn", model, example, tmp_path).version


def _primary(h: Harness) -> tuple[str, list[tuple[str, str, float]]]:
    with h.backend.meta.read() as conn:
        rev = get_revision(conn, ENDPOINT)
    return rev.routes_by_role("primary")[0].key, [(r.role, r.key, r.weight) for r in rev.routes]


def test_good_candidate_is_promoted(harness: Harness) -> None:
    h = harness
    r = h.start("churn/2", steps="25,50,100")
    assert r.state == "pending" and r.weight == 0
    assert [t.action for t in h.tick()] == ["begin"]
    assert _primary(h)[1] == [("primary", "churn/1", 75.0), ("canary", "churn/2", 25.0),
                              ("fallback", "churn/1", 0.0)]  # fmt: skip
    statuses = h.traffic(300)
    assert {s for s, _ in statuses} == {200}
    result = h.tick()
    assert [t.action for t in result] == ["advance"], result
    assert h.rollout().weight == 50
    h.traffic(200)
    result = h.tick()
    assert [t.action for t in result] == ["promote"], result
    r = h.rollout()
    assert r.state == "promoted" and r.weight == 100
    assert _primary(h)[1] == [("primary", "churn/2", 100.0)]
    with h.backend.meta.read() as conn:
        from conveyor.registry import service as registry

        assert registry.resolve_version(conn, "churn", "champion").version == 2
        events = [e.action for e in list_events(conn, object_type="rollout")]
    assert events == ["rollout.start", "rollout.begin", "rollout.advance", "rollout.promote"]
    decisions = h.decisions()
    assert [d.action for d in decisions] == ["start", "begin", "advance", "promote"]
    analysis = decisions[2].analysis
    assert analysis is not None and analysis["verdict"] == "pass"
    checks = {c["name"]: c for c in analysis["checks"]}
    assert set(checks) == {"error_rate", "latency_p99", "output_shift", "performance"}
    assert checks["error_rate"]["samples"]["candidate"] >= 30
    assert checks["performance"]["verdict"] == "pass"  # labels arrived: compared
    assert checks["error_rate"]["threshold"]["min_samples"] == 30


def test_candidate_with_errors_is_rolled_back(harness: Harness, tmp_path: Path) -> None:
    h = harness
    version = _register_pyfunc(h, Broken(above=0.5), tmp_path)  # raises on ~1/3 of rows
    h.start(f"churn/{version}", steps="50,100")
    h.tick()
    statuses = h.traffic(300)
    assert {s for s, _ in statuses} == {200}  # the fallback answered every failure
    assert "fallback" in {route for _, route in statuses}
    result = h.tick()
    assert [t.action for t in result] == ["rollback"], result
    r = h.rollout()
    assert r.state == "rolled_back" and "error rate" in r.reason
    assert _primary(h)[1] == [("primary", "churn/1", 100.0)]  # the primary has all traffic
    analysis = h.decisions()[-1].analysis
    assert analysis is not None and "error_rate" in [
        c["name"] for c in analysis["checks"] if c["verdict"] == "fail"
    ]


def test_candidate_raising_on_every_request_rolled_back_without_failed_requests(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    version = _register_pyfunc(h, Broken(), tmp_path)
    h.start(f"churn/{version}", steps="10,50,100", min_samples=20)
    h.tick()
    # routing is random: 600 requests at 10% give the candidate 60 ± 7, never under 20
    statuses = h.traffic(600, labels=False)
    assert [s for s, _ in statuses if s != 200] == []
    assert sum(route == "fallback" for _, route in statuses) >= 20
    assert [t.action for t in h.tick()] == ["rollback"]
    assert h.rollout().state == "rolled_back"
    assert _primary(h)[1] == [("primary", "churn/1", 100.0)]
    after = h.traffic(50, labels=False)
    assert {route for _, route in after} == {"primary"}


def test_logged_failures_count_for_the_route_that_failed(harness: Harness, tmp_path: Path) -> None:
    """Primary and candidate both raise on some rows (``f0`` above 1 for the primary, above
    0 for the candidate); the fallback is the primary's version, so a row both fail on is
    answered 503 and logged as the failure of the route it was sent to, and a row only the
    candidate fails on is answered by the fallback."""
    h = harness
    primary = _register_pyfunc(h, Broken(above=1.0), tmp_path)
    deploy_endpoint(h.backend, ENDPOINT, model=f"churn/{primary}")
    candidate = _register_pyfunc(h, Broken(above=0.0), tmp_path)
    h.start(f"churn/{candidate}", steps="50,100")
    h.tick()
    statuses = h.traffic(300, labels=False)
    failed = sum(s == 503 for s, _ in statuses)
    rescued = sum(route == "fallback" for _, route in statuses)
    assert failed > 0 and rescued > 0 and {s for s, _ in statuses} == {200, 503}
    assert [t.action for t in h.tick()] == ["rollback"]
    checks = {c["name"]: c for c in h.decisions()[-1].analysis["checks"]}
    check = checks["error_rate"]
    assert check["verdict"] == "fail"
    n1, n2 = check["samples"]["candidate"], check["samples"]["primary"]
    assert n1 + n2 == 300  # every request counted for its route, failed ones included
    errors = check["candidate"] * n1 + check["primary"] * n2
    assert round(errors) == failed + rescued  # logged failures of both routes + rescues
    assert check["primary"] > 0  # the primary's own failures count for the primary


def test_less_accurate_candidate_rolled_back_once_labels_arrive(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    version = _register_pyfunc(h, Sign("f3"), tmp_path)
    value = {"tp": 10.0, "tn": 10.0, "fp": -10.0, "fn": -10.0}  # linear in accuracy
    h.start(f"churn/{version}", steps="50,100", max_shift=1.0, value_matrix=value)
    h.tick()
    h.traffic(300)
    assert [t.action for t in h.tick()] == ["rollback"]
    analysis = h.decisions()[-1].analysis
    assert analysis is not None
    checks = {c["name"]: c for c in analysis["checks"]}
    perf = checks["performance"]
    assert perf["verdict"] == "fail" and perf["interval"][1] < 0
    assert perf["candidate"] < perf["primary"]
    assert checks["business_value"]["verdict"] == "fail"
    assert checks["business_value"]["candidate"] < checks["business_value"]["primary"]
    assert h.rollout().state == "rolled_back"


def test_no_traffic_holds_then_fails_after_max_hold(harness: Harness) -> None:
    h = harness
    r = h.start("churn/2", steps="50,100", interval="10m", max_hold="1h")
    begun = h.tick()
    assert [t.action for t in begun] == ["begin"]
    started = h.rollout().step_started_at
    assert started is not None
    assert [t.action for t in h.tick(started + 60_000)] == ["wait"]  # step not over
    held = h.tick(started + 11 * 60_000)
    assert [t.action for t in held] == ["hold"]
    r = h.rollout()
    assert r.state == "progressing" and r.weight == 50  # held, not passed
    analysis = h.decisions()[-1].analysis
    assert analysis is not None and analysis["verdict"] == "insufficient"
    assert "needed" in analysis["summary"]
    assert [t.action for t in h.tick(started + 61 * 60_000)] == ["rollback"]
    r = h.rollout()
    assert r.state == "rolled_back" and "not enough data" in r.reason
    assert _primary(h)[1] == [("primary", "churn/1", 100.0)]


def test_killed_controller_resumes_from_the_store(harness: Harness, db_url: str) -> None:
    h = harness
    h.start("churn/2", steps="25,50,100")
    h.tick()
    h.traffic(300)
    assert [t.action for t in h.tick()] == ["advance"]
    del h.controller  # the process dies; only the store remembers
    fresh = MetadataStore(db_url)
    controller = ro_controller(fresh, h.log_uri)
    h.traffic(200)
    result = controller.tick(now=now_ms())
    assert [t.action for t in result] == ["promote"], result
    assert h.rollout().state == "promoted"
    fresh.dispose()


def test_second_start_conflicts_and_supersede_aborts(harness: Harness, tmp_path: Path) -> None:
    h = harness
    third = _register_pyfunc(h, Sign("f0"), tmp_path)
    first = h.start("churn/2", steps="50,100")
    h.tick()
    with pytest.raises(Conflict) as err:
        h.start(f"churn/{third}")
    assert "--supersede" in err.value.message and "rollout abort" in err.value.message
    with h.backend.meta.write(local_actor()) as uow:
        new = ro.start(uow, ENDPOINT, f"churn/{third}", ro.make_config(interval="1ms"),
                       supersede=True)  # fmt: skip
    with h.backend.meta.read() as conn:
        from conveyor.deployments.rollout_tables import rollouts

        old_state = conn.execute(rollouts.select().where(rollouts.c.id == first.id)).one().state
    assert old_state == "aborted" and new.state == "pending"
    assert _primary(h)[1] == [("primary", "churn/1", 100.0)]  # the old canary removed
    assert h.rollout().id == new.id


def test_operator_commands_and_bad_input(harness: Harness) -> None:
    h = harness
    with pytest.raises(NotFound, match="no version 9"):
        h.start("churn/9")
    with pytest.raises(NotFound, match="nope"), h.backend.meta.write(local_actor()) as uow:
        ro.start(uow, "nope", "churn/2")
    with pytest.raises(ValidationFailed, match="already the primary"):
        h.start("churn/1")
    with pytest.raises(ValidationFailed, match="must increase"):
        h.start("churn/2", steps="50,25")
    with pytest.raises(ValidationFailed, match="unknown rollout threshold"):
        h.start("churn/2", alpah=0.1)
    with pytest.raises(NotFound, match="has no rollout"):
        h.rollout()
    h.start("churn/2", steps="50,100")
    h.tick()
    with h.backend.meta.write(local_actor()) as uow:
        assert ro.pause(uow, ENDPOINT).state == "paused"
    assert [t.action for t in h.tick()] == ["wait"]
    with h.backend.meta.write(local_actor()) as uow:
        assert ro.resume(uow, ENDPOINT).state == "progressing"
    with h.backend.meta.write(local_actor()) as uow:
        done = ro.abort(uow, ENDPOINT, reason="changed my mind")
    assert done.state == "aborted" and done.reason == "changed my mind"
    assert _primary(h)[1] == [("primary", "churn/1", 100.0)]
    with (
        pytest.raises(ValidationFailed, match="already ended"),
        h.backend.meta.write(local_actor()) as uow,
    ):
        ro.pause(uow, ENDPOINT)


def test_manual_promote_and_outside_deploy(harness: Harness) -> None:
    h = harness
    h.start("churn/2", steps="50,100", require_approval=True)
    h.tick()
    h.traffic(200)
    result = h.tick()
    assert [t.action for t in result] == ["pause"], result
    assert "awaiting approval" in h.rollout().reason
    with h.backend.meta.write(local_actor()) as uow:
        assert ro.promote(uow, ENDPOINT).state == "promoted"
    assert _primary(h)[1] == [("primary", "churn/2", 100.0)]
    # a deploy outside a running rollout ends it, leaving that deploy's traffic alone
    h.start("churn/1", steps="50,100")
    h.tick()
    deploy_endpoint(h.backend, ENDPOINT, model="churn/2", compile=False)
    assert [t.action for t in h.tick()] == ["abort"]
    assert h.rollout().state == "aborted"
    assert _primary(h)[1] == [("primary", "churn/2", 100.0)]


def test_unreadable_log_changes_nothing_then_recovers(harness: Harness) -> None:
    h = harness
    h.start("churn/2", steps="50,100")
    h.tick()
    h.traffic(200)
    before = h.rollout()
    bad = Path(h.log_uri) / "predictions" / f"endpoint={ENDPOINT}"
    victim = sorted(bad.rglob("*.parquet"))[0]
    good = victim.read_bytes()
    victim.write_bytes(b"not parquet")
    result = h.tick()
    assert [t.action for t in result] == ["error"]
    after = h.rollout()
    assert (after.seq, after.state, after.revision) == (before.seq, before.state, before.revision)
    victim.write_bytes(good)
    assert [t.action for t in h.tick()] == ["promote"]


def test_unreachable_store_is_reported_not_raised(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"
    meta = MetadataStore(url, migrate=False)
    result = ro_controller(meta, str(tmp_path)).tick(now=now_ms())
    assert [t.action for t in result] == ["error"]
    meta.dispose()


def test_promotion_needs_passing_gates(harness: Harness) -> None:
    from conveyor.gates import run_gates
    from conveyor.gates import service as gates

    h = harness
    h.backend.log_dataset("churn-eval", h.X.assign(label=h.y))
    policy = "evaluation_dataset: churn-eval@latest\nchecks:\n  - metric: auc\n    min: 0.8\n"
    with h.backend.meta.write(local_actor()) as uow:
        gates.set_policy(uow, "churn", policy + "protected_aliases: [champion]\n")
    assert run_gates(h.backend, "churn", 1).passed  # the primary's step revisions are deploys
    h.start("churn/2", steps="50,100")  # churn/2 has no gate report under the policy
    h.tick()
    h.traffic(200)
    assert [t.action for t in h.tick()] == ["pause"]
    r = h.rollout()
    assert r.state == "paused" and "gates refused" in r.reason and "gates run" in r.reason
    assert _primary(h)[1][1] == ("canary", "churn/2", 50.0)  # traffic unchanged
    with h.backend.meta.write(local_actor()) as uow:
        assert ro.promote(uow, ENDPOINT, override_reason="hotfix approved").state == "promoted"
    assert _primary(h)[1] == [("primary", "churn/2", 100.0)]
    with h.backend.meta.read() as conn:
        overrides = list_events(conn, action="gate.override")
    assert overrides and all("hotfix approved" in str(e.details) for e in overrides)


def test_promotion_waits_for_a_required_approval(harness: Harness) -> None:
    """An approval policy on the alias pauses the promotion (traffic unchanged) until a
    reviewer, not the requester, approves that version."""
    from conveyor.errors import ApprovalRequired
    from conveyor.governance import approvals
    from conveyor.governance.identity import Actor

    h = harness
    with h.backend.meta.write(local_actor()) as uow:
        approvals.set_approval_policy(uow, "alias:champion")
    h.start("churn/2", steps="50,100")
    h.tick()
    h.traffic(200)
    assert [t.action for t in h.tick()] == ["pause"]
    r = h.rollout()
    assert r.state == "paused" and "approval" in r.reason
    assert _primary(h)[1][1] == ("canary", "churn/2", 50.0)  # traffic unchanged
    with pytest.raises(ApprovalRequired), h.backend.meta.write(local_actor()) as uow:
        ro.promote(uow, ENDPOINT)
    with h.backend.meta.write(local_actor()) as uow:
        asked = approvals.request_approval(uow, "churn", 2, "alias:champion")
    with h.backend.meta.write(Actor("reviewer")) as uow:
        approvals.approve_request(uow, asked.id, "canary looked fine")
    with h.backend.meta.write(local_actor()) as uow:
        assert ro.promote(uow, ENDPOINT).state == "promoted"
    assert _primary(h)[1] == [("primary", "churn/2", 100.0)]
