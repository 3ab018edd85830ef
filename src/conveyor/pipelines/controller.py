"""The trigger controller: ``tick(backend, now)`` evaluates triggers and starts runs.

One tick, per active trigger, in one write transaction (so two controllers cannot both
fire): evaluate the cause, record the evaluation, and fire when ``m`` of the last ``n``
evaluations were positive and every guard passes — cooldown, one active run per
``(model, cause)``, ``max_concurrent``, enough labelled rows. Firing queues a pipeline run
(tracked run + ``pipeline_runs`` row holding the dedup key); after the commit the queued
runs are started (in this process by default). ``tick`` takes ``now`` so tests and the
scheduler drive time; nothing sleeps.

The alert hook (:func:`on_alert_event`, entry point ``conveyor.alert_hooks``) ticks the
triggers of the monitor whose alert fired, counting the firing as positive evidence; a
storm of alerts therefore starts one run (dedup while it runs, cooldown after).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.errors import ConveyorError
from conveyor.lineage.edges import record_edge
from conveyor.pipelines import service
from conveyor.pipelines.tables import pipeline_runs, trigger_evaluations, triggers
from conveyor.pipelines.triggers import Trigger, list_triggers
from conveyor.store.projects import current_project_id, each_project
from conveyor.store.uow import UnitOfWork

__all__ = ["Decision", "on_alert_event", "schedule_triggers", "tick"]

log = logging.getLogger("conveyor.pipelines.controller")


@dataclass(slots=True)
class Decision:
    """What one evaluation of one trigger decided."""

    trigger: str
    positive: bool
    fired: bool
    reason: str
    pipeline_run_id: str | None = None


def _cause(
    conn: sa.Connection, trig: Trigger, now: int, evidence: Collection[str]
) -> tuple[bool, str, str | None, str | None]:
    """(positive, why, new watermark, the lineage reference of what caused it) for the
    trigger's cause."""
    if trig.cause_kind == "alert":
        if trig.cause in evidence:
            alert = evidence.get(trig.cause) if isinstance(evidence, Mapping) else None
            fired = f"alert {alert} of monitor" if alert else "alert of monitor"
            origin = f"alert:{alert}" if alert else None
            return True, f"{fired} {trig.cause!r} fired", trig.watermark, origin
        from conveyor.monitoring import service as monitoring

        firing = [
            a
            for a in monitoring.list_alerts(conn, monitor=trig.cause, open_only=True)
            if a.state == "firing"
        ]
        if firing:
            why = f"monitor {trig.cause!r} has firing alert {firing[0].id}"
            return True, why, trig.watermark, f"alert:{firing[0].id}"
        return False, f"monitor {trig.cause!r} has no firing alert", trig.watermark, None
    if trig.cause_kind == "cron":
        from croniter import croniter

        since = trig.last_evaluated_at if trig.last_evaluated_at is not None else trig.created_at
        due = croniter(trig.cause, datetime.fromtimestamp(since / 1000, UTC)).get_next(float)
        if due * 1000 <= now:
            return (
                True,
                f"cron {trig.cause!r} was due at {datetime.fromtimestamp(due, UTC):%Y-%m-%d %H:%M}",
                trig.watermark,
                None,
            )
        return False, f"cron {trig.cause!r} not due", trig.watermark, None
    from conveyor.pipelines.triggers import _latest_dataset_version

    latest = _latest_dataset_version(conn, trig.cause, current_project_id())
    if latest is not None and latest != trig.watermark:
        from conveyor.data import service as datasets

        dv = datasets.get_dataset_version_by_id(conn, latest)
        origin = f"dataset:{dv.name}/{dv.version}"
        return True, f"dataset {trig.cause!r} has a new version", latest, origin
    return False, f"no new version of dataset {trig.cause!r}", trig.watermark, None


def _labelled_rows(conn: sa.Connection, trig: Trigger) -> int:
    from conveyor.data import service as datasets
    from conveyor.errors import NotFound

    try:
        return int(datasets.get_dataset_version(conn, trig.labels_dataset or "", None).num_rows)
    except NotFound:
        return 0


def _guard(conn: sa.Connection, trig: Trigger, now: int) -> str | None:
    """Why the trigger may not fire now (None: it may)."""
    if trig.last_fired_at is not None and now - trig.last_fired_at < trig.cooldown_s * 1000:
        left = (trig.cooldown_s * 1000 - (now - trig.last_fired_at)) / 1000
        return f"cooldown: fired {(now - trig.last_fired_at) / 1000:.0f}s ago, {left:.0f}s left"
    active = conn.execute(
        sa.select(pipeline_runs.c.id).where(
            pipeline_runs.c.dedup_key == trig.dedup_key,
            pipeline_runs.c.status.in_(service.ACTIVE),
        )
    ).first()
    if active is not None:
        return f"duplicate: run {active.id} for {trig.dedup_key} is still active"
    running = conn.execute(
        sa.select(sa.func.count()).where(
            pipeline_runs.c.trigger_id == trig.id, pipeline_runs.c.status.in_(service.ACTIVE)
        )
    ).scalar_one()
    if running >= trig.max_concurrent:
        return f"concurrency: {running} runs active (max {trig.max_concurrent})"
    if trig.labels_dataset:
        rows = _labelled_rows(conn, trig)
        if rows < trig.min_labels:
            return (
                f"not enough labelled data: {trig.labels_dataset!r} has {rows} rows, "
                f"needs {trig.min_labels}"
            )
    return None


