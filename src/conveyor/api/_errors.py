"""Every failure answers ``{"error": {"code", "message", "details"}}`` with its HTTP status.

- ``ConveyorError`` -> its own ``status`` and ``code``;
- request validation (pydantic) -> 422 ``invalid`` naming each bad field, 400
  ``malformed`` when the body is not JSON at all, 415 when it was sent as another type;
- routing 404 / 405 -> ``not_found`` / ``method_not_allowed``;
- integers the database cannot hold -> 422 ``invalid``;
- anything unexpected -> 500 ``internal`` with an error id that is also logged with the
  traceback; the message never carries the exception text (it may hold internals).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, NamedTuple

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.api._responses import OrjsonResponse
from conveyor.errors import ConveyorError, MalformedRequest, PayloadTooLarge

__all__ = [
    "ERROR_RESPONSES",
    "ErrorBody",
    "ErrorMiddleware",
    "StreamAborted",
    "documented_methods",
    "error_response",
    "install_error_handlers",
    "owner_methods",
    "shadowing_templates",
]

log = logging.getLogger("conveyor.api")

_HTTP_CODES = {
    400: "malformed",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code (`not_found`, `conflict` ...)")
    message: str = Field(description="what was wrong and what to do")
    details: dict[str, Any] = Field(description="structured context (field names, limits)")


class ErrorBody(BaseModel):
    """The body of every error answer of the REST API."""

    error: ErrorDetail


_ERROR_STATUSES = {
    400: "The request is malformed (not JSON, a broken upload, a filter that does not parse).",
    404: "The object (or route) does not exist.",
    405: "The method is not served on this path; `Allow` lists those that are.",
    409: "The request conflicts with the stored state (exists already, finished run ...).",
    413: "The body is larger than the server accepts.",
    415: "The body is not JSON (or the type this route takes).",
    422: "A value breaks a rule (the message names the field and the rule).",
    503: "The server is at a limit (large requests in flight); retry after `Retry-After`.",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERROR_STATUSES.items()
}
"""The error answers documented on every route (OpenAPI ``responses``)."""


class StreamAborted(Exception):
    """Raised inside a streaming body to cut the response short (closing the connection)."""


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> OrjsonResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return OrjsonResponse(body, status_code=status)


def _conveyor_error(exc: ConveyorError) -> OrjsonResponse:
    return OrjsonResponse(exc.to_payload(), status_code=exc.status)


async def _on_conveyor_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConveyorError)
    return _conveyor_error(exc)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] if isinstance(loc, list | tuple) else []
    return ".".join(parts) or "body"


def _not_json(request: Request, errors: list[Any]) -> bool:
    """The whole body was rejected because it was sent as something other than JSON."""
    content_type = request.headers.get("content-type", "")
    whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in errors)
    return whole_body and bool(content_type) and "json" not in content_type


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if _not_json(request, errors):
        return error_response(
            415,
            "unsupported_media_type",
            f"this route takes a JSON body, not {request.headers['content-type']!r}; "
            "send Content-Type: application/json (curl: -H 'Content-Type: application/json')",
        )
    if any(e.get("type") == "json_invalid" for e in errors):
        first = errors[0]
        reason = (first.get("ctx") or {}).get("error", "JSON decode error")
        return _conveyor_error(
            MalformedRequest(
                f"request body is not valid JSON ({reason} at position {first['loc'][-1]}); "
                "send a JSON object with Content-Type: application/json"
            )
        )
    listed = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": e.get("type")}
        for e in errors
    ]
    summary = "; ".join(f"{_where(e.get('loc'))}: {e.get('msg')}" for e in errors[:5])
    return error_response(422, "invalid", f"invalid request: {summary}", {"errors": listed})


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """The methods served on this path, as the OpenAPI document describes it.

    Starlette's 405 names only the first route's methods. Where templates overlap
    (``/experiments/get-or-create`` and ``/experiments/{id_or_name}``) the URL belongs, as
    OpenAPI says, to the most concrete template: more segments, then more literal ones.
    Paths the document does not describe (mounts, ``{name:path}`` values with slashes) fall
    back to asking each route whether a method would match fully.
    """
    owners = documented_methods(request.app, request.url.path)
    if owners:
        return ", ".join(m for m in _METHODS if m in owners)
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


_TEMPLATE_PARAM = re.compile(r"{[^}/]+}")


class _Template(NamedTuple):
    path: str  # as in the OpenAPI document: /api/v1/models/{name}
    regex: re.Pattern[str]
    concrete: tuple[int, int]  # segments, literal segments: more is more concrete
    methods: frozenset[str]


def documented_templates(app: Any) -> list[_Template]:
    """The OpenAPI document's path templates (built once per app)."""
    templates = getattr(app.state, "allow_templates", None)
    if templates is None:
        templates = []
        for template, item in app.openapi().get("paths", {}).items():
            parts = _TEMPLATE_PARAM.split(template)
            regex = re.compile("[^/]+".join(re.escape(part) for part in parts))
            segments = template.strip("/").split("/")
            concrete = (len(segments), sum(1 for s in segments if not s.startswith("{")))
            methods = frozenset(m.upper() for m in item)
            templates.append(_Template(template, regex, concrete, methods))
        app.state.allow_templates = templates
    return templates


