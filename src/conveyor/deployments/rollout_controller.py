"""The rollout controller: one ``tick()`` moves every active rollout as far as the data says.

A tick, per rollout (each in its own transactions, so one failing never stops the rest):

1. read the rollout row (a plain read) — a new controller over the same store resumes
   exactly there, which is what makes a killed process harmless;
2. pending → first step; paused → nothing; progressing and the step's interval not over
   → nothing;
3. read the step's window ``[step_started_at, now)`` from the prediction log (outside
   any transaction), split it into candidate and primary samples and analyse them;
4. in one write transaction that first checks the row did not change meanwhile: advance
   (or promote), hold, or roll back — with the decision record and audit events.

Anything that fails before step 4 commits (store unreachable, log unreadable) changes
nothing: the error is logged and the next tick starts again from the stored state. Time is
passed in (``tick(now=...)``), so tests and ``bench/rollout.py`` drive it without waiting.
:func:`schedule` adds ``tick`` to the shared :class:`conveyor.jobs.Scheduler` (inside
``conveyor serve`` and ``conveyor server``); :func:`run_controller` is ``conveyor rollout
run``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from conveyor._util import now_ms
from conveyor.deployments import rollout as machine
from conveyor.deployments.rollout_analysis import Analysis, RouteSample, analyse
from conveyor.deployments.rollout_entities import Rollout
from conveyor.deployments.rollout_samples import route_samples
from conveyor.deployments.service import current_revisions
from conveyor.errors import ApprovalRequired, Conflict, ConveyorError, GateFailed
from conveyor.governance.identity import Actor, system_actor
from conveyor.jobs import Job, Scheduler
from conveyor.monitoring.business import ValueMatrix
from conveyor.monitoring.windows import Window, read_window
from conveyor.store.projects import each_project

__all__ = ["RolloutController", "TickResult", "run_controller", "schedule", "start_background"]

log = logging.getLogger("conveyor.deployments.rollout")

SampleReader = Callable[[Rollout, Window], tuple[RouteSample, RouteSample]]


@dataclass(frozen=True)
class TickResult:
    """What one tick did to one rollout: ``action`` is ``begin``, ``advance``, ``promote``,
    ``hold``, ``rollback``, ``pause``, ``abort``, ``wait`` (step not over) or ``error``."""

    endpoint: str
    action: str
    state: str
    weight: float
    detail: str = ""


class RolloutController:
    """Drives the rollouts of one metadata store from the prediction log under ``log_uri``."""

    def __init__(
        self,
        meta: Any,
        *,
        log_uri: str | None = None,
        actor: Actor | None = None,
        sample_reader: SampleReader | None = None,
    ) -> None:
        self.meta = meta
        self.log_uri = log_uri
        self.actor = actor or system_actor("rollout-controller")
        # the prediction log by default; bench/rollout.py simulates traffic through this seam
        self._samples = sample_reader or self._from_log

    def _from_log(self, r: Rollout, window: Window) -> tuple[RouteSample, RouteSample]:
        matrix = r.config.value_matrix
        return route_samples(
            read_window(r.endpoint, window, log_uri=self.log_uri),
            ValueMatrix(**matrix) if matrix else None,
        )

    def tick(self, now: int | None = None) -> list[TickResult]:
        """One pass over every active rollout at time ``now`` (epoch ms; default: now)."""
        at = now_ms() if now is None else now
        try:
            with self.meta.read() as conn:
                todo = machine.active_rollouts(conn)
                revisions = current_revisions(conn, [r.endpoint for r in todo])
        except (ConveyorError, sa.exc.SQLAlchemyError) as exc:  # store down: try next tick
            log.warning("rollout tick: cannot read the store (%s); retrying next tick", exc)
            return [TickResult("*", "error", "", 0.0, str(exc))]
        out = []
        for r in todo:
            try:
                out.append(self._one(r, revisions.get(r.endpoint), at))
            except Conflict as exc:  # changed under us: the next tick decides again
                out.append(TickResult(r.endpoint, "wait", r.state, r.weight, exc.message))
            except Exception as exc:  # never let one rollout stop the others
                log.warning("rollout of %s: %s; retrying next tick", r.endpoint, exc)
                out.append(TickResult(r.endpoint, "error", r.state, r.weight, str(exc)))
        return out

    def _write(self, fn: Callable[..., Rollout], *args: Any, **kwargs: Any) -> Rollout:
        with self.meta.write(self.actor) as uow:
            return fn(uow, *args, **kwargs)

    def _result(self, r: Rollout, action: str, detail: str = "") -> TickResult:
        return TickResult(r.endpoint, action, r.state, r.weight, detail or r.reason)

    def _one(self, r: Rollout, current: int | None, now: int) -> TickResult:
        if r.state == "paused":
            return self._result(r, "wait", "paused")
        if current != r.revision:
            # someone deployed this endpoint outside the rollout: their traffic stands
            done = self._write(machine.abort_external, r.id, r.seq, current, now=now)
            return self._result(done, "abort")
        if r.state == "pending":
            try:
                return self._result(self._write(machine.begin, r.id, r.seq, now=now), "begin")
            except (GateFailed, ApprovalRequired) as exc:  # gates or approvals refuse the step
                done = self._write(machine.pause_for_gates, r.id, r.seq, None, exc.message, now=now)
                return self._result(done, "pause")
        started = r.step_started_at or now
        elapsed_s = (now - started) / 1000.0
        if elapsed_s < r.config.interval_s:
            return self._result(r, "wait", f"step ends in {r.config.interval_s - elapsed_s:.0f}s")
        analysis = self.analyse(r, Window(started, now))
        record = analysis.to_dict()
        if analysis.verdict == "fail":
            done = self._write(
                machine.roll_back,
                r.id,
                r.seq,
                record,
                now=now,
                reason=f"candidate worse: {analysis.summary()}",
            )
            return self._result(done, "rollback")
        if analysis.verdict == "insufficient":
            if elapsed_s >= r.config.max_hold_s:
                reason = (
                    f"not enough data after {r.config.max_hold_s:g}s at "
                    f"{r.weight:g}%: {analysis.summary()}"
                )
                done = self._write(machine.roll_back, r.id, r.seq, record, now=now, reason=reason)
                return self._result(done, "rollback")
            return self._result(self._write(machine.hold, r.id, r.seq, record, now=now), "hold")
        try:
            done = self._write(machine.advance, r.id, r.seq, record, now=now)
        except (GateFailed, ApprovalRequired) as exc:  # promotion awaits gates or an approval
            done = self._write(machine.pause_for_gates, r.id, r.seq, record, exc.message, now=now)
            return self._result(done, "pause")
        action = {"promoted": "promote", "paused": "pause"}.get(done.state, "advance")
        return self._result(done, action)

    def analyse(self, r: Rollout, window: Window) -> Analysis:
        """The step's analysis over ``window`` (read-only; used by ``rollout status``)."""
        cand, prim = self._samples(r, window)
        return analyse(cand, prim, r.config.thresholds)


def schedule(scheduler: Scheduler, controller: RolloutController, every_s: float = 10.0) -> Job:
    """Add the controller's tick to a shared :class:`conveyor.jobs.Scheduler`."""
    return scheduler.every(
        every_s, lambda: each_project(controller.meta.engine, controller.tick), name="rollouts"
    )


def start_background(*, log_uri: str | None = None, every_s: float = 10.0) -> Scheduler:
    """A controller over the configured store, ticking in its own daemon thread (what
    ``conveyor serve`` and ``conveyor server`` start next to the web server; stop it with
    ``.stop()``)."""
    from conveyor.backend.local import LocalBackend

    controller = RolloutController(LocalBackend.from_settings().meta, log_uri=log_uri or None)
    scheduler = Scheduler("conveyor-rollouts")
    schedule(scheduler, controller, every_s)
    return scheduler.start()


def run_controller(controller: RolloutController, every_s: float = 10.0) -> None:
    """Tick every ``every_s`` seconds until interrupted (``conveyor rollout run``)."""
    scheduler = Scheduler("conveyor-rollouts")
    schedule(scheduler, controller, every_s)
    scheduler.start()
    try:
        scheduler.stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()
