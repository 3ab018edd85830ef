"""``LocalTransport``: runs each operation against the stores in this process.

``invoke`` is the one place where an operation meets its transaction and its actor: a read
connection, a unit of work as the actor (its audit events committed with the change, then
handed to the post-commit listeners), or the ``Stores`` for operations that open their own;
all of it in the actor's project (``conveyor.store.projects.project_scope``).
The REST API runs this same transport per request, acting as the request's actor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from conveyor.errors import ValidationFailed
from conveyor.governance.identity import Actor, local_actor
from conveyor.store.projects import project_scope
from conveyor.store.stores import Stores

if TYPE_CHECKING:
    from conveyor.artifacts import ArtifactStore
    from conveyor.client.op import Op
    from conveyor.config import Settings
    from conveyor.governance.audit import AuditEvent
    from conveyor.store import MetadataStore

__all__ = ["LocalTransport", "add_commit_listener", "remove_commit_listener"]

#: Called after a write operation commits, with the operation and its audit events
#: (webhooks, notifications); a failing listener is logged, never undoes the commit.
CommitListener = Callable[["Op[Any, Any]", "list[AuditEvent]"], None]
_listeners: list[CommitListener] = []
_listeners_lock = threading.Lock()


def add_commit_listener(listener: CommitListener) -> None:
    """Call ``listener(op, events)`` after every committed write operation."""
    with _listeners_lock:
        _listeners.append(listener)


def remove_commit_listener(listener: CommitListener) -> None:
    with _listeners_lock:
        _listeners.remove(listener)


def _dispatch(op: Op[Any, Any], events: list[AuditEvent]) -> None:
    import logging

    for listener in list(_listeners):
        try:
            listener(op, events)
        except Exception:
            logging.getLogger("conveyor.client").exception(
                "post-commit listener %r failed for %s", listener, op.name
            )


def authorize(actor: Actor, op: Op[Any, Any], meta: MetadataStore | None = None) -> None:
    """The permission check of every operation (``op.permission``), reads included.

    An authenticated user needs a role holding the permission in the project it acts in
    (``conveyor.governance.roles.ROLE_PERMISSIONS``); a refusal names the admins who can
    grant it (read from ``meta``). Unrestricted actors (the embedded store's owner,
    system workers, ``--insecure-local`` servers) pass.
    """
    if not actor.restricted:
        return
    from conveyor.governance.roles import check_permission

    def admins(project: str) -> list[str]:
        if meta is None:
            return []
        from conveyor.governance.users import admins_of

        with meta.read() as conn:
            return admins_of(conn, project)

    check_permission(actor, op.permission, admins=admins)


class LocalTransport:
    """Operations on a metadata store + artifact store, as ``actor``."""

    kind = "local"

    def __init__(
        self, meta: MetadataStore, artifacts: ArtifactStore, actor: Actor | None = None
    ) -> None:
        self.stores = Stores(meta, artifacts, actor or local_actor())

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LocalTransport:
        """Open the stores named by the settings (embedded defaults under CONVEYOR_HOME)."""
        from conveyor.artifacts import ArtifactStore
        from conveyor.config import get_settings
        from conveyor.store import MetadataStore

        settings = settings or get_settings()
        options: dict[str, Any] = {}
        if settings.s3_endpoint_url:
            options["client_kwargs"] = {"endpoint_url": settings.s3_endpoint_url}
        return cls(
            MetadataStore(
                settings.resolved_db_url, statement_timeout=float(settings.statement_timeout_s)
            ),
            ArtifactStore.from_uri(settings.resolved_artifact_uri, **options),
            replace(local_actor(), project=str(settings.project or "default")),
        )

    @property
    def meta(self) -> MetadataStore:
        return self.stores.meta

    @property
    def artifacts(self) -> ArtifactStore:
        return self.stores.artifacts

    @property
    def actor(self) -> Actor:
        return self.stores.actor

    @property
    def location(self) -> str:
        return f"{self.meta.safe_url} + {self.artifacts.uri}"

    def as_actor(self, actor: Actor) -> LocalTransport:
        """The same stores acting as another identity (the server, per request)."""
        return LocalTransport(self.meta, self.artifacts, actor)

    def invoke(self, op: Op[Any, Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        authorize(self.actor, op, self.meta)
        if "project_id" in kwargs:  # the project is the actor's, never an argument
            raise ValidationFailed(
                f"{op.name} takes no project_id: it acts in the current project "
                f"({self.actor.project!r}; set CONVEYOR_PROJECT to change it)"
            )
        with project_scope(self.meta.engine, self.actor.project):
            return self._run(op, args, kwargs)

    def _run(self, op: Op[Any, Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if op.tx == "read":
            with self.meta.read() as conn:
                return op.fn(conn, *args, **kwargs)
        if op.tx == "write":
            with self.meta.write(self.actor) as uow:
                result = op.fn(uow, *args, **kwargs)
                events = list(uow.events)
            if events and _listeners:
                _dispatch(op, events)
            return result
        return op.fn(self.stores, *args, **kwargs)

    def close(self) -> None:
        self.meta.dispose()
