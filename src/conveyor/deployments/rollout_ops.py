"""The rollout operations as the operation table declares them (JSON in, JSON out).

Thin over :mod:`conveyor.deployments.rollout`: arguments are plain values (durations as
``"10m"``), each answer is the rollout's dict (``state``, ``weight``, ``step``, ``reason``
…), and ``rollout_status`` adds its decision records. Time is always the server's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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
    endpoint: str,
    candidate: str,
    steps: str | None = None,
    interval: str = "10m",
    min_samples: int | None = None,
    max_hold: str | None = None,
    alias: str = "champion",
    require_approval: bool = False,
    supersede: bool = False,
    value_matrix: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start rolling ``candidate`` (``<model>/<version>``) out on ``endpoint``; Conflict
    when one is running unless ``supersede``."""
    from conveyor.deployments import rollout as machine

    config = machine.make_config(
        steps=steps,
        interval=interval,
        min_samples=min_samples,
        max_hold=max_hold,
        alias=alias,
        require_approval=require_approval,
        value_matrix=value_matrix,
    )
    return machine.start_rollout(stores, endpoint, candidate, config, supersede=supersede).to_dict()


def rollout_status(conn: sa.Connection, endpoint: str) -> dict[str, Any]:
    """The latest rollout of ``endpoint`` with every decision taken so far."""
    from conveyor.deployments import rollout as machine

    r = machine.get_rollout(conn, endpoint)
    return {**r.to_dict(), "decisions": [d.to_dict() for d in machine.list_decisions(conn, r.id)]}


def pause_rollout(uow: UnitOfWork, endpoint: str, reason: str = "") -> dict[str, Any]:
    """Freeze the running rollout at its weight."""
    from conveyor.deployments import rollout as machine

    return machine.pause(uow, endpoint, reason=reason).to_dict()


def resume_rollout(uow: UnitOfWork, endpoint: str) -> dict[str, Any]:
    """Continue a paused rollout (its step starts again)."""
    from conveyor.deployments import rollout as machine

    return machine.resume(uow, endpoint).to_dict()


def promote_rollout(
    uow: UnitOfWork, endpoint: str, override_reason: str | None = None
) -> dict[str, Any]:
    """Promote the candidate now (needs passing gates, or an audited override)."""
    from conveyor.deployments import rollout as machine

    return machine.promote(uow, endpoint, override_reason=override_reason).to_dict()


def abort_rollout(uow: UnitOfWork, endpoint: str, reason: str = "") -> dict[str, Any]:
    """Stop the rollout; all traffic back on the primary."""
    from conveyor.deployments import rollout as machine

    return machine.abort(uow, endpoint, reason=reason).to_dict()
