"""The rollout operations as the operation table declares them (JSON in, JSON out).

Thin over :mod:`conveyor.deployments.rollout`: arguments are plain values (durations as
``"10m"``), each answer is the rollout's dict (``state``, ``weight``, ``step``, ``reason``
…), and ``rollout_status`` adds its decision records. Time is always the server's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor._schema import Duration, EndpointName
from conveyor.governance.oversight import Reason, require_reason
from conveyor.store import UnitOfWork
from conveyor.store.stores import Stores

# The operation table imports this module, and the CLI imports the table: the state
# machine (scipy, pyarrow) is imported by each call, so `conveyor --help` stays light.

__all__ = [
    "abort_rollout",
    "pause_rollout",
    "promote_rollout",
    "resume_rollout",
    "rollout_status",
    "start_rollout",
]


def start_rollout(
    stores: Stores,
    endpoint: EndpointName,
    candidate: str,
    steps: str | None = None,
    interval: Duration | None = None,
    min_samples: int | None = None,
    max_hold: Duration | None = None,
    alias: str | None = None,
    require_approval: bool | None = None,
    supersede: bool = False,
    value_matrix: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start rolling ``candidate`` (``<model>/<version>``) out on ``endpoint``; Conflict
    when one is running unless ``supersede``.

    Options not given come from the ``rollout:`` section of the candidate model's current
    gate policy, then from the built-in defaults (10,25,50,100 every 10m)."""
    from conveyor.deployments import rollout as machine

    given = {
        "steps": steps,
        "interval": interval,
        "min_samples": min_samples,
        "max_hold": max_hold,
        "alias": alias,
        "require_approval": require_approval,
    }
    options = {
        "interval": "10m",
        "alias": "champion",
        "require_approval": False,
        **policy_rollout_defaults(stores, candidate),
        **{k: v for k, v in given.items() if v is not None},
    }
    config = machine.make_config(value_matrix=value_matrix, **options)
    return machine.start_rollout(stores, endpoint, candidate, config, supersede=supersede).to_dict()


def policy_rollout_defaults(stores: Stores, candidate: str) -> dict[str, Any]:
    """The ``rollout:`` section of the candidate model's current gate policy ({} when the
    model has no policy or the policy has no such section)."""
    from conveyor.deployments import service
    from conveyor.errors import NotFound
    from conveyor.gates import service as gates

    model = service.parse_ref(candidate, "candidate").model
    with stores.meta.read() as conn:
        try:
            policy = gates.get_policy(conn, model).policy
        except NotFound:
            return {}  # no model (start names it) or no policy
    return dict(policy.rollout or {})


def rollout_status(conn: sa.Connection, endpoint: EndpointName) -> dict[str, Any]:
    """The latest rollout of ``endpoint`` with every decision taken so far."""
    from conveyor.deployments import rollout as machine

    r = machine.get_rollout(conn, endpoint)
    return {**r.to_dict(), "decisions": [d.to_dict() for d in machine.list_decisions(conn, r.id)]}


def pause_rollout(uow: UnitOfWork, endpoint: EndpointName, reason: Reason) -> dict[str, Any]:
    """Freeze the running rollout at its weight (``reason`` required, audited)."""
    from conveyor.deployments import rollout as machine

    why = require_reason(reason, "pause the rollout on", endpoint)
    return machine.pause(uow, endpoint, reason=why).to_dict()


def resume_rollout(uow: UnitOfWork, endpoint: EndpointName) -> dict[str, Any]:
    """Continue a paused rollout (its step starts again)."""
    from conveyor.deployments import rollout as machine

    return machine.resume(uow, endpoint).to_dict()


def promote_rollout(
    uow: UnitOfWork, endpoint: EndpointName, reason: Reason, override_reason: str | None = None
) -> dict[str, Any]:
    """Promote the candidate now (``reason`` required, audited; needs passing gates, or an
    audited ``override_reason``)."""
    from conveyor.deployments import rollout as machine

    why = require_reason(reason, "promote the rollout on", endpoint)
    return machine.promote(uow, endpoint, override_reason=override_reason, reason=why).to_dict()


def abort_rollout(uow: UnitOfWork, endpoint: EndpointName, reason: Reason) -> dict[str, Any]:
    """Stop the rollout; all traffic back on the primary (``reason`` required, audited)."""
    from conveyor.deployments import rollout as machine

    why = require_reason(reason, "abort the rollout on", endpoint)
    return machine.abort(uow, endpoint, reason=why).to_dict()