def _queue(uow: UnitOfWork, trig: Trigger, why: str, now: int, origin: str | None) -> str:
    from conveyor.pipelines.engine import load_pipeline
    from conveyor.tracking import service as tracking

    pipe = load_pipeline(trig.pipeline)
    experiment = tracking.get_or_create_experiment(uow, f"pipeline/{pipe.name}")
    run = tracking.create_run(
        uow,
        experiment.id,
        name=pipe.name,
        tags={"conveyor.pipeline": pipe.target, "conveyor.trigger": trig.name},
    )
    cause = {"kind": trig.cause_kind, "cause": trig.cause, "why": why, "at": now}
    service.create_pipeline_run(
        uow,
        run.id,
        pipeline=pipe.name,
        target=pipe.target,
        params=trig.params,
        status="queued",
        trigger_id=trig.id,
        cause=cause,
        dedup_key=trig.dedup_key,
    )
    if origin is not None:  # lineage: what made the trigger fire this run
        record_edge(uow, origin, f"trigger:{trig.name}", "fired")
        record_edge(uow, origin, f"pipeline-run:{run.id}", "triggered")
    return run.id


def _evaluate(uow: UnitOfWork, trig: Trigger, now: int, evidence: Collection[str]) -> Decision:
    conn = uow.conn
    positive, why, watermark, origin = _cause(conn, trig, now, evidence)
    previous = (
        conn.execute(
            sa.select(trigger_evaluations.c.positive)
            .where(trigger_evaluations.c.trigger_id == trig.id)
            .order_by(trigger_evaluations.c.evaluated_at.desc())
            .limit(trig.n - 1)
        )
        .scalars()
        .all()
        if trig.n > 1
        else []
    )
    hits = int(positive) + sum(1 for p in previous if p)
    decision = Decision(trig.name, positive, False, why)
    if not positive:
        pass
    elif hits < trig.m:
        decision.reason = (
            f"{why}; {hits} of the last {len(previous) + 1} positive, needs {trig.m} of {trig.n}"
        )
    else:
        blocked = _guard(conn, trig, now)
        if blocked is not None:
            decision.reason = f"{why}; not fired: {blocked}"
        else:
            decision.fired = True
            decision.pipeline_run_id = _queue(uow, trig, why, now, origin)
            decision.reason = f"{why}; fired run {decision.pipeline_run_id}"
    conn.execute(
        trigger_evaluations.insert().values(
            id=new_id(),
            trigger_id=trig.id,
            evaluated_at=now,
            positive=positive,
            fired=decision.fired,
            reason=decision.reason,
            detail={"hits": hits, "m": trig.m, "n": trig.n},
            pipeline_run_id=decision.pipeline_run_id,
        )
    )
    changes: dict[str, Any] = {"last_evaluated_at": now, "watermark": watermark}
    if decision.fired:
        changes["last_fired_at"] = now
        uow.audit(
            "trigger.fire",
            "trigger",
            trig.id,
            {"pipeline_run_id": decision.pipeline_run_id, "reason": why},
        )
    conn.execute(triggers.update().where(triggers.c.id == trig.id).values(**changes))
    return decision


def tick(
    backend: Any,
    now: int | None = None,
    *,
    only: Callable[[Trigger], bool] | None = None,
    evidence: Collection[str] | None = None,
    launch: bool = True,
) -> list[Decision]:
    """Evaluate every active trigger (or those ``only`` accepts) at ``now`` (epoch ms).

    ``evidence``: monitor names whose alert just fired (a mapping to the alert id records
    which alert in the run's cause). With ``launch`` the queued runs
    start here, one after the other, after the evaluations committed.
    """
    now = now if now is not None else now_ms()
    evidence = evidence if evidence is not None else ()
    decisions: list[Decision] = []
    with backend.meta.write(backend.actor) as uow:
        if uow.dialect == "postgresql":  # one controller at a time evaluates
            uow.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x74726967})
        for trig in list_triggers(uow.conn, active_only=True):
            if only is None or only(trig):
                decisions.append(_evaluate(uow, trig, now, evidence))
    if launch:
        from conveyor.pipelines.engine import run_pipeline

        for d in decisions:
            if d.pipeline_run_id is not None:
                with backend.meta.read() as conn:
                    queued = service.get_pipeline_run(conn, d.pipeline_run_id, with_steps=False)
                try:
                    run_pipeline(
                        queued.target,
                        queued.params,
                        backend=backend,
                        trigger_id=queued.trigger_id,
                        queued_id=queued.id,
                    )
                except ConveyorError as exc:  # could not even start: release the dedup key
                    log.error("trigger %s: run %s did not start: %s", d.trigger, queued.id, exc)
                    with backend.meta.write(backend.actor) as uow:
                        service.finish_pipeline_run(uow, queued.id, "failed", exc.message)
    return decisions


def on_alert_event(event: Any) -> None:
    """Alert hook: a firing alert ticks the triggers bound to its monitor (in the store
    ``conveyor.connect()`` opens: the server's, or the embedded one)."""
    if getattr(event, "kind", None) != "firing":
        return
    monitor = event.monitor.get("name")
    from conveyor.backend import connect

    backend = connect()
    if not hasattr(backend, "meta"):
        return

    def bound(t: Trigger) -> bool:
        return t.cause_kind == "alert" and t.cause == monitor

    with backend.meta.read() as conn:  # the common case, no trigger: one read, no write
        if not any(bound(t) for t in list_triggers(conn, active_only=True)):
            return
    tick(backend, only=bound, evidence={monitor: event.alert.id})


def schedule_triggers(scheduler: Any, backend: Any, interval: float = 60.0) -> Any:
    """Add the controller to a :class:`conveyor.jobs.Scheduler`: a tick every ``interval``
    seconds (cron and dataset causes; alerts also arrive at once through the hook)."""
    return scheduler.every(
        interval, lambda: each_project(backend.meta.engine, lambda: tick(backend)), name="triggers"
    )
