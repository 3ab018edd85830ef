"""Who a request is: the API's authentication modes and the per-operation permission check.

``create_app(..., auth=...)`` picks the mode (default: the ``auth`` setting):

- ``"tokens"``: every request but ``/health`` carries ``Authorization: Bearer <token>``
  (an API token, or a JWT from the configured OIDC issuer); it acts as that user in the
  project named by ``X-Conveyor-Project`` (default ``default``). 401 otherwise.
- ``"insecure-local"``: no authentication; only loopback clients are answered and every
  request acts as the OS user running the server, unrestricted (tests, a laptop).

Generated routes check their operation's permission in a dependency, before the body is
even validated; ``LocalTransport.invoke`` checks it again (the rule lives in one place,
``conveyor.governance.roles``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from conveyor.client.http import PROJECT_HEADER
from conveyor.errors import PermissionDenied, Unauthenticated, ValidationFailed
from conveyor.governance.identity import DEFAULT_PROJECT, Actor, local_actor

if TYPE_CHECKING:
    from conveyor.client.op import Op
    from conveyor.governance.oidc import OidcVerifier

__all__ = ["AUTH_MODES", "ApiAuth", "auth_from_settings", "authorized", "current_actor"]

AUTH_MODES = ("tokens", "insecure-local")


@dataclass(frozen=True)
class ApiAuth:
    """How the app authenticates: ``mode`` and, optionally, an OIDC verifier for JWTs."""

    mode: str = "tokens"
    oidc: OidcVerifier | None = None

    def __post_init__(self) -> None:
        if self.mode not in AUTH_MODES:
            raise ValidationFailed(
                f"auth must be one of {', '.join(AUTH_MODES)}, got {self.mode!r}"
            )


@lru_cache(maxsize=1)
def _process_actor() -> Actor:
    return local_actor()


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated(
            "this server requires authentication: send `Authorization: Bearer <token>` "
            "(CONVEYOR_TOKEN or `conveyor login`); an admin creates tokens with "
            "`conveyor tokens create --user NAME`"
        )
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthenticated("the Authorization header must read `Bearer <token>`")
    return credentials.strip()


def _project(request: Request) -> str:
    project = request.headers.get(PROJECT_HEADER) or DEFAULT_PROJECT
    if len(project) > 250 or not project.isprintable():
        raise ValidationFailed(f"{PROJECT_HEADER} must be a project name")
    return project


def _resolve(request: Request) -> Actor:
    auth: ApiAuth = request.app.state.auth
    if auth.mode == "insecure-local":
        client = request.client.host if request.client else None
        if not _loopback(client):
            raise PermissionDenied(
                "this server runs with --insecure-local and answers loopback clients only; "
                "start it with authentication (`conveyor server --init-admin NAME`)",
                details={"rule": "insecure-local"},
            )
        project = _project(request)
        actor = _process_actor()
        return actor if project == actor.project else replace(actor, project=project)
    token = _bearer(request)
    project = _project(request)
    meta = request.app.state.backend.meta
    if auth.oidc is not None and auth.oidc.looks_like_jwt(token):
        from conveyor.governance.users import identity_actor

        name = auth.oidc.user_of(token)
        with meta.read() as conn:
            return identity_actor(conn, name, project)
    from conveyor.governance.users import authenticate

    with meta.read() as conn:
        return authenticate(conn, token, project)


def current_actor(request: Request) -> Actor:
    """The identity this request acts as: the bearer token's user (401 without one), or
    the OS user running a server started with ``--insecure-local``. Resolved once per
    request; every route receives its actor through this one dependency."""
    actor = getattr(request.state, "conveyor_actor", None)
    if actor is None:
        actor = _resolve(request)
        request.state.conveyor_actor = actor
    return actor


def authorized(op: Op[Any, Any]) -> Callable[..., Actor]:
    """A dependency: the request's actor, after checking it holds ``op.permission``."""
    from conveyor.client.local import authorize

    def dependency(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        authorize(actor, op, request.app.state.backend.meta)
        return actor

    dependency.__name__ = f"authorize_{op.name}"
    dependency.conveyor_op = op  # type: ignore[attr-defined]  # the route matrix test reads it
    return dependency


def auth_from_settings(settings: Any, mode: str | None = None) -> ApiAuth:
    """The app's authentication from the settings (``auth``, ``oidc_*``), ``mode`` first."""
    oidc = None
    if settings.oidc_issuer:
        from conveyor.governance.oidc import OidcVerifier

        oidc = OidcVerifier(
            str(settings.oidc_issuer),
            jwks_url=str(settings.oidc_jwks_url),
            audience=str(settings.oidc_audience),
            user_claim=str(settings.oidc_user_claim),
            leeway_s=float(settings.oidc_leeway_s),
        )
    return ApiAuth(mode or str(settings.auth), oidc)
