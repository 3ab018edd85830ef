"""Projects: create, list and show them (service functions of the operation table).

A project is a namespace for name-scoped objects (experiments, models, datasets,
endpoints, monitors, pipelines, triggers, feature definitions) and the unit roles are
granted in. Every call acts in one project (``conveyor.store.projects``). The admins of
``default`` are the server's admins: only they create projects; the creator becomes
admin of the new project. A project is visible to a user holding a role in it (and to
the server's admins); one outside that answers NotFound, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from conveyor._schema import Name
from conveyor._util import check_name, new_id, now_ms, to_iso
from conveyor.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from conveyor.governance.identity import DEFAULT_PROJECT, Actor
from conveyor.governance.tables import role_bindings, users
from conveyor.store import UnitOfWork
from conveyor.store.dialect import insert_if_absent
from conveyor.store.stores import Stores
from conveyor.store.tables import projects

__all__ = ["Project", "create_project", "get_project", "list_projects"]


@dataclass(frozen=True)
class Project:
    """A project, with the caller's role in it (None: no role; ``unrestricted`` for the
    embedded store's owner)."""

    id: str
    name: str
    description: str
    created_at: int
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at,
            "created_at_iso": to_iso(self.created_at),
            "role": self.role,
        }


def _project(row: Any, actor: Actor) -> Project:
    role = actor.role_in(row.name) if actor.restricted else "unrestricted"
    return Project(row.id, row.name, row.description or "", row.created_at, role)


def _server_admins(conn: sa.Connection) -> list[str]:
    from conveyor.governance.users import admins_of

    return admins_of(conn, DEFAULT_PROJECT)


def create_project(uow: UnitOfWork, name: Name, description: str = "") -> Project:
    """Create a project; the caller becomes its admin. Only an admin of ``default`` (a
    server admin) may."""
    check_name(name, "project name")
    if not isinstance(description, str) or len(description) > 5000:
        raise ValidationFailed("description must be text of at most 5000 characters")
    actor = uow.actor
    if actor.restricted and actor.role_in(DEFAULT_PROJECT) != "admin":
        admins = _server_admins(uow.conn)
        raise PermissionDenied(
            f"{actor.name} may not create projects: that takes the admin role in project "
            f"{DEFAULT_PROJECT!r} (the server's admins: {', '.join(admins) or 'none'})",
            details={
                "permission": "projects:manage",
                "project": DEFAULT_PROJECT,
                "actor": actor.name,
                "granted_by": admins,
            },
        )
    project_id, created_at = new_id(), now_ms()
    row = {"id": project_id, "name": name, "description": description, "created_at": created_at}
    if not insert_if_absent(uow.conn, projects, row, [projects.c.name]):
        raise Conflict(f"project {name!r} already exists", details={"project": name})
    uow.audit("project.create", "project", project_id, {"name": name, "description": description})
    user_id = uow.conn.execute(sa.select(users.c.id).where(users.c.name == actor.name)).scalar()
    if actor.kind == "user" and user_id is not None:
        uow.conn.execute(
            role_bindings.insert().values(
                user_id=user_id,
                project_id=project_id,
                role="admin",
                granted_by=str(actor),
                granted_at=created_at,
            )
        )
        uow.audit(
            "user.grant_role",
            "user",
            user_id,
            {"name": actor.name, "project": name, "from": None, "to": "admin"},
        )
    return Project(project_id, name, description, created_at, "admin")


def list_projects(stores: Stores) -> list[Project]:
    """The projects the caller can see (where it holds a role; all for a server admin)."""
    actor = stores.actor
    with stores.read() as conn:
        rows = conn.execute(sa.select(projects).order_by(projects.c.name)).all()
    return [_project(r, actor) for r in rows if actor.sees_project(r.name)]


def get_project(stores: Stores, name: Name) -> Project:
    """One project the caller can see; NotFound (listing those it can) otherwise."""
    actor = stores.actor
    if actor.sees_project(name):
        with stores.read() as conn:
            row = conn.execute(sa.select(projects).where(projects.c.name == name)).first()
        if row is not None:
            return _project(row, actor)
    visible = [p.name for p in list_projects(stores)]
    raise NotFound(
        f"no project {name!r}; the projects you can use are: {', '.join(visible) or '-'}",
        details={"project": name, "projects": visible},
    )
