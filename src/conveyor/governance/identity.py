"""Who is acting. Local mode: the OS user. Server mode: the authenticated token's user."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

__all__ = ["DEFAULT_PROJECT", "Actor", "local_actor", "system_actor"]


DEFAULT_PROJECT = "default"


@dataclass(frozen=True)
class Actor:
    """The identity a service call runs as; recorded on every audit event.

    ``kind`` is ``"user"`` for a person (OS user locally, token owner on a server),
    ``"system"`` for Conveyor's own workers (schedulers, retraining triggers).
    ``roles`` are the authenticated user's ``(project, role)`` pairs; ``None`` means
    unrestricted: the owner of an embedded store, Conveyor's own workers, or a server
    started with ``--insecure-local``. ``project`` is the project the call acts in.
    """

    name: str
    kind: str = "user"
    roles: tuple[tuple[str, str], ...] | None = None
    project: str = DEFAULT_PROJECT

    @property
    def restricted(self) -> bool:
        """True for an authenticated user whose permissions come from roles."""
        return self.roles is not None

    def role_in(self, project: str | None = None) -> str | None:
        """The actor's role in ``project`` (default: the project it acts in), or None."""
        wanted = project or self.project
        return next((role for p, role in self.roles or () if p == wanted), None)

    def sees_project(self, project: str) -> bool:
        """Whether ``project`` is visible to this actor: unrestricted actors and the admins
        of ``default`` (the server's admins) see every project, others those they hold a
        role in."""
        return (
            not self.restricted
            or self.role_in(DEFAULT_PROJECT) == "admin"
            or self.role_in(project) is not None
        )

    def __str__(self) -> str:
        return self.name if self.kind == "user" else f"{self.kind}:{self.name}"


def local_actor() -> Actor:
    """The OS user running this process."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        name = os.environ.get("USER", "") or f"uid-{os.getuid()}"
    return Actor(name)


def system_actor(component: str) -> Actor:
    """An actor for Conveyor's own background components."""
    return Actor(component, kind="system")