def owner_methods(templates: list[_Template], path: str) -> set[str]:
    """The methods of the most concrete of ``templates`` matching ``path`` (empty: none)."""
    matching = [t for t in templates if t.regex.fullmatch(path)]
    if not matching:
        return set()
    owner = max(t.concrete for t in matching)
    return set().union(*(t.methods for t in matching if t.concrete == owner))


def documented_methods(app: Any, path: str) -> set[str]:
    """The methods the OpenAPI document gives the most concrete template matching ``path``
    (empty when none matches)."""
    return owner_methods(documented_templates(app), path)


def shadowing_templates(app: Any, route: str, path: str, *, greedy: bool) -> list[_Template]:
    """The templates more concrete than the one of ``route`` (its template inside its
    router, e.g. ``/runs/{run_id}``; ``path`` is the URL that reached it) that can match a
    URL it matches: the only ones its requests need to be checked against. With a
    ``{name:path}`` parameter (``greedy``) a route also takes longer URLs; otherwise only
    templates of its own length can compete."""
    templates = documented_templates(app)
    mine = next(
        (
            t
            for t in templates
            if t.path.endswith(route)
            and "{" not in (mount := t.path[: len(t.path) - len(route)])
            and path.startswith(mount)
        ),
        None,
    )
    if mine is None:
        return []
    prefix = mine.path.split("{", 1)[0]

    def can_overlap(t: _Template) -> bool:
        other = t.path.split("{", 1)[0]
        same_start = other.startswith(prefix) or prefix.startswith(other)
        return same_start and (greedy or t.concrete[0] == mine.concrete[0])

    return [t for t in templates if t.concrete > mine.concrete and can_overlap(t)]


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, ConveyorError):  # e.g. PayloadTooLarge while FastAPI read
        return _conveyor_error(exc.__cause__)
    code = _HTTP_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "invalid")
    message = str(exc.detail)
    if exc.status_code == 404:
        message = "no such API route; see /api/v1/docs for the endpoints"
    elif exc.status_code == 405:
        message = "method not allowed on this route; see /api/v1/docs for the endpoints"
    elif exc.status_code == 400 and message == "There was an error parsing the body":
        message = (
            "the request body could not be read; send JSON with Content-Type: application/json"
        )
    response = error_response(exc.status_code, code, message, {})
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


async def _on_out_of_range(_request: Request, exc: Exception) -> Response:
    # Numbers past 64 bits reach the database driver (OverflowError on SQLite, DataError on
    # PostgreSQL): bad input, not a server fault.
    log.info("out-of-range value in a request: %s", exc)
    return error_response(
        422,
        "invalid",
        "a number in the request is out of range: integers must fit in 64 bits",
        {},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConveyorError, _on_conveyor_error)
    app.add_exception_handler(OverflowError, _on_out_of_range)
    app.add_exception_handler(sa.exc.DataError, _on_out_of_range)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)


class ErrorMiddleware:
    """Request-size limit and the last-resort 500, as one small ASGI middleware.

    Bodies over ``max_body`` bytes answer 413 (before reading them when Content-Length says
    so; otherwise when the counted bytes pass the limit). Artifact uploads are exempt: they
    stream to disk with bounded memory. An exception that no handler took answers 500 with
    an error id (logged with the traceback) if the response has not started; once bytes
    are on the wire, the connection is aborted instead so the client sees the failure.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, exempt: Any) -> None:
        self.app = app
        self.max_body = max_body
        self.exempt = exempt  # callable(scope) -> bool: no body limit for this request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limited = not self.exempt(scope)
        if limited:
            length = _content_length(scope)
            if length is not None and length > self.max_body:
                await self._too_large()(scope, receive, send)
                return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if limited and message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise self._too_large_error()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except ClientDisconnect:
            log.info("client went away during %s %s", scope.get("method"), scope.get("path"))
        except StreamAborted as exc:
            # The status line is long gone: log, and return without the final body chunk;
            # the server then closes the connection and the client sees a cut response.
            log.error("%s; response to %s cut short", exc, scope.get("path"))
            if not started:
                await error_response(500, "internal", str(exc))(scope, receive, send)
        except ConveyorError as exc:  # raised outside any handler (e.g. body limit)
            if started:
                raise
            await _conveyor_error(exc)(scope, receive, send)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception(
                "unexpected error %s on %s %s", error_id, scope.get("method"), scope.get("path")
            )
            if started:
                raise
            response = error_response(
                500,
                "internal",
                f"internal server error (error id {error_id}); the server log has the details",
                {"error_id": error_id},
            )
            await response(scope, receive, send)

    def _too_large_error(self) -> PayloadTooLarge:
        mib = self.max_body / (1 << 20)
        return PayloadTooLarge(
            f"request body is larger than the {mib:g} MiB limit; send smaller batches or raise "
            "CONVEYOR_MAX_REQUEST_MB on the server",
            details={"limit_bytes": self.max_body},
        )

    def _too_large(self) -> OrjsonResponse:
        return _conveyor_error(self._too_large_error())


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
