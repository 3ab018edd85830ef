"""Monitors, checks and alerts on SQLite and PostgreSQL; notifiers against a real HTTP server.

Time is driven explicitly with ``now=``; nothing sleeps.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor.artifacts import ArtifactStore
from conveyor.backend.local import LocalBackend
from conveyor.data import service as data_service
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.governance.audit import list_events
from conveyor.governance.identity import Actor
from conveyor.monitoring.alerts import AlertEvent, on_alert, remove_alert_hook, transition
from conveyor.monitoring.monitors import MonitorSpec, load_monitor_specs
from conveyor.monitoring.service import (
    MonitorScheduler,
    apply_monitors,
    create_monitor,
    delete_monitor,
    evaluate_monitor,
    get_monitor,
    list_alerts,
    list_checks,
    list_monitors,
    run_once,
    update_monitor,
)
from conveyor.monitoring.tables import alerts
from conveyor.registry import service as registry
from conveyor.store import MetadataStore

from .test_loop_helpers import ENDPOINT, T0, http_sink, write_log

MIN = 60_000
END = T0 + 1_000_000  # the log holds requests from T0 to END


@pytest.fixture
def backend(meta: MetadataStore, artifacts: ArtifactStore) -> LocalBackend:
    return LocalBackend(meta, artifacts, Actor("tester"))


@pytest.fixture
def log_uri(tmp_path: Path) -> str:
    root = tmp_path / "plog"
    write_log(root)
    return str(root)


@pytest.fixture
def events() -> Iterator[list[AlertEvent]]:
    got: list[AlertEvent] = []
    hook = on_alert(got.append)
    yield got
    remove_alert_hook(hook)


def _create(backend: LocalBackend, **spec: Any) -> None:
    base: dict[str, Any] = {
        "name": "p99",
        "endpoint": ENDPOINT,
        "metric": "latency.p99",
        "comparison": ">",
        "threshold": 5.0,
        "window": "1h",
        "schedule": "1m",
    }
    base.update(spec)
    with backend.meta.write(backend.actor) as uow:
        create_monitor(uow, base)


def _set(backend: LocalBackend, name: str, **changes: Any) -> None:
    with backend.meta.write(backend.actor) as uow:
        update_monitor(uow, name, changes)


def test_monitor_crud_is_audited(backend: LocalBackend) -> None:
    _create(backend, notifiers=[{"type": "log"}], **{"for": "5m"})
    with backend.meta.read() as conn:
        m = get_monitor(conn, "p99")
    assert (m.window_s, m.schedule_s, m.for_s, m.threshold) == (3600, 60, 300, 5.0)
    with pytest.raises(Conflict, match="exists"):
        _create(backend)
    with pytest.raises(ValidationFailed, match="unknown metric"):
        _create(backend, name="bad", metric="vibes")
    with pytest.raises(ValidationFailed, match="comparison"):
        _create(backend, name="bad", comparison="~")
    _set(backend, "p99", threshold=50, severity="critical")
    with backend.meta.write(backend.actor) as uow:
        applied = apply_monitors(
            uow,
            [
                MonitorSpec("p99", ENDPOINT, "latency.p99", 50, window="1h", schedule="1m",
                            severity="critical", for_="5m", notifiers=[{"type": "log"}]),
                MonitorSpec("volume", ENDPOINT, "volume", 10, comparison="<"),
            ],
        )  # fmt: skip
    assert [a.action for a in applied] == ["unchanged", "created"]
    with backend.meta.read() as conn:
        assert [m.name for m in list_monitors(conn)] == ["p99", "volume"]
        assert get_monitor(conn, "p99").severity == "critical"
    with backend.meta.write(backend.actor) as uow:
        delete_monitor(uow, "volume")
    with backend.meta.read() as conn:
        with pytest.raises(NotFound):
            get_monitor(conn, "volume")
        actions = [e.action for e in list_events(conn, object_type="monitor")]
    assert actions == ["monitor.create", "monitor.update", "monitor.create", "monitor.delete"]


def test_fires_after_for_duration_dedups_and_resolves(
    backend: LocalBackend, log_uri: str, events: list[AlertEvent]
) -> None:
    with http_sink() as (url, got):
        _create(
            backend, notifiers=[{"type": "webhook", "url": url, "backoff": 0}], **{"for": "10m"}
        )
        first = evaluate_monitor(backend, "p99", now=END, log_uri=log_uri)
        assert first.status == "breach" and first.action == "open"
        assert first.alert is not None and first.alert.state == "pending"
        mid = evaluate_monitor(backend, "p99", now=END + 5 * MIN, log_uri=log_uri)
        assert mid.action == "update" and mid.alert is not None
        assert mid.alert.id == first.alert.id and mid.alert.state == "pending"
        assert got.bodies == [] and events == []
        fired = evaluate_monitor(backend, "p99", now=END + 10 * MIN, log_uri=log_uri)
        assert fired.action == "fire" and fired.alert is not None
        assert fired.alert.state == "firing" and fired.alert.fired_at == END + 10 * MIN
        assert len(got.bodies) == 1 and got.bodies[0]["kind"] == "firing"
        assert got.bodies[0]["alert"]["id"] == first.alert.id
        assert got.bodies[0]["monitor"]["metric"] == "latency.p99"
        again = evaluate_monitor(backend, "p99", now=END + 11 * MIN, log_uri=log_uri)
        assert again.action == "update" and len(got.bodies) == 1  # no second notification
        with backend.meta.read() as conn:
            assert len(list_alerts(conn, open_only=True)) == 1
        _set(backend, "p99", threshold=1000)
        resolved = evaluate_monitor(backend, "p99", now=END + 12 * MIN, log_uri=log_uri)
        assert resolved.status == "ok" and resolved.action == "resolve"
        assert resolved.alert is not None and resolved.alert.state == "resolved"
        assert [b["kind"] for b in got.bodies] == ["firing", "resolved"]
    assert [e.kind for e in events] == ["firing", "resolved"]
    assert events[0].alert.id == first.alert.id
    with backend.meta.read() as conn:
        history = list_alerts(conn, monitor="p99")
        checks = list_checks(conn, "p99")
        audited = [e.action for e in list_events(conn, object_type="alert")]
    assert len(history) == 1 and history[0].state == "resolved"
    assert [n["ok"] for n in history[0].notifications] == [True, True]
    assert [c["status"] for c in checks] == ["ok", "breach", "breach", "breach", "breach"]
    assert audited == ["alert.open", "alert.fire", "alert.resolve"]


def test_resolved_messages_say_recovered_and_payloads_carry_the_window(
    backend: LocalBackend, log_uri: str, events: list[AlertEvent]
) -> None:
    with http_sink() as (url, got):
        _create(backend, notifiers=[{"type": "webhook", "url": url, "backoff": 0}])
        fired = evaluate_monitor(backend, "p99", now=END, log_uri=log_uri)
        assert fired.alert is not None and fired.alert.message.startswith("latency.p99 = ")
        assert fired.alert.message.endswith("(latency.p99 > 5)")
        _set(backend, "p99", threshold=1000)
        resolved = evaluate_monitor(backend, "p99", now=END + MIN, log_uri=log_uri)
    assert resolved.alert is not None
    assert resolved.alert.message.startswith("recovered: latency.p99 = ")
    assert "the alert condition latency.p99 > 1000 no longer holds" in resolved.alert.message
    assert [b["kind"] for b in got.bodies] == ["firing", "resolved"]
    window = got.bodies[1]["window"]
    assert (window["start_ms"], window["end_ms"]) == (END + MIN - 3_600_000, END + MIN)
    assert window["end"].startswith("20") and events[1].window == window


def test_monitor_messages_say_what_to_do(backend: LocalBackend) -> None:
    _create(backend)
    with pytest.raises(Conflict) as exc:
        _create(backend)
    assert "conveyor monitors create --file monitors.yaml` (creates or updates)" in str(exc.value)
    assert "conveyor monitors delete p99" in str(exc.value)
    with backend.meta.read() as conn:
        assert list_alerts(conn, monitor="p99") == []  # exists, no alerts yet
        with pytest.raises(NotFound, match="monitor 'nope' does not exist"):
            list_alerts(conn, monitor="nope")


def test_pending_alert_that_recovers_resolves_silently(
    backend: LocalBackend, log_uri: str, events: list[AlertEvent]
) -> None:
    _create(backend, **{"for": "10m"})
    evaluate_monitor(backend, "p99", now=END, log_uri=log_uri)
    _set(backend, "p99", threshold=1000)
    out = evaluate_monitor(backend, "p99", now=END + MIN, log_uri=log_uri)
    assert out.action == "resolve" and out.alert is not None and out.alert.fired_at is None
    assert events == []


def test_cooldown_holds_a_new_firing_back(
    backend: LocalBackend, log_uri: str, events: list[AlertEvent]
) -> None:
    _create(backend, cooldown="30m")
    t1 = END
    assert evaluate_monitor(backend, "p99", now=t1, log_uri=log_uri).action == "fire"
    _set(backend, "p99", threshold=1000)
    assert evaluate_monitor(backend, "p99", now=t1 + MIN, log_uri=log_uri).action == "resolve"
    _set(backend, "p99", threshold=5)
    held = evaluate_monitor(backend, "p99", now=t1 + 10 * MIN, log_uri=log_uri)
    assert held.action == "open" and held.alert is not None and held.alert.state == "pending"
    still = evaluate_monitor(backend, "p99", now=t1 + 29 * MIN, log_uri=log_uri)
    assert still.alert is not None and still.alert.state == "pending"
    later = evaluate_monitor(backend, "p99", now=t1 + 30 * MIN, log_uri=log_uri)
    assert later.action == "fire" and later.alert is not None and later.alert.id == held.alert.id
    assert [e.kind for e in events] == ["firing", "resolved", "firing"]


def test_insufficient_data_neither_fires_nor_resolves(
    backend: LocalBackend, tmp_path: Path
) -> None:
    root = tmp_path / "unlabelled"
    write_log(root, label_share=0.0)
    _create(backend, name="auc", metric="performance.auc", comparison="<", threshold=0.99)
    out = evaluate_monitor(backend, "auc", now=END, log_uri=str(root))
    assert out.status == "insufficient_data" and out.value is None and out.action == "none"
    assert "no labels" in str(out.reason)
    _create(backend, threshold=1.0)
    assert evaluate_monitor(backend, "p99", now=END, log_uri=str(root)).action == "fire"
    # hours later the window is empty: the firing alert stays open, nothing resolves
    quiet = evaluate_monitor(backend, "p99", now=END + 600 * MIN, log_uri=str(root))
    assert quiet.status == "insufficient_data" and quiet.action == "none"
    # ... but volume is 0 on an empty window, so "volume < 1" catches a silent endpoint
    _create(backend, name="silent", metric="volume", comparison="<", threshold=1)
    silent = evaluate_monitor(backend, "silent", now=END + 600 * MIN, log_uri=str(root))
    assert (silent.status, silent.value, silent.action) == ("breach", 0.0, "fire")
    with backend.meta.read() as conn:
        assert [a.monitor for a in list_alerts(conn, open_only=True)] == ["silent", "p99"]
        check = list_checks(conn, "auc")[0]
    assert check["status"] == "insufficient_data" and check["value"] is None
    assert "no labels" in check["details"]["reason"]


def test_one_open_alert_per_monitor_is_a_database_guarantee(
    backend: LocalBackend, log_uri: str
) -> None:
    _create(backend, **{"for": "1h"})
    out = evaluate_monitor(backend, "p99", now=END, log_uri=log_uri)
    assert out.alert is not None
    with pytest.raises(sa.exc.IntegrityError), backend.meta.write(backend.actor) as uow:
        row = uow.conn.execute(sa.select(alerts).where(alerts.c.id == out.alert.id)).one()
        uow.conn.execute(alerts.insert().values({**row._asdict(), "id": "f" * 32}))


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def test_failing_webhooks_are_recorded_and_do_not_stop_the_evaluator(
    backend: LocalBackend, log_uri: str, events: list[AlertEvent]
) -> None:
    with http_sink(status=500) as (url, got), http_sink() as (slack_url, slack):
        notifiers = [
            {"type": "webhook", "url": url, "retries": 2, "backoff": 0},
            {"type": "webhook", "url": _closed_port(), "retries": 1, "backoff": 0, "timeout": 2},
            {"type": "nope"},
            {"type": "slack", "url": slack_url, "backoff": 0},
        ]
        _create(backend, notifiers=notifiers)
        out = evaluate_monitor(backend, "p99", now=END, log_uri=log_uri)
    assert out.action == "fire" and len(got.bodies) == 3  # 1 + 2 retries
    records = {r["notifier"] + str(i): r for i, r in enumerate(out.notifications)}
    assert records["webhook0"]["ok"] is False and records["webhook0"]["attempts"] == 3
    assert "HTTP 500" in records["webhook0"]["error"]
    assert records["webhook1"]["ok"] is False and records["webhook1"]["attempts"] == 2
    assert "ConnectError" in records["webhook1"]["error"]
    assert records["nope2"]["ok"] is False and "unknown notifier" in records["nope2"]["error"]
    assert records["slack3"]["ok"] is True
    body = slack.bodies[0]
    assert "FIRING" in body["text"] and body["blocks"][0]["type"] == "header"
    with backend.meta.read() as conn:
        stored = list_alerts(conn, monitor="p99")[0]
    assert [n["ok"] for n in stored.notifications] == [False, False, False, True]
    assert stored.state == "firing" and len(events) == 1


def test_a_failing_hook_is_recorded(backend: LocalBackend, log_uri: str) -> None:
    def broken(event: AlertEvent) -> None:
        raise RuntimeError("retraining queue down")

    on_alert(broken)
    try:
        _create(backend)
        out = evaluate_monitor(backend, "p99", now=END, log_uri=log_uri)
    finally:
        remove_alert_hook(broken)
    assert out.action == "fire"
    assert out.notifications[-1]["ok"] is False
    assert "retraining queue down" in out.notifications[-1]["error"]


def _reference_model(backend: LocalBackend) -> None:
    """Dataset version 'train' (x0 ~ N(0,1), c0 in a/b/c) as version 1's reference."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"x0": rng.normal(size=2000), "c0": rng.choice(["a", "b", "c"], size=2000)}
    )
    dv = data_service.record_dataset_version(
        backend.meta, backend.artifacts, backend.actor, name="train", data=frame
    )
    with backend.meta.write(backend.actor) as uow:
        registry.create_model_version(
            uow, "churn-model", source="test", manifest_sha256="0" * 64, flavor="sklearn",
            files=[{"path": "model.skops", "sha256": "0" * 64}],
            reference_dataset_version_id=dv.id,
        )  # fmt: skip


