"""Per-request dependencies: who is acting, and the backend acting as them."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from conveyor.api.auth import current_actor
from conveyor.backend.local import LocalBackend
from conveyor.errors import MalformedRequest
from conveyor.governance.identity import Actor

__all__ = ["ActingBackend", "current_actor", "get_backend", "read_json"]


def get_backend(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> LocalBackend:
    """The app's backend acting as the request's actor."""
    backend: LocalBackend = request.app.state.backend
    return backend if backend.actor == actor else backend.as_actor(actor)


ActingBackend = Annotated[LocalBackend, Depends(get_backend)]


async def read_json(request: Request) -> Any:
    """The request body parsed by orjson (hot paths skip pydantic)."""
    body = await request.body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(
            f"request body is not valid JSON ({exc}); send a JSON object "
            "with Content-Type: application/json"
        ) from None
