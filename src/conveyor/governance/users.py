"""Users, their roles per project, and their API tokens (service functions).

Writes take a ``UnitOfWork`` and audit in the same transaction; nothing here ever
records a token's secret (the audit event of a new token names its id, user and expiry).
``authenticate`` turns a presented token into the ``Actor`` a server request runs as.

    with meta.write(actor) as uow:
        create_user(uow, "alice", role="editor")
        new = create_token(uow, "alice", expires="30d")   # new.token is shown once
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import END, Rule
from conveyor._util import new_id, now_ms, to_iso
from conveyor.errors import Conflict, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from conveyor.governance.identity import DEFAULT_PROJECT, Actor
from conveyor.governance.roles import ROLE_PERMISSIONS, RoleName, check_role
from conveyor.governance.tables import api_tokens, role_bindings, users
from conveyor.governance.tokens import new_token, parse_duration, parse_token
from conveyor.store import UnitOfWork
from conveyor.store.projects import resolve_project_id
from conveyor.store.stores import Stores
from conveyor.store.tables import projects

__all__ = [
    "NewToken",
    "TokenInfo",
    "User",
    "admins_of",
    "authenticate",
    "check_user_name",
    "create_token",
    "create_user",
    "grant_role",
    "identity_actor",
    "list_tokens",
    "list_users",
    "revoke_token",
    "user_actor",
    "whoami",
]


@dataclass(frozen=True)
class User:
    """A user and their role in each project."""

    name: str
    roles: dict[str, str]
    disabled: bool
    created_by: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "roles": dict(self.roles),
            "disabled": self.disabled,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "created_at_iso": to_iso(self.created_at),
        }


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, without its secret."""

    id: str
    user: str
    description: str
    created_by: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "expires_at_iso": to_iso(self.expires_at),
            "revoked_at": self.revoked_at,
            "state": "revoked" if self.revoked_at else "active",
        }


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the only time its secret is ever shown."""

    id: str
    user: str
    token: str
    expires_at: int | None

    def __repr__(self) -> str:
        return f"NewToken(id={self.id!r}, user={self.user!r}, token=***)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "token": self.token,
            "expires_at": self.expires_at,
            "expires_at_iso": to_iso(self.expires_at),
        }


# -- lookups ---------------------------------------------------------------------------------
def _project_id(conn: sa.Connection, name: str) -> str:
    return resolve_project_id(conn, name)


def _user_row(conn: sa.Connection, name: str) -> Any:
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user {name!r}; create one with `conveyor users create {name}`")
    return row


def _roles(conn: sa.Connection, user_id: str) -> dict[str, str]:
    rows = conn.execute(
        sa.select(projects.c.name, role_bindings.c.role)
        .join(projects, projects.c.id == role_bindings.c.project_id)
        .where(role_bindings.c.user_id == user_id)
    )
    return {name: role for name, role in rows}


def _user(conn: sa.Connection, row: Any) -> User:
    return User(row.name, _roles(conn, row.id), row.disabled, row.created_by, row.created_at)


def admins_of(conn: sa.Connection, project: str) -> list[str]:
    """The names of the enabled admins of ``project`` (who can grant roles there)."""
    rows = conn.execute(
        sa.select(users.c.name)
        .join(role_bindings, role_bindings.c.user_id == users.c.id)
        .join(projects, projects.c.id == role_bindings.c.project_id)
        .where(projects.c.name == project, role_bindings.c.role == "admin", ~users.c.disabled)
        .order_by(users.c.name)
    )
    return list(rows.scalars())


def _project_of(uow: UnitOfWork) -> str:
    return uow.actor.project


# -- users -----------------------------------------------------------------------------------
_TOKEN_ID = re.compile(r"^[0-9a-f]{12}$")  # anything else is never echoed: it may be a secret
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,249}")
UserName = Annotated[str, Rule({"pattern": rf"^[A-Za-z0-9][A-Za-z0-9._@+\-]{{0,249}}{END}"})]


def check_user_name(name: object) -> str:
    """A user name: letters, digits and ``. _ @ + -`` (an e-mail address fits), ≤ 250."""
    if not isinstance(name, str) or not _USER_NAME.fullmatch(name):
        raise ValidationFailed(
            f"invalid user name {name!r:.80}: use 1-250 letters, digits, '.', '_', '@', '+' "
            "or '-', starting with a letter or digit (an e-mail address fits)"
        )
    return name


def create_user(uow: UnitOfWork, name: UserName, role: RoleName = "viewer") -> User:
    """Create a user with ``role`` in the project the caller acts in."""
    check_user_name(name)
    check_role(role)
    if uow.conn.execute(sa.select(users.c.id).where(users.c.name == name)).first():
        raise Conflict(f"user {name!r} exists; give them a role with `conveyor users grant`")
    user_id = new_id()
    uow.conn.execute(
        users.insert().values(
            id=user_id, name=name, disabled=False, created_by=str(uow.actor), created_at=now_ms()
        )
    )
    uow.audit("user.create", "user", user_id, {"name": name})
    return grant_role(uow, name, role)


def grant_role(uow: UnitOfWork, name: str, role: RoleName) -> User:
    """Give ``name`` the role ``role`` in the caller's project (replacing any other)."""
    check_role(role)
    row = _user_row(uow.conn, name)
    project = _project_of(uow)
    project_id = _project_id(uow.conn, project)
    before = _roles(uow.conn, row.id).get(project)
    uow.conn.execute(
        role_bindings.delete().where(
            role_bindings.c.user_id == row.id, role_bindings.c.project_id == project_id
        )
    )
    uow.conn.execute(
        role_bindings.insert().values(
            user_id=row.id,
            project_id=project_id,
            role=role,
            granted_by=str(uow.actor),
            granted_at=now_ms(),
        )
    )
    uow.audit(
        "user.grant_role",
        "user",
        row.id,
        {"name": name, "project": project, "from": before, "to": role},
    )
    return _user(uow.conn, row)


