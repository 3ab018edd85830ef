"""Approvals: a model version requested for a target, approved or rejected by someone else.

A target is ``alias:<name>`` or ``deployment:<endpoint>``. A request is written once,
``pending``, and decided once (``approved`` or ``rejected``, with who, when and why); a
decided request never changes, so the table is the immutable history. Approval policies
(per project, by target pattern such as ``alias:champion`` or ``deployment:prod-*``) say
which roles may decide and whether the target *requires* an approved request: then
``require_approval`` — called by the gate enforcement every alias move and primary
deployment passes through (``gates.service.require_passing``) — refuses a version without
one, whatever the gates say and even with a gate override.

Separation of duties: neither the creator of the model version, nor the user of its run,
nor the requester may decide the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import END, Limit, Name, Rule, VersionNumber, check_limit
from conveyor._util import new_id, now_ms, to_iso
from conveyor.errors import (
    ApprovalRequired,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from conveyor.governance.identity import DEFAULT_PROJECT, Actor
from conveyor.governance.roles import RoleName, check_role
from conveyor.governance.tables import approval_policies, approval_requests
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id
from conveyor.store.stores import Stores
from conveyor.store.tables import runs

__all__ = [
    "DEFAULT_APPROVER_ROLES",
    "Approval",
    "ApprovalPolicy",
    "approve_request",
    "get_approval",
    "list_approval_policies",
    "list_approvals",
    "may_decide",
    "reject_request",
    "request_approval",
    "require_approval",
    "set_approval_policy",
]

DEFAULT_APPROVER_ROLES = ("approver", "admin")
STATUSES = ("pending", "approved", "rejected")
Status = Annotated[str, Rule({"enum": list(STATUSES)})]
Target = Annotated[str, Rule({"pattern": rf"^(alias|deployment):[^*?\[]+{END}", "maxLength": 250})]
"""``alias:<name>`` or ``deployment:<endpoint>``, one of them (no pattern)."""
TargetPattern = Annotated[
    str, Rule({"pattern": rf"^(alias|deployment):[\s\S]+{END}", "maxLength": 250})
]
Comment = Annotated[str, Rule({"pattern": r"\S", "maxLength": 5000})]
"""A decision's comment: it must say something."""


