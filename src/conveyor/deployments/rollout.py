"""Progressive rollout: the state machine, persisted in the store, moving traffic by revision.

::

    pending ──begin──► progressing(step k) ──advance──► progressing(k+1) … ──► promoted
                         │  ▲       │ fail / no data past max hold
                   pause │  │resume ▼
                         ▼  │     rolled_back          abort / superseded ──► aborted
                        paused (manual, or promotion awaiting approval / gates)

Every function takes a UnitOfWork (writes) or a Connection (reads). The whole state is
one ``rollouts`` row, so a controller that was killed resumes where the row says. Every
traffic change is a new deployment revision (``deployments.service.deploy`` /
``rollback``, each audited); every state change appends a ``rollout_decisions`` row
(action, step, weight, revision, analysis) and an audit event in the same transaction.
Functions the controller calls after analysing a window take the ``seq`` it read:
if the rollout changed meanwhile (a pause, an abort, another controller), they raise
Conflict and change nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor._util import new_id, now_ms, parse_duration
from conveyor.deployments import service
from conveyor.deployments.entities import Revision
from conveyor.deployments.rollout_analysis import Thresholds
from conveyor.deployments.rollout_entities import (
    ACTIVE,
    Decision,
    Rollout,
    RolloutConfig,
    parse_steps,
)
from conveyor.deployments.rollout_tables import rollout_decisions, rollouts
from conveyor.deployments.tables import deployments
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.registry import service as registry
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id

__all__ = [
    "abort",
    "abort_external",
    "active_rollouts",
    "advance",
    "begin",
    "get_rollout",
    "hold",
    "list_decisions",
    "make_config",
    "pause",
    "pause_for_gates",
    "promote",
    "resume",
    "roll_back",
    "start",
    "start_rollout",
]


def make_config(
    *,
    steps: str | list[float] | None = None,
    interval: str | float = "10m",
    min_samples: int | None = None,
    max_hold: str | float | None = None,
    alias: str = "champion",
    require_approval: bool = False,
    value_matrix: dict[str, Any] | None = None,
    **thresholds: Any,
) -> RolloutConfig:
    """A validated :class:`RolloutConfig` (durations as ``"10m"`` or seconds;
    ``value_matrix`` as for monitoring, ``{"tp": 40, "fp": -5, "fn": -40}``)."""
    from conveyor.monitoring.business import ValueMatrix

    if value_matrix is not None:
        value_matrix = ValueMatrix.from_dict(value_matrix, what="value_matrix").to_dict()
    interval_s = parse_duration(interval)
    if interval_s <= 0:
        raise ValidationFailed(f"interval must be positive, got {interval!r}")
    max_hold_s = max(parse_duration(max_hold), interval_s) if max_hold else 6 * interval_s
    if min_samples is not None:
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            raise ValidationFailed(f"min_samples must be a positive integer, got {min_samples!r}")
        thresholds.setdefault("min_samples", min_samples)
        thresholds.setdefault("min_labels", min_samples)
    known = set(Thresholds.__dataclass_fields__)
    unknown = sorted(set(thresholds) - known)
    if unknown:
        raise ValidationFailed(
            f"unknown rollout threshold(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return RolloutConfig(
        steps=parse_steps(steps),
        interval_s=interval_s,
        max_hold_s=max_hold_s,
        alias=alias,
        require_approval=require_approval,
        thresholds=Thresholds(**thresholds),
        value_matrix=value_matrix,
    )


# -- reads -----------------------------------------------------------------------------------
def _rollout(row: Any) -> Rollout:
    return Rollout(
        id=row.id,
        endpoint=row.endpoint,
        candidate_model=row.candidate_model,
        candidate_version=row.candidate_version,
        primary_model=row.primary_model,
        primary_version=row.primary_version,
        base_revision=row.base_revision,
        state=row.state,
        step=row.step,
        step_started_at=row.step_started_at,
        revision=row.revision,
        config=RolloutConfig.from_dict(row.config),
        reason=row.reason,
        seq=row.seq,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
    )


def _of_current_project() -> sa.ColumnElement[bool]:
    """Rollouts are kept by endpoint name (unique on a server); those of the current
    project are the ones whose endpoint it holds."""
    return rollouts.c.endpoint.in_(
        sa.select(deployments.c.name).where(deployments.c.project_id == current_project_id())
    )


def get_rollout(conn: sa.Connection, endpoint: str) -> Rollout:
    """The latest rollout of ``endpoint`` (running or ended); NotFound naming it."""
    service.check_endpoint(endpoint)
    row = conn.execute(
        sa.select(rollouts)
        .where(rollouts.c.endpoint == endpoint, _of_current_project())
        .order_by(rollouts.c.created_at.desc(), rollouts.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(
            f"endpoint {endpoint!r} has no rollout; start one with "
            f"`conveyor rollout start {endpoint} --candidate <model>/<version>`",
            details={"endpoint": endpoint},
        )
    return _rollout(row)


def active_rollouts(conn: sa.Connection) -> list[Rollout]:
    """Every pending, progressing or paused rollout, oldest first."""
    rows = conn.execute(
        sa.select(rollouts)
        .where(rollouts.c.state.in_(ACTIVE), _of_current_project())
        .order_by(rollouts.c.created_at)
    )
    return [_rollout(r) for r in rows]


def list_decisions(conn: sa.Connection, rollout_id: str) -> list[Decision]:
    """Every decision of a rollout, in order."""
    rows = conn.execute(
        sa.select(rollout_decisions)
        .where(rollout_decisions.c.rollout_id == rollout_id)
        .order_by(rollout_decisions.c.seq)
    )
    return [
        Decision(
            r.rollout_id,
            r.seq,
            r.action,
            r.state,
            r.step,
            r.weight,
            r.revision,
            r.analysis,
            r.reason,
            r.actor,
            r.at,
        )
        for r in rows
    ]


# -- writes ----------------------------------------------------------------------------------
def _record(
    uow: UnitOfWork,
    r: Rollout,
    action: str,
    *,
    now: int,
    state: str | None = None,
    step: int | None = None,
    revision: int | None = None,
    analysis: dict[str, Any] | None = None,
    reason: str = "",
    step_started_at: int | bool | None = False,
) -> Rollout:
    """Move the rollout row, append the decision and audit both, in ``uow``'s transaction."""
    new_state = state or r.state
    values: dict[str, Any] = {
        "state": new_state,
        "step": r.step if step is None else step,
        "seq": r.seq + 1,
        "reason": reason,
        "updated_at": now,
    }
    if revision is not None:
        values["revision"] = revision
    if step_started_at is not False:
        values["step_started_at"] = step_started_at
    if new_state not in ACTIVE:
        values["ended_at"] = now
    uow.conn.execute(rollouts.update().where(rollouts.c.id == r.id).values(**values))
    after = _rollout(uow.conn.execute(sa.select(rollouts).where(rollouts.c.id == r.id)).one())
    decision = {
        "id": new_id(),
        "rollout_id": r.id,
        "seq": after.seq,
        "action": action,
        "state": after.state,
        "step": after.step,
        "weight": after.weight,
        "revision": revision if revision is not None else after.revision,
        "analysis": analysis,
        "reason": reason,
        "actor": uow.actor.name,
        "at": now,
    }
    uow.conn.execute(rollout_decisions.insert().values(**decision))
    uow.audit(
        f"rollout.{action}",
        "rollout",
        r.endpoint,
        decision,
        rollout_id=r.id,
        candidate=r.candidate,
        state=after.state,
        weight=after.weight,
        verdict=(analysis or {}).get("verdict"),
        reason=reason,
    )
    return after