def list_users(conn: sa.Connection) -> list[User]:
    """Every user with their roles."""
    rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
    return [_user(conn, row) for row in rows]


def whoami(stores: Stores) -> dict[str, Any]:
    """Who this call runs as, in which project, with which role and its permission
    patterns (``"*:read"``, ``"approvals:decide"`` ...; ``["*:*"]`` when unrestricted)."""
    actor = stores.actor
    role = actor.role_in() if actor.restricted else None
    return {
        "name": actor.name,
        "kind": actor.kind,
        "project": actor.project,
        "role": role if actor.restricted else "unrestricted",
        "roles": dict(actor.roles) if actor.roles is not None else None,
        # the role's permission patterns ("*:read" ...): what the web UI offers
        "permissions": list(ROLE_PERMISSIONS.get(role or "", ())) if actor.restricted else ["*:*"],
    }


# -- tokens ----------------------------------------------------------------------------------
def _check_may_manage(uow: UnitOfWork, target: Any) -> None:
    """A restricted caller manages only tokens of users it administers everywhere they act."""
    actor = uow.actor
    if not actor.restricted or target.name == actor.name:
        return
    outside = [p for p in _roles(uow.conn, target.id) if actor.role_in(p) != "admin"]
    if outside:
        raise PermissionDenied(
            f"{actor.name} is not an admin of project(s) {', '.join(outside)} where "
            f"{target.name} has a role; an admin of those projects can manage their tokens",
            details={"permission": "tokens:manage", "projects": outside},
        )


def create_token(
    uow: UnitOfWork, user: str, expires: str | None = None, description: str = ""
) -> NewToken:
    """A new API token for ``user`` (``expires`` like ``30d``; None never expires).

    The answer is the only place the token's secret ever appears.
    """
    row = _user_row(uow.conn, user)
    _check_may_manage(uow, row)
    if not isinstance(description, str) or len(description) > 500:
        raise ValidationFailed("description must be text of at most 500 characters")
    now = now_ms()
    expires_at = now + parse_duration(expires) if expires else None
    token_id, text, digest = new_token()
    uow.conn.execute(
        api_tokens.insert().values(
            id=token_id,
            user_id=row.id,
            secret_sha256=digest,
            description=description,
            created_by=str(uow.actor),
            created_at=now,
            expires_at=expires_at,
        )
    )
    uow.audit(
        "token.create",
        "token",
        token_id,
        {"user": user, "expires_at": expires_at, "description": description},
    )
    return NewToken(token_id, user, text, expires_at)


