"""The UI's route: static files by path, else ``index.html`` (the SPA fallback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from conveyor.api._errors import error_response

_IMMUTABLE = "public, max-age=31536000, immutable"  # hashed file names under assets/


def _wants_html(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/html" in value
    return False


class _UiRoute(Route):
    """Matches GET/HEAD outside the reserved prefixes: the UI's files (``/``, ``/assets/…``)
    for anyone, and its deep links (``/runs/<id>`` …) for browsers, i.e. requests that accept
    ``text/html``. Anything else — an API client asking for an unknown path, another
    method — still gets the API's own JSON 404/405."""

    def __init__(self, endpoint: Any) -> None:
        super().__init__("/{path:path}", endpoint, methods=["GET", "HEAD"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        from conveyor.ui import RESERVED_PREFIXES

        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        path: str = scope.get("path", "")
        if any(path == p.rstrip("/") or path.startswith(p) for p in RESERVED_PREFIXES):
            return Match.NONE, {}
        if path != "/" and not path.startswith("/assets/") and not _wants_html(scope):
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint, "path_params": {}}


def ui_route(static_dir: Path) -> Route:
    root = static_dir.resolve()
    index = root / "index.html"

    async def serve(request: Request) -> Response:
        if not index.is_file():
            return error_response(
                404, "not_found", "the web UI is not built into this install; run `make ui`"
            )
        rel = request.url.path.lstrip("/")
        if rel:
            candidate = (root / rel).resolve()
            if candidate.is_file() and candidate.is_relative_to(root):
                cache = _IMMUTABLE if rel.startswith("assets/") else "no-cache"
                return FileResponse(candidate, headers={"Cache-Control": cache})
            if rel.startswith("assets/"):
                return error_response(404, "not_found", f"no UI asset {rel!r}")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return _UiRoute(serve)