def _locked(uow: UnitOfWork, rollout_id: str, seq: int | None) -> Rollout:
    row = uow.conn.execute(
        sa.select(rollouts).where(rollouts.c.id == rollout_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no rollout {rollout_id!r}")
    r = _rollout(row)
    if seq is not None and r.seq != seq:
        raise Conflict(
            f"rollout of {r.endpoint!r} changed while it was analysed (now {r.state}); "
            "the next tick decides again",
            details={"endpoint": r.endpoint, "seq": r.seq},
        )
    return r


def _active(uow: UnitOfWork, endpoint: str) -> Rollout:
    r = get_rollout(uow.conn, endpoint)
    if not r.active:
        raise ValidationFailed(
            f"the rollout of {r.candidate} on {endpoint!r} already ended ({r.state}); "
            f"start another with `conveyor rollout start {endpoint} --candidate ...`"
        )
    return _locked(uow, r.id, None)


def _ref_arg(rev: Revision, role: str) -> list[str]:
    return [r.key for r in rev.routes_by_role(role)]


def _traffic(
    uow: UnitOfWork,
    r: Rollout,
    *,
    primary: str,
    canary: str | None,
    fallback: str | None,
    override_reason: str | None = None,
) -> Revision:
    """A new revision of the endpoint: the base revision's options with these routes."""
    base = service.get_revision(uow.conn, r.endpoint, r.base_revision)
    sticky = base.sticky
    ab_key = f"field:{sticky['field']}" if sticky.get("field") else sticky.get("header")
    return service.deploy(
        uow,
        r.endpoint,
        model=primary,
        canary=canary,
        shadow=_ref_arg(base, "shadow") or None,
        fallback=fallback,
        ab_key=ab_key,
        deadline_ms=base.deadline_ms,
        override_reason=override_reason,
    )


def _step_traffic(uow: UnitOfWork, r: Rollout, step: int) -> Revision:
    weight = r.config.steps[step]
    return _traffic(
        uow, r, primary=r.primary, canary=f"{r.candidate}:{weight:g}", fallback=r.primary
    )


def _restore(uow: UnitOfWork, r: Rollout, reason: str) -> Revision:
    """All traffic back on the primary: the pre-rollout revision, as a new revision."""
    return service.rollback(
        uow, r.endpoint, to_revision=r.base_revision, reason=f"rollout of {r.candidate}: {reason}"
    )


def _primary_route(rev: Revision, endpoint: str) -> Any:
    primary = rev.routes_by_role("primary")
    if not primary or rev.routes_by_role("ab") or rev.routes_by_role("canary"):
        raise ValidationFailed(
            f"endpoint {endpoint!r} must serve one primary model without canary or A/B routes "
            f"to start a rollout (revision {rev.revision} has "
            f"{', '.join(f'{x.role} {x.key}' for x in rev.routes)}); deploy it with "
            f"`conveyor deploy {endpoint} --model <name>/<version>` first"
        )
    return primary[0]


def start(
    uow: UnitOfWork,
    endpoint: str,
    candidate: str,
    config: RolloutConfig | None = None,
    *,
    supersede: bool = False,
    now: int | None = None,
) -> Rollout:
    """Create a pending rollout of ``candidate`` (``<model>/<version>`` or an alias) on
    ``endpoint``; the controller's next tick sends it its first step of traffic.

    A running rollout on the endpoint → Conflict, unless ``supersede`` (it ends aborted,
    its traffic back on the primary, and this one starts from there)."""
    now = now_ms() if now is None else now
    config = config or RolloutConfig()
    dep = service._deployment_row(uow.conn, endpoint, lock=True)  # serialises starts
    ref = service.parse_ref(candidate, "candidate")
    if ref.weight is not None:
        raise ValidationFailed(
            f"candidate {candidate!r} takes no weight: the rollout's steps set it"
        )
    mv = registry.resolve_version(uow.conn, ref.model, ref.ref)
    try:
        running: Rollout | None = get_rollout(uow.conn, endpoint)
    except NotFound:
        running = None
    if running is not None and running.active:
        if not supersede:
            raise Conflict(
                f"endpoint {endpoint!r} already has a {running.state} rollout of "
                f"{running.candidate}; supersede it with `conveyor rollout start {endpoint} "
                f"--candidate {mv.name}/{mv.version} --supersede` (it ends aborted) or stop it "
                f"with `conveyor rollout abort {endpoint}`",
                details={"endpoint": endpoint, "running": running.candidate},
            )
        _end(
            uow,
            _locked(uow, running.id, None),
            "aborted",
            "abort",
            f"superseded by {mv.name}/{mv.version}",
            now,
        )
        dep = service._deployment_row(uow.conn, endpoint, lock=True)
    if not dep.current_revision:
        raise ValidationFailed(f"endpoint {endpoint!r} has no revision to roll out from")
    base = service.get_revision(uow.conn, endpoint, dep.current_revision)
    primary = _primary_route(base, endpoint)
    if (primary.model, primary.version) == (mv.name, mv.version):
        raise ValidationFailed(
            f"{mv.name}/{mv.version} is already the primary of {endpoint!r}; nothing to roll out"
        )
    row = {
        "id": new_id(),
        "deployment_id": dep.id,
        "endpoint": endpoint,
        "candidate_model": mv.name,
        "candidate_version": mv.version,
        "primary_model": primary.model,
        "primary_version": primary.version,
        "base_revision": base.revision,
        "state": "pending",
        "step": 0,
        "step_started_at": None,
        "revision": base.revision,
        "config": config.to_dict(),
        "reason": "",
        "seq": 0,
        "created_by": uow.actor.name,
        "created_at": now,
        "updated_at": now,
        "ended_at": None,
    }
    uow.conn.execute(rollouts.insert().values(**row))
    return _record(uow, _rollout(_Row(row)), "start", now=now, reason=f"candidate {mv.uri}")


def start_rollout(
    backend: Any,
    endpoint: str,
    candidate: str,
    config: RolloutConfig | None = None,
    *,
    supersede: bool = False,
    now: int | None = None,
) -> Rollout:
    """:func:`start` through a backend (``meta`` + ``artifacts``), compiling the candidate
    first (outside the transaction, cached) so it is served as fast as a deployed version:
    a natively served candidate against an ONNX primary would fail on latency alone."""
    from conveyor.deployments.compile import ensure_compiled

    service.check_endpoint(endpoint)
    ref = service.parse_ref(candidate, "candidate")
    with backend.meta.read() as conn:
        mv = registry.resolve_version(conn, ref.model, ref.ref)
    ensure_compiled(backend, mv)
    with backend.meta.write(backend.actor) as uow:
        return start(uow, endpoint, candidate, config, supersede=supersede, now=now)


class _Row:
    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def begin(uow: UnitOfWork, rollout_id: str, seq: int, *, now: int) -> Rollout:
    """pending → progressing(0): the first step's revision."""
    r = _locked(uow, rollout_id, seq)
    if r.state != "pending":
        raise Conflict(f"rollout of {r.endpoint!r} is {r.state}, not pending")
    rev = _step_traffic(uow, r, 0)
    return _record(
        uow,
        r,
        "begin",
        now=now,
        state="progressing",
        step=0,
        revision=rev.revision,
        step_started_at=now,
        reason=f"candidate at {r.config.steps[0]:g}%",
    )


def advance(
    uow: UnitOfWork, rollout_id: str, seq: int, analysis: dict[str, Any], *, now: int
) -> Rollout:
    """The step passed: the next weight, or promotion after the last step below 100 (or
    paused awaiting approval when the rollout requires it)."""
    r = _locked(uow, rollout_id, seq)
    nxt = r.step + 1
    if r.config.steps[nxt] >= 100:
        if r.config.require_approval:
            return _record(
                uow,
                r,
                "pause",
                now=now,
                state="paused",
                analysis=analysis,
                reason=f"awaiting approval: `conveyor rollout promote {r.endpoint}`",
            )
        return _promote(uow, r, analysis, now, override_reason=None)
    rev = _step_traffic(uow, r, nxt)
    return _record(
        uow,
        r,
        "advance",
        now=now,
        step=nxt,
        revision=rev.revision,
        analysis=analysis,
        step_started_at=now,
        reason=f"candidate at {r.config.steps[nxt]:g}%",
    )


def hold(
    uow: UnitOfWork, rollout_id: str, seq: int, analysis: dict[str, Any], *, now: int
) -> Rollout:
    """Not enough data yet: the step stays; the decision is recorded."""
    r = _locked(uow, rollout_id, seq)
    return _record(uow, r, "hold", now=now, analysis=analysis, reason=analysis.get("summary", ""))


def roll_back(
    uow: UnitOfWork,
    rollout_id: str,
    seq: int,
    analysis: dict[str, Any] | None,
    *,
    now: int,
    reason: str,
) -> Rollout:
    """The candidate failed (or never got enough data): all traffic back on the primary."""
    r = _locked(uow, rollout_id, seq)
    return _end(uow, r, "rolled_back", "rollback", reason, now, analysis)


def abort_external(
    uow: UnitOfWork, rollout_id: str, seq: int, current: int | None, *, now: int
) -> Rollout:
    """The endpoint got a revision from outside the rollout: end it aborted and leave that
    revision's traffic alone (someone chose it)."""
    r = _locked(uow, rollout_id, seq)
    return _end(
        uow,
        r,
        "aborted",
        "abort",
        f"endpoint deployed outside the rollout (revision {current})",
        now,
        restore=False,
    )


def pause_for_gates(
    uow: UnitOfWork,
    rollout_id: str,
    seq: int,
    analysis: dict[str, Any] | None,
    problem: str,
    *,
    now: int,
) -> Rollout:
    """The gates refuse a traffic change (promotion, or a step's revision): wait for an
    operator (``rollout promote --override-reason``, or fix and ``resume``)."""
    r = _locked(uow, rollout_id, seq)
    return _record(
        uow,
        r,
        "pause",
        now=now,
        state="paused",
        analysis=analysis,
        reason=f"awaiting approval: gates refused the change: {problem}",
    )


def _end(
    uow: UnitOfWork,
    r: Rollout,
    state: str,
    action: str,
    reason: str,
    now: int,
    analysis: dict[str, Any] | None = None,
    *,
    restore: bool = True,
) -> Rollout:
    revision = None
    if restore and r.revision != r.base_revision:
        revision = _restore(uow, r, reason).revision
    return _record(
        uow, r, action, now=now, state=state, revision=revision, analysis=analysis, reason=reason
    )


def _promote(
    uow: UnitOfWork,
    r: Rollout,
    analysis: dict[str, Any] | None,
    now: int,
    override_reason: str | None,
    reason: str | None = None,
) -> Rollout:
    alias = r.config.alias
    # both moves are gated (GateFailed naming the failed checks) unless overridden, audited
    registry.set_alias(
        uow, r.candidate_model, alias, r.candidate_version, override_reason=override_reason
    )
    base = service.get_revision(uow.conn, r.endpoint, r.base_revision)
    fallback = _ref_arg(base, "fallback")
    rev = _traffic(
        uow,
        r,
        primary=r.candidate,
        canary=None,
        fallback=fallback[0] if fallback else None,
        override_reason=override_reason,
    )
    return _record(
        uow,
        r,
        "promote",
        now=now,
        state="promoted",
        revision=rev.revision,
        analysis=analysis,
        reason=f"{r.candidate} is primary at 100% and @{alias}"
        + (f" (promoted by hand: {reason})" if reason else ""),
    )


# -- operator commands -----------------------------------------------------------------------
def pause(uow: UnitOfWork, endpoint: str, *, reason: str = "", now: int | None = None) -> Rollout:
    """Freeze the rollout at its current weight; the controller leaves it alone."""
    r = _active(uow, endpoint)
    if r.state == "paused":
        return r
    return _record(
        uow,
        r,
        "pause",
        now=now_ms() if now is None else now,
        state="paused",
        reason=reason or "paused by an operator",
    )


def resume(uow: UnitOfWork, endpoint: str, *, now: int | None = None) -> Rollout:
    """Continue a paused rollout; its step's window starts again now."""
    r = _active(uow, endpoint)
    if r.state != "paused":
        raise ValidationFailed(f"the rollout on {endpoint!r} is {r.state}, not paused")
    at = now_ms() if now is None else now
    state = "pending" if r.revision == r.base_revision else "progressing"
    return _record(uow, r, "resume", now=at, state=state, step_started_at=at, reason="resumed")


def promote(
    uow: UnitOfWork,
    endpoint: str,
    *,
    override_reason: str | None = None,
    reason: str | None = None,
    now: int | None = None,
) -> Rollout:
    """Promote now (an approval, or skipping the remaining steps): needs passing gates."""
    r = _active(uow, endpoint)
    return _promote(uow, r, None, now_ms() if now is None else now, override_reason, reason)


def abort(uow: UnitOfWork, endpoint: str, *, reason: str = "", now: int | None = None) -> Rollout:
    """Stop the rollout and return all traffic to the primary."""
    r = _active(uow, endpoint)
    return _end(
        uow,
        r,
        "aborted",
        "abort",
        reason or "aborted by an operator",
        now_ms() if now is None else now,
    )
