"""Deployment services: endpoints and their append-only revision history.

Write functions take a :class:`~conveyor.store.UnitOfWork` and audit the change in the same
transaction; read functions take a Connection. Every change of traffic — a deploy or a
rollback — inserts a new immutable revision and moves the endpoint's ``current_revision``::

    with meta.write(actor) as uow:
        deploy(uow, "churn", model="churn@champion", canary="churn/4:10")
    with meta.write(actor) as uow:
        rollback(uow, "churn")            # revision 3 = a copy of revision 1

Model versions are resolved when the revision is written (an alias is recorded next to the
version it pointed at), so a later alias move does not change what an endpoint serves.
Compiling happens outside the transaction (:func:`conveyor.deployments.deploy_endpoint`);
a revision records the cached compile result of each version, or ``pending``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from conveyor._schema import EndpointName
from conveyor._util import new_id, now_ms
from conveyor.deployments.entities import (
    WEIGHTED_ROLES,
    CompileResult,
    Deployment,
    Revision,
    RouteSpec,
)
from conveyor.deployments.specs import ModelRef, parse_ref
from conveyor.deployments.tables import (
    deployment_revisions,
    deployment_stops,
    deployments,
    model_compilations,
)
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.governance.oversight import Reason, require_reason
from conveyor.registry import service as registry
from conveyor.registry.entities import ModelVersion
from conveyor.store import UnitOfWork
from conveyor.store.dialect import insert_if_absent
from conveyor.store.projects import current_project_id
from conveyor.store.tables import projects

__all__ = [
    "DEFAULT_STICKY_HEADER",
    "current_revisions",
    "deploy",
    "get_compile",
    "get_deployment",
    "get_revision",
    "list_deployments",
    "list_revisions",
    "plan",
    "record_compile",
    "rollback",
]

DEFAULT_STICKY_HEADER = "x-conveyor-key"
_TOTAL = 100.0

Refs = str | Sequence[str] | None


def _as_list(value: Refs) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _parse(
    model: str | None, canary: Refs, shadow: Refs, ab: Refs, fallback: str | None
) -> list[tuple[str, ModelRef]]:
    refs: list[tuple[str, ModelRef]] = []
    if model is not None:
        refs.append(("primary", parse_ref(model, "model")))
    refs += [("canary", parse_ref(s, "canary")) for s in _as_list(canary)]
    refs += [("ab", parse_ref(s, "ab")) for s in _as_list(ab)]
    refs += [("shadow", parse_ref(s, "shadow")) for s in _as_list(shadow)]
    if fallback is not None:
        refs.append(("fallback", parse_ref(fallback, "fallback")))
    if not any(role in ("primary", "ab") for role, _ in refs):
        raise ValidationFailed(
            "a deployment needs a primary model (model='churn@champion') or A/B routes "
            "(ab=['churn/3:50', 'churn/4:50'])"
        )
    return refs


def _weights(refs: list[tuple[str, ModelRef]]) -> list[float]:
    """Weight per ref; primary takes what canary/ab leave; weighted routes sum to 100."""
    out: list[float] = []
    for role, ref in refs:
        if role in ("shadow", "fallback") and ref.weight is not None:
            raise ValidationFailed(
                f"{role} {ref} takes no weight: it serves no share of the traffic "
                f"(drop ':{ref.weight:g}')"
            )
        if role == "canary" and ref.weight is None:
            raise ValidationFailed(f"canary {ref} needs a weight, e.g. {ref}:10")
    ab = [ref for role, ref in refs if role == "ab"]
    ab_given = [r.weight for r in ab if r.weight is not None]
    if ab and ab_given and len(ab_given) != len(ab):
        raise ValidationFailed("give every A/B route a weight (churn/3:50) or none (equal split)")
    primary = next((ref for role, ref in refs if role == "primary"), None)
    ab_equal = (_TOTAL / len(ab)) if ab and not ab_given and primary is None else None
    if ab and not ab_given and primary is not None:
        raise ValidationFailed("with a primary model, give each A/B route a weight (churn/4:50)")
    fixed = sum((ref.weight or 0.0) if role in ("canary", "ab") else 0.0 for role, ref in refs) + (
        _TOTAL if ab_equal is not None else 0.0
    )
    for role, ref in refs:
        if role == "primary":
            weight = ref.weight if ref.weight is not None else _TOTAL - fixed
            if ref.weight is None and weight <= 0:
                raise ValidationFailed(
                    f"canary and A/B weights add up to {fixed:g}, leaving the primary model "
                    f"{primary} no traffic; weights must sum to 100 over primary, canary and A/B"
                )
            out.append(weight)
        elif role == "ab" and ab_equal is not None:
            out.append(ab_equal)
        else:
            out.append(ref.weight or 0.0)
    total = sum(w for (role, _), w in zip(refs, out, strict=True) if role in WEIGHTED_ROLES)
    if abs(total - _TOTAL) > 1e-9:
        parts = ", ".join(
            f"{role} {ref}={w:g}"
            for (role, ref), w in zip(refs, out, strict=True)
            if role in WEIGHTED_ROLES
        )
        raise ValidationFailed(
            f"route weights must sum to 100 over primary, canary and A/B routes; "
            f"got {total:g} ({parts})",
            details={"total": total},
        )
    return out


def _route_names(roles: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for role in roles:
        counts[role] = n = counts.get(role, 0) + 1
        if role == "ab":
            names.append(chr(ord("a") + n - 1) if n <= 26 else f"ab-{n}")
        else:
            names.append(role if n == 1 else f"{role}-{n}")
    return names


def _sticky(ab_key: str | None) -> dict[str, Any]:
    if ab_key is None or not ab_key.strip():
        return {"header": DEFAULT_STICKY_HEADER, "field": None}
    key = ab_key.strip()
    if key.startswith("field:"):
        field = key[len("field:") :].strip()
        if not field:
            raise ValidationFailed("ab_key 'field:' needs a field name, e.g. field:user_id")
        return {"header": DEFAULT_STICKY_HEADER, "field": field}
    if key.startswith("header:"):
        key = key[len("header:") :].strip()
    if not key or any(c.isspace() or c == ":" for c in key):
        raise ValidationFailed(
            f"bad ab_key {ab_key!r}: use a header name (X-User-Id) or field:<input field>"
        )
    return {"header": key.lower(), "field": None}


def plan(
    conn: sa.Connection,
    *,
    model: str | None = None,
    canary: Refs = None,
    shadow: Refs = None,
    ab: Refs = None,
    fallback: str | None = None,
) -> list[tuple[RouteSpec, ModelVersion]]:
    """Validate and resolve the routes of a deploy without writing anything.

    NotFound names an unknown model, version or alias; ValidationFailed explains bad
    references and weights.
    """
    refs = _parse(model, canary, shadow, ab, fallback)
    weights = _weights(refs)
    names = _route_names([role for role, _ in refs])
    out = []
    for (role, ref), weight, name in zip(refs, weights, names, strict=True):
        try:
            mv = registry.resolve_version(conn, ref.model, ref.ref)
        except NotFound as exc:
            raise NotFound(f"{role} {ref}: {exc.message}", details={"model": str(ref)}) from None
        spec = RouteSpec(
            model=mv.name,
            version=mv.version,
            role=role,
            weight=weight,
            alias=ref.ref if ref.is_alias else None,
            name=name,
        )
        out.append((spec, mv))
    order = {"primary": 0, "canary": 1, "ab": 2, "shadow": 3, "fallback": 4}
    return sorted(out, key=lambda p: order[p[0].role])


def input_columns(mv: ModelVersion) -> list[dict[str, Any]]:
    """The input columns of ``mv``'s signature; ValidationFailed naming the fix when it has
    none (the server could not check or shape a request, so the version cannot serve)."""
    sig = mv.signature or {}
    inputs = sig.get("inputs") if isinstance(sig, dict) else None
    if not inputs:
        raise ValidationFailed(
            f"model {mv.uri} has no input signature, so no server could check or shape a "
            "request for it; log it again with log_model(..., input_example=...) or "
            "log_model(..., signature=...), register the new version and deploy that — "
            "nothing was deployed",
            details={"model": mv.name, "version": mv.version, "fix": "input_example"},
        )
    return list(inputs)


# -- compile cache ---------------------------------------------------------------------------
def _compile_row(row: Any, name: str, version: int) -> CompileResult:
    return CompileResult(
        model=name,
        version=version,
        status=row.status,
        onnx_sha256=row.onnx_sha256,
        parity=row.parity,
        reason=row.reason,
        manifest_sha256=row.manifest_sha256,
    )


def get_compile(conn: sa.Connection, mv: ModelVersion) -> CompileResult | None:
    """The cached compile result of a model version, if it was compiled."""
    row = conn.execute(
        sa.select(model_compilations).where(model_compilations.c.model_version_id == mv.id)
    ).first()
    return None if row is None else _compile_row(row, mv.name, mv.version)


def record_compile(uow: UnitOfWork, mv: ModelVersion, result: CompileResult) -> CompileResult:
    """Cache the compile result of a version (first writer wins); returns the stored one."""
    if result.status not in ("onnx", "native"):
        raise ValidationFailed(f"compile status must be onnx or native, got {result.status!r}")
    row = {
        "model_version_id": mv.id,
        "manifest_sha256": mv.manifest_sha256,
        "status": result.status,
        "onnx_sha256": result.onnx_sha256,
        "parity": result.parity,
        "reason": result.reason,
        "created_at": now_ms(),
    }
    if insert_if_absent(uow.conn, model_compilations, row, [model_compilations.c.model_version_id]):
        uow.audit(
            "model_version.compile",
            "model_version",
            f"{mv.name}/{mv.version}",
            row,
            status=result.status,
            onnx_sha256=result.onnx_sha256,
        )
    stored = get_compile(uow.conn, mv)
    assert stored is not None
    return stored


def _compiled_for(
    conn: sa.Connection, pairs: Iterable[tuple[RouteSpec, ModelVersion]]
) -> dict[str, CompileResult]:
    out: dict[str, CompileResult] = {}
    for spec, mv in pairs:
        if spec.key in out:
            continue
        out[spec.key] = get_compile(conn, mv) or CompileResult(
            mv.name,
            mv.version,
            "pending",
            reason="not compiled at deploy time",
            manifest_sha256=mv.manifest_sha256,
        )
    return out


# -- endpoints and revisions -----------------------------------------------------------------
def _deployment_row(conn: sa.Connection, endpoint: str, *, lock: bool = False) -> Any:
    check_endpoint(endpoint)
    query = sa.select(deployments).where(
        deployments.c.project_id == current_project_id(), deployments.c.name == endpoint
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"endpoint {endpoint!r} is not deployed; deploy it with "
            f"`conveyor deploy {endpoint} --model <name>@<alias>` or list endpoints with "
            "`conveyor deployments list`",
            details={"endpoint": endpoint},
        )
    return row


_ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_endpoint(endpoint: str) -> str:
    """An endpoint name goes into URLs and the prediction log's ``endpoint=`` partition
    folders: letters, digits, '.', '_' and '-' only."""
    if not isinstance(endpoint, str):
        raise ValidationFailed(f"endpoint name must be a string, got {type(endpoint).__name__}")
    if not _ENDPOINT.fullmatch(endpoint):
        raise ValidationFailed(
            f"invalid endpoint name {endpoint!r}: use up to 128 letters, digits, '.', '_' and "
            "'-', starting with a letter or digit (it becomes part of URLs and log folders)"
        )
    return endpoint


def _ensure_deployment(uow: UnitOfWork, endpoint: str, description: str) -> Any:
    check_endpoint(endpoint)
    _refuse_name_of_another_project(uow.conn, endpoint)
    now = now_ms()
    row = {
        "id": new_id(),
        "project_id": current_project_id(),
        "name": endpoint,
        "description": description,
        "current_revision": 0,
        "created_by": uow.actor.name,
        "created_at": now,
        "updated_at": now,
    }
    if insert_if_absent(uow.conn, deployments, row, [deployments.c.project_id, deployments.c.name]):
        uow.audit("deployment.create", "deployment", endpoint, row)
    return _deployment_row(uow.conn, endpoint, lock=True)


def _refuse_name_of_another_project(conn: sa.Connection, endpoint: str) -> None:
    """Endpoint names are unique across projects, unlike other names: they are the
    serving URLs and the prediction log's partition folders, which are server-wide."""
    other = conn.execute(
        sa.select(projects.c.name)
        .select_from(deployments.join(projects, projects.c.id == deployments.c.project_id))
        .where(deployments.c.name == endpoint, deployments.c.project_id != current_project_id())
    ).scalar()
    if other is not None:
        raise Conflict(
            f"endpoint name {endpoint!r} is taken by project {other!r}: endpoint names are "
            "unique on a server (they name serving URLs and prediction-log folders); "
            "choose another name, e.g. with your project as a prefix",
            details={"endpoint": endpoint, "project": other},
        )