@dataclass(frozen=True)
class Approval:
    """One request and, once decided, its decision."""

    id: str
    model: str
    version: int
    target: str
    status: str
    comment: str
    requested_by: str
    requested_at: int
    decided_by: str | None = None
    decided_at: int | None = None
    decision_comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "target": self.target,
            "status": self.status,
            "comment": self.comment,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "requested_at_iso": to_iso(self.requested_at),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "decided_at_iso": to_iso(self.decided_at),
            "decision_comment": self.decision_comment,
        }


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve targets matching ``target``, and whether they need an approval."""

    target: str
    roles: list[str]
    required: bool
    updated_by: str
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "roles": list(self.roles),
            "required": self.required,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
        }


def _check_target(target: str, *, pattern: bool = False) -> str:
    kind, _, name = target.partition(":") if isinstance(target, str) else ("", "", "")
    if kind not in ("alias", "deployment") or not name or len(target) > 250:
        example = "alias:champion or deployment:prod-*" if pattern else "alias:champion"
        raise ValidationFailed(
            f"an approval target is 'alias:<name>' or 'deployment:<endpoint>' "
            f"(like {example}), got {target!r:.80}"
        )
    if not pattern and any(c in name for c in "*?["):
        raise ValidationFailed(f"target {target!r} names one alias or endpoint, not a pattern")
    return target


def _approval(row: Any) -> Approval:
    return Approval(
        row.id,
        row.model,
        row.version,
        row.target,
        row.status,
        row.comment,
        row.requested_by,
        row.requested_at,
        row.decided_by,
        row.decided_at,
        row.decision_comment,
    )


# -- policies --------------------------------------------------------------------------------
def _policy(row: Any) -> ApprovalPolicy:
    return ApprovalPolicy(row.target, list(row.roles), row.required, row.updated_by, row.updated_at)


def set_approval_policy(
    uow: UnitOfWork,
    target: TargetPattern,
    roles: list[RoleName] | None = None,
    required: bool = True,
) -> ApprovalPolicy:
    """Say which roles may approve ``target`` (a pattern like ``deployment:prod-*``) and
    whether it requires an approved request (``required``)."""
    _check_target(target, pattern=True)
    chosen = list(roles) if roles else list(DEFAULT_APPROVER_ROLES)
    for role in chosen:
        check_role(role)
    if not isinstance(required, bool):
        raise ValidationFailed("required must be true or false")
    here = (approval_policies.c.project_id == current_project_id()) & (
        approval_policies.c.target == target
    )
    before = uow.conn.execute(sa.select(approval_policies).where(here)).first()
    uow.conn.execute(approval_policies.delete().where(here))
    uow.conn.execute(
        approval_policies.insert().values(
            project_id=current_project_id(),
            target=target,
            roles=chosen,
            required=required,
            updated_by=str(uow.actor),
            updated_at=now_ms(),
        )
    )
    change = {"roles": chosen, "required": required}
    was = None if before is None else {"roles": before.roles, "required": before.required}
    uow.audit("approval.policy", "approval_policy", target, {"from": was, "to": change})
    row = uow.conn.execute(sa.select(approval_policies).where(here)).one()
    return _policy(row)


def list_approval_policies(conn: sa.Connection) -> list[ApprovalPolicy]:
    """Every approval policy, by target."""
    rows = conn.execute(
        sa.select(approval_policies)
        .where(approval_policies.c.project_id == current_project_id())
        .order_by(approval_policies.c.target)
    )
    return [_policy(row) for row in rows]


def _matching(conn: sa.Connection, target: str) -> ApprovalPolicy | None:
    """The most specific policy for ``target``: exact first, then the longest pattern."""
    found = [p for p in list_approval_policies(conn) if fnmatchcase(target, p.target)]
    found.sort(key=lambda p: (p.target != target, -len(p.target)))
    return found[0] if found else None


# -- requests --------------------------------------------------------------------------------
def request_approval(
    uow: UnitOfWork, model: Name, version: VersionNumber, target: Target, comment: str = ""
) -> Approval:
    """Ask for ``model/version`` to be approved for ``target`` (``alias:champion``)."""
    from conveyor.registry import service as registry

    _check_target(target)
    if not isinstance(comment, str) or len(comment) > 5000:
        raise ValidationFailed("comment must be text of at most 5000 characters")
    mv = registry.get_model_version(uow.conn, model, version)
    pending = uow.conn.execute(
        sa.select(approval_requests.c.id).where(
            approval_requests.c.model_version_id == mv.id,
            approval_requests.c.target == target,
            approval_requests.c.status == "pending",
        )
    ).first()
    if pending is not None:
        raise Conflict(
            f"{model}/{mv.version} already has a pending request for {target} ({pending.id}); "
            f"decide it with `conveyor approvals approve|reject {pending.id}`",
            details={"approval_id": pending.id},
        )
    approval_id = new_id()
    values = {
        "id": approval_id,
        "project_id": current_project_id(),
        "model_version_id": mv.id,
        "model": model,
        "version": mv.version,
        "target": target,
        "status": "pending",
        "comment": comment,
        "requested_by": str(uow.actor),
        "requested_at": now_ms(),
    }
    uow.conn.execute(approval_requests.insert().values(**values))
    uow.audit(
        "approval.request",
        "model_version",
        f"{model}/{mv.version}",
        {"approval_id": approval_id, "target": target, "comment": comment},
    )
    return get_approval(uow.conn, approval_id)


def get_approval(conn: sa.Connection, approval_id: str) -> Approval:
    """One approval request with its decision."""
    row = conn.execute(
        sa.select(approval_requests).where(
            approval_requests.c.id == approval_id,
            approval_requests.c.project_id == current_project_id(),
        )
    ).first()
    if row is None:
        raise NotFound(f"no approval request {approval_id!r:.40}; `conveyor approvals list`")
    return _approval(row)


def list_approvals(
    conn: sa.Connection,
    model: str | None = None,
    status: Status | None = None,
    target: str | None = None,
    limit: Limit = 100,
) -> list[Approval]:
    """Approval requests, newest first, optionally of one model, status or target."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    check_limit(limit)
    query = (
        sa.select(approval_requests)
        .where(approval_requests.c.project_id == current_project_id())
        .order_by(approval_requests.c.requested_at.desc())
    )
    for column, value in (("model", model), ("status", status), ("target", target)):
        if value is not None:
            query = query.where(approval_requests.c[column] == value)
    return [_approval(row) for row in conn.execute(query.limit(limit))]


def _creators(conn: sa.Connection, model: str, version: int) -> set[str]:
    """Who made the version: its creator and the user of the run it came from."""
    from conveyor.registry import service as registry

    mv = registry.get_model_version(conn, model, version)
    names = {mv.created_by}
    if mv.run_id:
        user = conn.execute(sa.select(runs.c.user).where(runs.c.id == mv.run_id)).scalar()
        if user:
            names.add(str(user))
    return names