def test_drift_and_quality_monitors_use_the_model_versions_training_data(
    backend: LocalBackend, tmp_path: Path
) -> None:
    _reference_model(backend)
    shifted = tmp_path / "shifted"
    write_log(shifted, shift=1.5)
    common: dict[str, Any] = {"options": {"model": "churn-model"}, "model_version": "1"}
    _create(backend, name="share", metric="drift.share", threshold=0.3, **common)
    _create(backend, name="x0", metric="drift.x0", threshold=0.2, **common)
    _create(backend, name="c0p", metric="drift.c0.p_value", comparison="<", threshold=0.001,
            **common)  # fmt: skip
    _create(backend, name="nulls", metric="quality.null_rate.x0", threshold=0.01, **common)
    outcomes = {o.monitor: o for o in run_once(backend, now=END, log_uri=str(shifted))}
    assert outcomes["share"].status == "breach" and outcomes["share"].value == 0.5
    assert outcomes["x0"].status == "breach" and outcomes["x0"].value is not None
    assert outcomes["x0"].value > 0.4  # KS D of a 1.5 sd shift
    assert outcomes["c0p"].status == "ok"
    assert outcomes["nulls"].status == "ok" and outcomes["nulls"].value == 0.0
    _create(backend, name="named", metric="drift.share", threshold=0.3,
            options={"reference": "train:1"})  # fmt: skip
    named = evaluate_monitor(backend, "named", now=END, log_uri=str(shifted))
    assert (named.status, named.value) == ("breach", 0.5)
    _create(backend, name="nomodel", metric="drift.share", threshold=0.3)  # no deployment
    out = evaluate_monitor(backend, "nomodel", now=END, log_uri=str(shifted))
    assert out.status == "insufficient_data" and "no reference data" in str(out.reason)


