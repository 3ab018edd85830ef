"""Human oversight of a deployment: stop, resume and manual traffic override, each audited.

EU AI Act Art. 14 asks that a person can intervene in a high-risk system and stop it. These
operations (with :func:`conveyor.deployments.service.rollback`) are the manual
interventions on an endpoint; each needs a ``reason`` and is its own audit event carrying
the actor and the reason:

- ``stop_deployment`` (``deployment.stop``): the endpoint stops serving. Its inference
  servers pick the stop up on their next poll of the store (like a new revision) and answer
  every prediction or explanation request with 503 saying who stopped it, when and why.
  Revisions are untouched; a running rollout on the endpoint is paused too (its own
  ``rollout.pause`` event, same reason), so it does not advance on no traffic.
- ``resume_deployment`` (``deployment.resume``): serving starts again on the current
  revision. A rollout paused by the stop stays paused until ``conveyor rollout resume``.
- ``override_traffic`` (``deployment.override``): a new revision with the current routes
  and the weights given by hand (``{"primary": 100, "canary": 0}``). A running rollout
  is paused first (``rollout.pause``), so its next step does not undo the override.

"Pause" means the rollout's: it freezes the traffic split of a progressive rollout while
the endpoint keeps serving. A deployment itself is stopped and resumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import EndpointName, Rule
from conveyor._util import now_ms
from conveyor.deployments import service
from conveyor.deployments.entities import WEIGHTED_ROLES, Deployment, Revision, RouteSpec
from conveyor.deployments.tables import deployment_stops, deployments
from conveyor.errors import Conflict, ValidationFailed
from conveyor.governance.oversight import Reason, require_reason
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id

__all__ = ["override_traffic", "resume_deployment", "stop_deployment", "stopped_endpoints"]


def _stop_info(row: Any) -> dict[str, Any]:
    return {"stopped_by": row.stopped_by, "stopped_at": row.stopped_at, "reason": row.reason}


def _stop_of(conn: sa.Connection, deployment_id: str) -> Any:
    """The stop row of a deployment, or None when it serves."""
    return conn.execute(
        sa.select(deployment_stops).where(deployment_stops.c.deployment_id == deployment_id)
    ).first()


def _pause_rollout(uow: UnitOfWork, endpoint: str, why: str) -> str | None:
    """Pause the endpoint's running rollout (audited as ``rollout.pause``); its id, or None
    when none runs."""
    from conveyor.deployments import rollout as machine
    from conveyor.errors import NotFound

    try:
        current = machine.get_rollout(uow.conn, endpoint)
    except NotFound:
        return None
    if not current.active or current.state == "paused":
        return None
    return machine.pause(uow, endpoint, reason=why).id


def stop_deployment(uow: UnitOfWork, endpoint: EndpointName, reason: Reason) -> Deployment:
    """Stop ``endpoint`` serving (``reason`` required, audited as ``deployment.stop``).

    Its servers answer 503 naming who stopped it and why until ``resume_deployment``; a
    running rollout is paused. Conflict when it is already stopped (the answer says by
    whom)."""
    why = require_reason(reason, "stop", endpoint)
    dep = service._deployment_row(uow.conn, endpoint, lock=True)
    found = _stop_of(uow.conn, dep.id)
    if found is not None:
        raise Conflict(
            f"endpoint {endpoint!r} is already stopped (by {found.stopped_by}: "
            f"{found.reason}); resume it with `conveyor deployments resume {endpoint} "
            "--reason ...`",
            details={"endpoint": endpoint, **_stop_info(found)},
        )
    row = {
        "deployment_id": dep.id,
        "reason": why,
        "stopped_by": uow.actor.name,
        "stopped_at": now_ms(),
    }
    uow.conn.execute(deployment_stops.insert().values(**row))
    paused = _pause_rollout(uow, endpoint, f"endpoint stopped: {why}")
    uow.audit(
        "deployment.stop",
        "deployment",
        endpoint,
        row,
        reason=why,
        revision=dep.current_revision,
        **({"paused_rollout": paused} if paused else {}),
    )
    return service.get_deployment(uow.conn, endpoint)


def resume_deployment(uow: UnitOfWork, endpoint: EndpointName, reason: Reason) -> Deployment:
    """Serve a stopped ``endpoint`` again on its current revision (``reason`` required,
    audited as ``deployment.resume``); ValidationFailed when it is not stopped."""
    why = require_reason(reason, "resume", endpoint)
    dep = service._deployment_row(uow.conn, endpoint, lock=True)
    found = _stop_of(uow.conn, dep.id)
    if found is None:
        raise ValidationFailed(
            f"endpoint {endpoint!r} is not stopped, so there is nothing to resume "
            f"(stop it with `conveyor deployments stop {endpoint} --reason ...`)"
        )
    uow.conn.execute(deployment_stops.delete().where(deployment_stops.c.deployment_id == dep.id))
    uow.audit(
        "deployment.resume",
        "deployment",
        endpoint,
        {"deployment_id": dep.id, "stopped": _stop_info(found)},
        reason=why,
        revision=dep.current_revision,
        stopped_by=found.stopped_by,
        stop_reason=found.reason,
    )
    return service.get_deployment(uow.conn, endpoint)


def _weight(route: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationFailed(f"the weight of route {route!r} must be a number, got {value!r}")
    if not 0 <= value <= 100:
        raise ValidationFailed(f"the weight of route {route!r} must be in 0..100, got {value:g}")
    return float(value)


#: Route name -> percentage (the cross-field rule, summing to 100, is the service's).
Weights = Annotated[
    dict[str, float],
    Rule(
        {
            "minProperties": 1,
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100},
        }
    ),
]


def override_traffic(
    uow: UnitOfWork, endpoint: EndpointName, weights: Weights, reason: Reason
) -> Revision:
    """Set the traffic weights of ``endpoint``'s routes by hand, as a new revision
    (``reason`` required, audited as ``deployment.override``).

    ``weights`` maps route names of the current revision (``primary``, ``canary``, ``a``,
    ``b`` ... — `conveyor deployments show`) to percentages; routes not named keep theirs,
    and the weighted routes must still sum to 100. A running rollout is paused first."""
    why = require_reason(reason, "override the traffic of", endpoint)
    dep = service._deployment_row(uow.conn, endpoint, lock=True)
    if not isinstance(weights, Mapping) or not weights:
        raise ValidationFailed(
            "weights maps route names to percentages, e.g. {'primary': 100, 'canary': 0} "
            "(CLI: --weight primary=100 --weight canary=0)"
        )
    if dep.current_revision == 0:
        raise ValidationFailed(f"endpoint {endpoint!r} has no revision to override")
    row = service._revision_row(uow.conn, dep, dep.current_revision)
    current = service._revision(row, endpoint)
    weighted = {r.name: r for r in current.routes if r.role in WEIGHTED_ROLES}
    unknown = sorted(str(k) for k in weights if k not in weighted)
    if unknown:
        raise ValidationFailed(
            f"endpoint {endpoint!r} revision {current.revision} has no weighted route "
            f"{', '.join(map(repr, unknown))}; its weighted routes are {sorted(weighted)}"
        )
    given = {name: _weight(name, value) for name, value in weights.items()}
    routes = [
        RouteSpec(**{**r.to_dict(), "weight": given[r.name]}) if r.name in given else r
        for r in current.routes
    ]
    total = sum(r.weight for r in routes if r.role in WEIGHTED_ROLES)
    if abs(total - 100.0) > 1e-9:
        shares = ", ".join(f"{r.name}={r.weight:g}" for r in routes if r.name in weighted)
        raise ValidationFailed(
            f"weights of the weighted routes must sum to 100, got {total:g} ({shares})",
            details={"total": total},
        )
    if routes == current.routes:
        raise ValidationFailed(
            f"revision {current.revision} of {endpoint!r} already has these weights"
        )
    paused = _pause_rollout(uow, endpoint, f"manual traffic override: {why}")
    return service._write_revision(
        uow,
        dep,
        routes=routes,
        sticky=current.sticky,
        deadline_ms=current.deadline_ms,
        compiled=current.compiled,
        reason="override",
        parent=dep.current_revision,
        why=why + (f" (paused rollout {paused})" if paused else ""),
    )


def stopped_endpoints(
    conn: sa.Connection, endpoints: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{endpoint: {stopped_by, stopped_at, reason}}`` of the stopped endpoints — one
    cheap query, polled by the serving runtime next to the revision numbers."""
    query = (
        sa.select(
            deployments.c.name,
            deployment_stops.c.stopped_by,
            deployment_stops.c.stopped_at,
            deployment_stops.c.reason,
        )
        .select_from(deployment_stops.join(deployments))
        .where(deployments.c.project_id == current_project_id())
    )
    if endpoints is not None:
        query = query.where(deployments.c.name.in_(list(endpoints)))
    return {row.name: _stop_info(row) for row in conn.execute(query)}
