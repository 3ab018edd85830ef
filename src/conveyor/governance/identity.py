"""Who is acting. Local mode: the OS user. Server mode: the authenticated token's user."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

__all__ = ["Actor", "local_actor", "system_actor"]


@dataclass(frozen=True)
class Actor:
    """The identity a service call runs as; recorded on every audit event.

    ``kind`` is ``"user"`` for a person (OS user locally, token owner on a server),
    ``"system"`` for Conveyor's own workers (schedulers, retraining triggers).
    """

    name: str
    kind: str = "user"

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
