"""Mount MLflow's REST API on the Conveyor server: ``/api/2.0/mlflow/...`` and
``/ajax-api/2.0/mlflow/...`` (the same handlers), the artifact proxy and server info.

A raw ASGI layer (:class:`MlflowRoutes`) dispatches both prefixes on (method, path) to the
handlers of :mod:`conveyor.mlflow_api.tracking` and :mod:`conveyor.mlflow_api.registry`;
GET arguments come from the query string, others from the JSON body. Unknown paths answer
MLflow's ``ENDPOINT_NOT_FOUND``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor.api._responses import OrjsonResponse
from conveyor.mlflow_api import artifacts, registry, tracking
from conveyor.mlflow_api._handlers import Handler, acting_backend
from conveyor.mlflow_api._wire import MlflowError, parse_body

__all__ = ["PREFIXES", "MlflowRoutes", "install_mlflow_api"]

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

_EXACT: dict[tuple[str, str], Handler] = {**tracking.ROUTES, **registry.ROUTES}
_PATTERNS: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", path) + "$"), fn)
    for (method, path), fn in _EXACT.items()
    if "{" in path
]


_METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")
_READS = ("/get", "/search", "/get-latest-versions", "/list", "/get-history", "/get-by-name")


def mlflow_permission(method: str, path: str) -> str:
    """The permission an MLflow route needs, in Conveyor's vocabulary (the same role
    table as ``/api/v1``): ``models:*`` for the registry, ``runs:*`` for tracking;
    ``read`` for GETs and the search/get POSTs, ``write`` otherwise."""
    path = "/" + path.strip("/")
    area = "models" if path.startswith(("/registered-models", "/model-versions")) else "runs"
    read = method == "GET" or any(path.endswith(suffix) for suffix in _READS)
    return f"{area}:{'read' if read else 'write'}"


def authorize(backend: Any, permission: str) -> None:
    """Refuse (MLflow's PERMISSION_DENIED) unless the request's actor holds ``permission``."""
    from conveyor.errors import PermissionDenied
    from conveyor.governance.roles import check_permission

    try:
        check_permission(backend.actor, permission)
    except PermissionDenied as exc:
        raise MlflowError("PERMISSION_DENIED", exc.message) from None


def _find(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    fn = _EXACT.get((method, path))
    if fn is not None:
        return fn, {}
    for m, pattern, handler in _PATTERNS:
        if m == method and (match := pattern.match(path)):
            return handler, match.groupdict()
    return None


def _query_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in args:
            args[key] = [*args[key], value] if isinstance(args[key], list) else [args[key], value]
        else:
            args[key] = value
    for key in ("experiment_ids", "stages", "order_by"):  # repeated fields: always lists
        if key in args and not isinstance(args[key], list):
            args[key] = [args[key]]
    return args


def _answer(request: Request, rest: str, raw: bytes) -> tuple[Any, int]:
    """(JSON answer, status) of one MLflow request: authentication, permission and the
    handler in one worker-thread hop."""
    method = request.method
    found = _find(method, "/" + rest.strip("/"))
    try:
        backend = acting_backend(request)  # inside: a 401 answers in MLflow's error shape
        if found is None:
            raise MlflowError(
                "ENDPOINT_NOT_FOUND",
                f"No API endpoint {method} {request.url.path} on this server "
                "(Conveyor serves MLflow's tracking, logged-model, artifact and registry APIs; "
                "see docs/mlflow.md)",
            )
        handler, path_args = found
        authorize(backend, mlflow_permission(method, rest))
        if method == "GET":
            body = _query_args(request)
        else:
            body = parse_body(raw)
            body.update(_query_args(request) if not body else {})
        body.update(path_args)
        return handler(backend, body), 200
    except MlflowError as exc:
        return exc.body(), exc.status


class MlflowRoutes:
    """Raw ASGI for ``PREFIXES``, innermost of the app's middleware (their body limit
    and error mapping apply), in front of FastAPI's router: the stock client sends one
    request per ``log_metric``, and matching the app's few hundred routes and solving
    FastAPI's dependencies cost more server CPU than the handler itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        prefix = next((p for p in PREFIXES if path.startswith(p + "/")), None)
        if prefix is None or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        raw = b"" if scope["method"] == "GET" else await request.body()
        answer, status = await run_in_threadpool(_answer, request, path[len(prefix) :], raw)
        await OrjsonResponse(answer, status_code=status)(scope, receive, send)


def install_mlflow_api(app: FastAPI) -> None:
    """Add the MLflow routes to ``app`` (before any catch-all of its own)."""
    # appended, not add_middleware(): innermost, inside the app's own middleware
    app.user_middleware.append(Middleware(MlflowRoutes))
    router = APIRouter(include_in_schema=False)
    app.include_router(artifacts.router)

    @router.get("/api/3.0/mlflow/server-info")
    async def server_info() -> Response:
        return OrjsonResponse(
            {
                "store_type": "SqlStore",
                "workspaces_enabled": False,
                "multipart_uploads_enabled": False,
                "multipart_downloads_enabled": False,
            }
        )

    app.include_router(router)
