"""Legal holds: while a hold is open, the retention purge deletes nothing it covers.

Scopes: ``all`` (everything), ``deployment:<endpoint>`` (the endpoint's prediction and
feedback logs and the check records of its monitors). A hold is created and released
with a reason, both audited (``hold.create``, ``hold.release``); released holds stay
listed as history::

    create_hold(uow, "deployment:churn-api", reason="claim 2026-114")
    release_hold(uow, hold.id, reason="claim settled")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import END, ENDPOINT_PATTERN, Rule
from conveyor._util import new_id, now_ms
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.governance.oversight import Reason, require_reason
from conveyor.governance.retention_tables import legal_holds
from conveyor.store import UnitOfWork

__all__ = ["HeldScopes", "LegalHold", "create_hold", "held_scopes", "list_holds", "release_hold"]

_KINDS = ("deployment",)
HoldScope = Annotated[
    str,
    Rule({"pattern": f"^(?:all{END}|deployment:{ENDPOINT_PATTERN.removeprefix('^')})"}),
]
"""``all`` or ``deployment:<endpoint>``."""


@dataclass(frozen=True)
class LegalHold:
    """One legal hold; ``released_at`` is None while it protects its scope."""

    id: str
    scope: str
    reason: str
    created_by: str
    created_at: int
    released_by: str | None = None
    released_at: int | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


@dataclass(frozen=True)
class HeldScopes:
    """What the open holds protect: everything, or these endpoints."""

    everything: bool
    endpoints: frozenset[str]

    def covers_endpoint(self, endpoint: str) -> bool:
        return self.everything or endpoint in self.endpoints


def check_scope(scope: str) -> str:
    """``all`` or ``deployment:<endpoint>`` (an endpoint name); ValidationFailed otherwise."""
    from conveyor.deployments.service import check_endpoint

    kind, _, name = (scope or "").partition(":") if isinstance(scope, str) else ("", "", "")
    if scope == "all":
        return scope
    if kind in _KINDS:
        try:
            return f"{kind}:{check_endpoint(name)}"
        except ValidationFailed:
            pass
    raise ValidationFailed(
        f"bad hold scope {scope!r}: use 'all' or 'deployment:<endpoint>' "
        "(e.g. deployment:churn-api)"
    )


def _hold(row: Any) -> LegalHold:
    return LegalHold(**{c: getattr(row, c) for c in LegalHold.__dataclass_fields__})


def create_hold(uow: UnitOfWork, scope: HoldScope, reason: Reason) -> LegalHold:
    """Open a legal hold on ``scope`` (``all`` or ``deployment:<endpoint>``); ``reason``
    required. Audited as ``hold.create``."""
    scope = check_scope(scope)
    why = require_reason(reason, "place a legal hold on", scope)
    row: dict[str, Any] = {
        "id": new_id(),
        "scope": scope,
        "reason": why,
        "created_by": uow.actor.name,
        "created_at": now_ms(),
    }
    uow.conn.execute(legal_holds.insert().values(**row))
    uow.audit("hold.create", "legal_hold", row["id"], row, scope=scope, reason=why)
    return LegalHold(**row)


def list_holds(conn: sa.Connection, include_released: bool = False) -> list[LegalHold]:
    """Open holds, oldest first (``include_released``: the released ones too)."""
    query = sa.select(legal_holds).order_by(legal_holds.c.created_at, legal_holds.c.id)
    if not include_released:
        query = query.where(legal_holds.c.released_at.is_(None))
    return [_hold(r) for r in conn.execute(query)]


def release_hold(uow: UnitOfWork, hold_id: str, reason: Reason) -> LegalHold:
    """Release an open hold (``reason`` required); audited as ``hold.release``. The purge
    may then delete what it covered, at its next run."""
    row = uow.conn.execute(sa.select(legal_holds).where(legal_holds.c.id == hold_id)).first()
    if row is None:
        raise NotFound(f"no legal hold {hold_id!r}; `conveyor holds list` shows the open ones")
    if row.released_at is not None:
        raise Conflict(f"legal hold {hold_id} was already released by {row.released_by}")
    why = require_reason(reason, "release the legal hold on", row.scope)
    values = {"released_by": uow.actor.name, "released_at": now_ms(), "release_reason": why}
    uow.conn.execute(legal_holds.update().where(legal_holds.c.id == hold_id).values(**values))
    uow.audit("hold.release", "legal_hold", hold_id, values, scope=row.scope, reason=why)
    return LegalHold(**{**_hold(row).__dict__, **values})


def held_scopes(conn: sa.Connection) -> HeldScopes:
    """What the open holds protect now (read by the purge in its own transaction)."""
    scopes = {h.scope for h in list_holds(conn)}
    endpoints = frozenset(s.split(":", 1)[1] for s in scopes if s.startswith("deployment:"))
    return HeldScopes("all" in scopes, endpoints)
