"""Unit of work: one write transaction, the actor performing it, and its audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor.governance.identity import Actor

if TYPE_CHECKING:
    from conveyor.governance.audit import AuditEvent

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """What every mutating service function receives: ``conn`` and ``actor``.

    ``audit`` records the change in the same transaction, so the change and its
    audit event commit or roll back together.
    """

    def __init__(self, conn: sa.Connection, actor: Actor) -> None:
        self.conn = conn
        self.actor = actor
        self.events: list[AuditEvent] = []

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def audit(
        self,
        action: str,
        object_type: str,
        object_id: str,
        change: Any = None,
        **details: Any,
    ) -> AuditEvent:
        """Append an audit event for a change made in this unit of work."""
        from conveyor.governance.audit import append_event  # audit builds on store.tables

        event = append_event(
            self.conn,
            actor=str(self.actor),
            action=action,
            object_type=object_type,
            object_id=object_id,
            change=change if change is not None else details,
            details=details,
        )
        self.events.append(event)
        return event