def test_run_once_evaluates_due_monitors_only(backend: LocalBackend, log_uri: str) -> None:
    _create(backend, schedule="10m")
    _create(backend, name="vol", metric="volume", comparison="<", threshold=1, schedule="1m")
    assert len(run_once(backend, now=END, log_uri=log_uri)) == 2
    assert [o.monitor for o in run_once(backend, now=END + MIN, log_uri=log_uri)] == ["vol"]
    assert len(run_once(backend, now=END + 10 * MIN, log_uri=log_uri)) == 2
    _set(backend, "vol", enabled=False)
    seen: list[tuple[int, int, str]] = []
    run_once(backend, now=END + 30 * MIN, log_uri=log_uri, progress=lambda *a: seen.append(a))
    assert seen == [(0, 1, ""), (1, 1, "p99")]


def test_scheduler_thread_evaluates_and_stops(backend: LocalBackend, log_uri: str) -> None:
    _create(backend, schedule="1h")
    with MonitorScheduler(backend, interval=0.01, log_uri=log_uri) as scheduler:
        assert scheduler.wait_for_ticks(3, timeout=30)
    assert not scheduler.running and scheduler.last_error is None
    with backend.meta.read() as conn:
        checks = list_checks(conn, "p99")
    assert len(checks) == 1  # due once per hour, however often the scheduler ticks


