"""Roles and the permissions they hold: the one table every check reads.

A permission is ``"<area>:<verb>"``; each operation of the table declares one
(``Op(permission=...)``, default ``"<first path segment>:read|write"``). A role holds the
permissions matching its patterns (``*`` matches any area or verb)::

    viewer    reads everything
    editor    reads and writes objects, requests approvals
    approver  reads everything, decides approvals
    admin     everything, including users, tokens, roles and approval policies

Governance permissions use their own verbs (``users:manage``, ``approvals:decide``), so
``*:write`` never reaches them. ``check_permission`` is called by ``LocalTransport.invoke``
for every operation, so SDK, CLI and REST follow the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Annotated

from conveyor._schema import Rule
from conveyor.errors import PermissionDenied, ValidationFailed
from conveyor.governance.identity import DEFAULT_PROJECT, Actor

__all__ = [
    "ROLES",
    "ROLE_PERMISSIONS",
    "SELF_PERMISSIONS",
    "SERVER_PERMISSIONS",
    "RoleName",
    "check_permission",
    "check_role",
    "has_permission",
    "roles_with",
]

#: role -> the permission patterns it holds (the one declared table).
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "viewer": ("*:read",),
    "editor": ("*:read", "*:write", "approvals:request"),
    "approver": ("*:read", "approvals:decide"),
    "admin": ("*:*",),
}

ROLES: tuple[str, ...] = tuple(ROLE_PERMISSIONS)

#: Permissions over the whole server rather than one project: checked against the role in
#: ``default`` (whose admins are the server's admins), whatever project the call acts in.
SERVER_PERMISSIONS = frozenset({"projects:manage"})
#: Permissions every signed-in user holds in any project, even one where they have no role:
#: they only describe the caller (``whoami``) or list what the caller can see (the projects
#: where it holds a role), so a user whose only role is in another project can find it.
SELF_PERMISSIONS = frozenset({"whoami:read", "projects:read"})
RoleName = Annotated[str, Rule({"enum": list(ROLES)})]


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES``, else ValidationFailed listing them."""
    if role not in ROLE_PERMISSIONS:
        raise ValidationFailed(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def has_permission(role: str | None, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` according to ``ROLE_PERMISSIONS``."""
    if role is None:
        return False
    return any(fnmatchcase(permission, p) for p in ROLE_PERMISSIONS.get(role, ()))


def roles_with(permission: str) -> list[str]:
    """The roles holding ``permission``, in ``ROLES`` order."""
    return [role for role in ROLES if has_permission(role, permission)]


def check_permission(
    actor: Actor,
    permission: str,
    *,
    admins: Callable[[str], Sequence[str]] | None = None,
) -> None:
    """Refuse (PermissionDenied) unless ``actor`` may use ``permission`` in its project
    (in ``default`` for the ``SERVER_PERMISSIONS``; any signed-in actor holds the
    ``SELF_PERMISSIONS``).

    Unrestricted actors (embedded store owner, system workers, ``--insecure-local``) pass.
    The refusal names the missing permission, the roles that hold it, and who can grant
    it: the admins of the project (``admins(project)``, looked up only on refusal).
    """
    if not actor.restricted or permission in SELF_PERMISSIONS:
        return
    project = DEFAULT_PROJECT if permission in SERVER_PERMISSIONS else actor.project
    role = actor.role_in(project)
    if has_permission(role, permission):
        return
    holders = roles_with(permission)
    granters = list(admins(project)) if admins is not None else []
    who = f"an admin of project {project!r}" + (f" ({', '.join(granters)})" if granters else "")
    having = f"role {role!r}" if role else "no role"
    needed = holders[0] if holders else "admin"
    raise PermissionDenied(
        f"{actor.name} ({having} in project {project!r}) lacks permission {permission!r}, "
        f"held by role(s) {', '.join(holders)}; {who} can grant it: "
        f"`conveyor users grant {actor.name} --role {needed}`",
        details={
            "permission": permission,
            "project": project,
            "actor": actor.name,
            "role": role,
            "roles_with_permission": holders,
            "granted_by": granters,
        },
    )