def _revision(row: Any, endpoint: str) -> Revision:
    return Revision(
        id=row.id,
        endpoint=endpoint,
        revision=row.revision,
        routes=[RouteSpec.from_dict(r) for r in row.routes],
        sticky=dict(row.sticky),
        deadline_ms=row.deadline_ms,
        rollout_state=row.rollout_state,
        reason=row.reason,
        parent_revision=row.parent_revision,
        restored_from=row.restored_from,
        compiled={k: CompileResult.from_dict(v) for k, v in row.compiled.items()},
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _revision_row(conn: sa.Connection, dep: Any, number: int) -> Any:
    row = conn.execute(
        sa.select(deployment_revisions).where(
            deployment_revisions.c.deployment_id == dep.id,
            deployment_revisions.c.revision == number,
        )
    ).first()
    if row is None:
        raise NotFound(
            f"endpoint {dep.name!r} has no revision {number} (latest is {dep.current_revision})"
        )
    return row


def _write_revision(
    uow: UnitOfWork,
    dep: Any,
    *,
    routes: list[RouteSpec],
    sticky: dict[str, Any],
    deadline_ms: int | None,
    compiled: dict[str, CompileResult],
    reason: str,
    parent: int | None,
    restored_from: int | None = None,
    why: str | None = None,
) -> Revision:
    latest = uow.conn.execute(
        sa.select(sa.func.max(deployment_revisions.c.revision)).where(
            deployment_revisions.c.deployment_id == dep.id
        )
    ).scalar()
    roles = {r.role for r in routes}
    state = "ab" if "ab" in roles else "canary" if "canary" in roles else "stable"
    now = now_ms()
    row = {
        "id": new_id(),
        "deployment_id": dep.id,
        "revision": (latest or 0) + 1,
        "parent_revision": parent,
        "routes": [r.to_dict() for r in routes],
        "sticky": sticky,
        "deadline_ms": deadline_ms,
        "rollout_state": state,
        "reason": reason,
        "restored_from": restored_from,
        "compiled": {k: v.to_dict() for k, v in compiled.items()},
        "created_by": uow.actor.name,
        "created_at": now,
    }
    uow.conn.execute(deployment_revisions.insert().values(**row))
    uow.conn.execute(
        deployments.update()
        .where(deployments.c.id == dep.id)
        .values(current_revision=row["revision"], updated_at=now)
    )
    action = {"rollback": "deployment.rollback", "override": "deployment.override"}.get(
        reason, "deployment.deploy"
    )
    uow.audit(
        action,
        "deployment",
        dep.name,
        row,
        revision=row["revision"],
        previous=dep.current_revision or None,
        routes=[f"{r.role}:{r.key}:{r.weight:g}" for r in routes],
        **({"reason": why} if why else {}),
    )
    return _revision(_Row(row), dep.name)


class _Row:
    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def deploy(
    uow: UnitOfWork,
    endpoint: str,
    *,
    model: str | None = None,
    canary: Refs = None,
    shadow: Refs = None,
    ab: Refs = None,
    ab_key: str | None = None,
    fallback: str | None = None,
    deadline_ms: int | None = None,
    description: str = "",
    override_reason: str | None = None,
) -> Revision:
    """Make a new revision of ``endpoint`` (created on first deploy) and make it current.

    - ``model``: the primary, ``name@alias`` / ``name/<version>`` / ``name/latest``; it takes
      the traffic that canary and A/B routes leave (or ``:<weight>``).
    - ``canary``: one or more ``name/<version>:<weight>``.
    - ``ab``: A/B routes ``name/<version>:<weight>`` (equal split without weights and without
      a primary); ``ab_key`` makes the choice sticky on a header (``X-User-Id``) or an input
      field (``field:user_id``); default header ``X-Conveyor-Key``.
    - ``shadow``: versions that get a copy of each request, never answer.
    - ``fallback``: answers when the chosen route fails or misses ``deadline_ms``.

    The primary route of a model with a gate policy needs a passing gate report
    (GateFailed otherwise); ``override_reason`` lets it through, audited.
    """
    from conveyor.gates.service import require_passing

    if deadline_ms is not None and (
        isinstance(deadline_ms, bool) or not isinstance(deadline_ms, int) or deadline_ms <= 0
    ):
        raise ValidationFailed(f"deadline_ms must be a positive integer, got {deadline_ms!r}")
    sticky = _sticky(ab_key)
    pairs = plan(uow.conn, model=model, canary=canary, shadow=shadow, ab=ab, fallback=fallback)
    for spec, mv in pairs:
        if spec.role == "primary":
            require_passing(
                uow,
                mv.name,
                mv.version,
                target=f"deployment:{endpoint}",
                override_reason=override_reason,
            )
    dep = _ensure_deployment(uow, endpoint, description)
    return _write_revision(
        uow,
        dep,
        routes=[spec for spec, _ in pairs],
        sticky=sticky,
        deadline_ms=deadline_ms,
        compiled=_compiled_for(uow.conn, pairs),
        reason="deploy",
        parent=dep.current_revision or None,
    )


def rollback(
    uow: UnitOfWork, endpoint: EndpointName, *, reason: Reason, to_revision: int | None = None
) -> Revision:
    """Restore the revision before the current one (or ``to_revision``) as a NEW revision.

    ``reason`` is required (ValidationFailed without one): a rollback is a manual
    intervention, audited as ``deployment.rollback`` with it. History stays append-only.
    "Before" follows the chain of replaced revisions, so rolling back twice goes two steps
    back rather than flip-flopping.
    """
    why = require_reason(reason, "roll back", endpoint)
    dep = _deployment_row(uow.conn, endpoint, lock=True)
    if dep.current_revision == 0:
        raise ValidationFailed(f"endpoint {endpoint!r} has no revision to roll back")
    current = _revision_row(uow.conn, dep, dep.current_revision)
    target_number = to_revision if to_revision is not None else current.parent_revision
    if target_number is None:
        raise ValidationFailed(
            f"endpoint {endpoint!r} has no earlier revision to roll back to "
            f"(revision {dep.current_revision} is the first); deploy another version instead"
        )
    if target_number == dep.current_revision:
        raise ValidationFailed(f"revision {target_number} of {endpoint!r} is already current")
    target = _revision(_revision_row(uow.conn, dep, target_number), endpoint)
    fresh: dict[str, CompileResult] = {}
    for key, result in target.compiled.items():
        cached = None
        if result.status == "pending":
            try:
                cached = get_compile(
                    uow.conn, registry.get_model_version(uow.conn, result.model, result.version)
                )
            except NotFound:
                cached = None
        fresh[key] = cached or result
    return _write_revision(
        uow,
        dep,
        routes=target.routes,
        sticky=target.sticky,
        deadline_ms=target.deadline_ms,
        compiled=fresh,
        reason="rollback",
        parent=target.parent_revision,
        restored_from=target.revision,
        why=why,
    )


def _deployment(conn: sa.Connection, row: Any) -> Deployment:
    current = None
    if row.current_revision:
        current = _revision(_revision_row(conn, row, row.current_revision), row.name)
    stop = conn.execute(
        sa.select(deployment_stops).where(deployment_stops.c.deployment_id == row.id)
    ).first()
    return Deployment(
        id=row.id,
        name=row.name,
        description=row.description,
        current_revision=row.current_revision,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        current=current,
        stopped=None
        if stop is None
        else {"stopped_by": stop.stopped_by, "stopped_at": stop.stopped_at, "reason": stop.reason},
    )


def get_deployment(conn: sa.Connection, endpoint: EndpointName) -> Deployment:
    """An endpoint with its current revision."""
    return _deployment(conn, _deployment_row(conn, endpoint))


def list_deployments(conn: sa.Connection) -> list[Deployment]:
    """All endpoints, by name, each with its current revision."""
    rows = conn.execute(
        sa.select(deployments)
        .where(deployments.c.project_id == current_project_id())
        .order_by(deployments.c.name)
    ).all()
    return [_deployment(conn, r) for r in rows]


def list_revisions(conn: sa.Connection, endpoint: EndpointName) -> list[Revision]:
    """Every revision of an endpoint, newest first."""
    dep = _deployment_row(conn, endpoint)
    rows = conn.execute(
        sa.select(deployment_revisions)
        .where(deployment_revisions.c.deployment_id == dep.id)
        .order_by(deployment_revisions.c.revision.desc())
    )
    return [_revision(r, endpoint) for r in rows]


def get_revision(
    conn: sa.Connection, endpoint: EndpointName, revision: int | None = None
) -> Revision:
    """One revision of an endpoint (default: the current one)."""
    dep = _deployment_row(conn, endpoint)
    number = revision if revision is not None else dep.current_revision
    if not number:
        raise NotFound(f"endpoint {endpoint!r} has no revisions yet")
    return _revision(_revision_row(conn, dep, number), endpoint)


def current_revisions(
    conn: sa.Connection, endpoints: Iterable[str] | None = None
) -> dict[str, int]:
    """``{endpoint: current revision number}`` — one cheap query, polled by the watcher."""
    query = sa.select(deployments.c.name, deployments.c.current_revision).where(
        deployments.c.project_id == current_project_id(), deployments.c.current_revision > 0
    )
    if endpoints is not None:
        query = query.where(deployments.c.name.in_(list(endpoints)))
    return {name: number for name, number in conn.execute(query)}