def test_transition_table() -> None:
    assert transition(None, "insufficient_data", 0, for_s=0, cooldown_s=0, last_fired_at=None)
    step = transition(None, "breach", 0, for_s=0, cooldown_s=60, last_fired_at=-30_000)
    assert (step.action, step.state) == ("open", "pending")
    assert transition(None, "ok", 0, for_s=0, cooldown_s=0, last_fired_at=None).action == "none"


def test_monitor_specs_from_files(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "monitors:\n"
        "  - {name: auc, endpoint: churn, metric: performance.auc, comparison: '<',\n"
        "     threshold: 0.7, for: 15m, window: 1d}\n"
    )
    (tmp_path / "m.toml").write_text(
        '[[monitors]]\nname = "p99"\nendpoint = "churn"\nmetric = "latency.p99"\nthreshold = 200\n'
    )
    (tmp_path / "m.json").write_text('[{"name": "x", "endpoint": "e", "metric": "volume"}]')
    (yaml_spec,) = load_monitor_specs(tmp_path / "m.yaml")
    assert yaml_spec.for_ == "15m" and yaml_spec.validate()["window_s"] == 86_400
    assert load_monitor_specs(tmp_path / "m.toml")[0].threshold == 200
    with pytest.raises(ValidationFailed, match="needs"):
        load_monitor_specs(tmp_path / "m.json")