def _token_info(row: Any) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.user,
        row.description,
        row.created_by,
        row.created_at,
        row.expires_at,
        row.revoked_at,
    )


def _token_query() -> sa.Select[Any]:
    return sa.select(api_tokens, users.c.name.label("user")).join(
        users, users.c.id == api_tokens.c.user_id
    )


def list_tokens(conn: sa.Connection, user: str | None = None) -> list[TokenInfo]:
    """Stored tokens (never their secrets), newest first; optionally one user's."""
    query = _token_query().order_by(api_tokens.c.created_at.desc())
    if user is not None:
        query = query.where(users.c.name == user)
    return [_token_info(row) for row in conn.execute(query)]


def revoke_token(uow: UnitOfWork, token_id: str) -> TokenInfo:
    """Revoke a token by its id (or the token itself); it stops working at once."""
    parsed = parse_token(token_id) if isinstance(token_id, str) else None
    if parsed is not None:
        token_id = parsed.token_id
    row = uow.conn.execute(_token_query().where(api_tokens.c.id == token_id)).first()
    if row is None:
        shown = repr(token_id) if _TOKEN_ID.match(str(token_id)) else "(not a token id)"
        raise NotFound(f"no token with id {shown}; `conveyor tokens list` shows them")
    _check_may_manage(uow, _user_row(uow.conn, row.user))
    if row.revoked_at is None:
        uow.conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == row.id)
            .values(revoked_at=now_ms(), revoked_by=str(uow.actor))
        )
        uow.audit("token.revoke", "token", row.id, {"user": row.user})
    return _token_info(uow.conn.execute(_token_query().where(api_tokens.c.id == row.id)).one())


# -- authentication --------------------------------------------------------------------------
_HOW = "send `Authorization: Bearer <token>`; an admin creates one with `conveyor tokens create`"


def authenticate(
    conn: sa.Connection, token: str, project: str = DEFAULT_PROJECT, *, now: int | None = None
) -> Actor:
    """The actor a presented token stands for, acting in ``project``.

    Unauthenticated (401) for a malformed, unknown, wrong, expired or revoked token or a
    disabled user; the message says which, never echoing the token.
    """
    parsed = parse_token(token)
    if parsed is None:
        raise Unauthenticated(f"the bearer token is malformed (expected cvy_…); {_HOW}")
    row = conn.execute(
        sa.select(api_tokens, users.c.name, users.c.disabled)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.id == parsed.token_id)
    ).first()
    # compare against a dummy digest when the id is unknown, so both paths cost the same
    if not parsed.matches(row.secret_sha256 if row is not None else "0" * 64) or row is None:
        raise Unauthenticated(f"the bearer token is not valid; {_HOW}")
    if row.revoked_at is not None:
        raise Unauthenticated(f"token {row.id} was revoked; {_HOW}")
    if row.expires_at is not None and row.expires_at <= (now_ms() if now is None else now):
        raise Unauthenticated(f"token {row.id} expired at {to_iso(row.expires_at)}; {_HOW}")
    if row.disabled:
        raise Unauthenticated(f"user {row.name} is disabled; ask an admin")
    return user_actor(conn, row.name, project)


def identity_actor(conn: sa.Connection, name: str, project: str = DEFAULT_PROJECT) -> Actor:
    """The actor of a user named by an identity provider (OIDC): Unauthenticated when
    Conveyor has no such user or it is disabled."""
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if row is None:
        raise Unauthenticated(
            f"the identity provider's user {name!r} has no Conveyor user; an admin creates "
            f"it with `conveyor users create {name} --role ROLE`"
        )
    if row.disabled:
        raise Unauthenticated(f"user {name} is disabled; ask an admin")
    return user_actor(conn, name, project)


def user_actor(conn: sa.Connection, name: str, project: str = DEFAULT_PROJECT) -> Actor:
    """The restricted actor of user ``name`` acting in ``project`` (which must exist: else
    NotFound listing the projects this user can see)."""
    row = _user_row(conn, name)
    roles = tuple(sorted(_roles(conn, row.id).items()))
    actor = Actor(name, roles=roles, project=project)
    resolve_project_id(conn, project, visible=actor.sees_project)
    return actor