def _refusal(conn: sa.Connection, actor: Actor, request: Approval) -> PermissionDenied | None:
    """Why ``actor`` may not decide ``request`` (separation of duties, the target's policy),
    or None when it may."""
    who = str(actor)
    makers = _creators(conn, request.model, request.version) | {request.requested_by}
    if who in makers:
        return PermissionDenied(
            f"{who} created or requested {request.model}/{request.version}, so cannot decide "
            "its approval (separation of duties); another approver must",
            details={"rule": "separation_of_duties", "actor": who},
        )
    policy = _matching(conn, request.target)
    allowed = policy.roles if policy is not None else list(DEFAULT_APPROVER_ROLES)
    role = actor.role_in(actor.project or DEFAULT_PROJECT) if actor.restricted else None
    if actor.restricted and role not in allowed:
        return PermissionDenied(
            f"the approval policy for {request.target} lets role(s) {', '.join(allowed)} "
            f"decide; {who} is {role or 'without a role'}; an admin of the project can "
            "grant a role or change the policy (`conveyor approvals policy`)",
            details={"rule": "approval_policy", "roles": allowed, "role": role},
        )
    return None


def may_decide(stores: Stores, approval_id: str) -> dict[str, Any]:
    """Whether the caller may approve or reject a request now: ``{"allowed", "reason",
    "rule"}`` (``reason``: why not — already decided, separation of duties, the target's
    approval policy). What the web UI asks before it offers Approve and Reject."""
    with stores.read() as conn:
        request = get_approval(conn, approval_id)
        if request.status != "pending":
            return {
                "allowed": False,
                "reason": f"already {request.status} by {request.decided_by}",
                "rule": "decisions_are_final",
            }
        refusal = _refusal(conn, stores.actor, request)
    if refusal is None and stores.actor.restricted:
        from conveyor.governance.roles import has_permission

        role = stores.actor.role_in(stores.actor.project or DEFAULT_PROJECT)
        if not has_permission(role, "approvals:decide"):
            refusal = PermissionDenied(
                f"{stores.actor} is {role or 'without a role'}: deciding approvals needs the "
                "permission approvals:decide (roles approver, admin)",
                details={"rule": "permission", "role": role},
            )
    if refusal is None:
        return {"allowed": True, "reason": None, "rule": None}
    return {"allowed": False, "reason": refusal.message, "rule": refusal.details.get("rule")}


def _decide(uow: UnitOfWork, approval_id: str, status: str, comment: str) -> Approval:
    if not isinstance(comment, str) or not comment.strip():
        raise ValidationFailed(f'say why in a comment: `--comment "..."` ({status})')
    request = get_approval(uow.conn, approval_id)
    if request.status != "pending":
        raise Conflict(
            f"approval request {approval_id} was already {request.status} by "
            f"{request.decided_by}; decisions are final: file a new request",
            details={"rule": "decisions_are_final", "status": request.status},
        )
    refusal = _refusal(uow.conn, uow.actor, request)
    if refusal is not None:
        raise refusal
    who = str(uow.actor)
    result = uow.conn.execute(
        approval_requests.update()
        .where(approval_requests.c.id == approval_id, approval_requests.c.status == "pending")
        .values(status=status, decided_by=who, decided_at=now_ms(), decision_comment=comment)
    )
    if result.rowcount != 1:  # decided meanwhile by someone else
        raise Conflict(f"approval request {approval_id} was decided meanwhile")
    uow.audit(
        f"approval.{'approve' if status == 'approved' else 'reject'}",
        "model_version",
        f"{request.model}/{request.version}",
        {"approval_id": approval_id, "target": request.target, "comment": comment},
    )
    return get_approval(uow.conn, approval_id)


def approve_request(uow: UnitOfWork, approval_id: str, comment: Comment) -> Approval:
    """Approve a pending request (final; the creator and requester cannot)."""
    return _decide(uow, approval_id, "approved", comment)


def reject_request(uow: UnitOfWork, approval_id: str, comment: Comment) -> Approval:
    """Reject a pending request (final)."""
    return _decide(uow, approval_id, "rejected", comment)


# -- enforcement -----------------------------------------------------------------------------
def require_approval(uow: UnitOfWork, model: str, version: int, target: str) -> Approval | None:
    """Refuse (ApprovalRequired) to let ``model/version`` become ``target`` when a policy
    requires an approval and no approved request exists; the approval, or None."""
    policy = _matching(uow.conn, target)
    if policy is None or not policy.required:
        return None
    from conveyor.registry import service as registry

    mv = registry.get_model_version(uow.conn, model, version)
    row = uow.conn.execute(
        sa.select(approval_requests)
        .where(
            approval_requests.c.model_version_id == mv.id,
            approval_requests.c.target == target,
            approval_requests.c.status == "approved",
        )
        .order_by(approval_requests.c.decided_at.desc())
    ).first()
    if row is not None:
        return _approval(row)
    raise ApprovalRequired(
        f"{target} requires an approved request for {model}/{mv.version} (policy "
        f"{policy.target!r}); ask with `conveyor approvals request {model}/{mv.version} "
        f"--target {target}`, then a user with role {' or '.join(policy.roles)} approves it",
        details={"rule": "approval_required", "target": target, "policy": policy.target},
    )