def test_migration_matches_the_table_definitions(meta: MetadataStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from conveyor.store.tables import metadata

    with meta.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diff if any(t in repr(d) for t in ("monitor", "alerts"))]
    assert ours == []


@pytest.mark.parametrize(
    "metric",
    ["performance.auc", "performance.label_coverage", "business.value_per_prediction",
     "latency.p99", "throughput", "throughput.rows", "volume", "fallback_rate", "drift.share",
     "drift.x0", "drift.x0.p_value", "quality.null_rate.x0", "quality.issues"],
)  # fmt: skip
def test_known_metrics_validate(metric: str) -> None:
    options = {"value_matrix": {"tp": 1}} if metric.startswith("business.") else {}
    MonitorSpec("m", "e", metric, 1.0, options=options).validate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"notifiers": [{"type": "webhook", "url": "notaurl"}]}, "webhook notifier needs an http"),
        ({"notifiers": [{"type": "slack"}]}, "slack notifier needs an http"),
        ({"notifiers": [{"type": "webhook", "url": "ftp://x/y"}]}, "http\\(s\\) URL"),
        ({"metric": "business.total"}, "business.total: business metrics need options.value_m"),
        (
            {"metric": "business.total", "options": {"value_matrix": {"tp": 1, "xx": 2}}},
            "options.value_matrix has unknown key\\(s\\) \\['xx'\\]; accepted keys",
        ),
        (
            {"metric": "business.total", "options": {"value_function": "nocolon"}},
            "options.value_function must be 'package.module:function'",
        ),
    ],
)
def test_monitors_that_could_never_evaluate_are_refused(
    changes: dict[str, Any], message: str
) -> None:
    spec = {"name": "m", "endpoint": "e", "metric": "volume", "threshold": 1.0, **changes}
    with pytest.raises(ValidationFailed, match=message):
        MonitorSpec.from_dict(spec).validate()
    MonitorSpec.from_dict(
        {**spec, "notifiers": [{"type": "webhook", "url": "https://hooks.example.com/a"}],
         "options": {"value_matrix": {"tp": 1}, "value_function": "a.b:c"}}
    ).validate()  # fmt: skip


@pytest.mark.parametrize(
    "metric", ["performance.auroc", "performance", "latency.p42", "quality.nulls", "drift", "x"]
)
def test_unknown_metrics_are_refused(metric: str) -> None:
    with pytest.raises(ValidationFailed, match="metric"):
        MonitorSpec("m", "e", metric, 1.0).validate()


def test_concurrent_evaluators_open_one_alert(
    backend: LocalBackend, log_uri: str, events: list[AlertEvent]
) -> None:
    import threading

    _create(backend)
    barrier = threading.Barrier(4)
    actions: list[str] = []
    errors: list[BaseException] = []

    def evaluate() -> None:
        barrier.wait()
        try:
            actions.append(evaluate_monitor(backend, "p99", now=END, log_uri=log_uri).action)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(actions) == ["fire", "update", "update", "update"]
    with backend.meta.read() as conn:
        assert len(list_alerts(conn, monitor="p99")) == 1
    assert [e.kind for e in events] == ["firing"]


def test_a_monitor_deleted_mid_round_is_skipped(backend: LocalBackend, log_uri: str) -> None:
    _create(backend)
    _create(backend, name="vol", metric="volume", comparison="<", threshold=1)
    with backend.meta.read() as conn:
        stale = get_monitor(conn, "p99")
    with backend.meta.write(backend.actor) as uow:
        delete_monitor(uow, "p99")
    with pytest.raises(NotFound, match="deleted"):
        evaluate_monitor(backend, stale, now=END, log_uri=log_uri)
    assert [o.monitor for o in run_once(backend, now=END, log_uri=log_uri)] == ["vol"]
