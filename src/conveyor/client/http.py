"""``HttpTransport``: runs each operation on a Conveyor server through its REST API.

``invoke`` binds the call to the operation's signature, fills the path template (each
value percent-encoded; ``{name:path}`` keeps its '/'), sends the other arguments as the
query (GET) or a JSON body, and decodes the answer into the declared return type
(``conveyor.client.wire``). Small JSON calls go over per-thread keep-alive
``http.client`` connections (``_keepalive``); streaming uses one ``httpx.Client``.
Server errors come back as the same typed exceptions; an unreachable server is
``StoreUnavailable`` naming the URL.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import orjson

from conveyor.client._keepalive import KeepAliveJson, TransportFailure
from conveyor.client.wire import encode, json_dumps
from conveyor.errors import (
    ConveyorError,
    Overloaded,
    StoreUnavailable,
    ValidationFailed,
    error_from_payload,
)

if TYPE_CHECKING:
    from conveyor.client.op import Op

__all__ = ["API_PREFIX", "PROJECT_HEADER", "HttpTransport", "path_segment"]

API_PREFIX = "/api/v1"
#: The header naming the project a request acts in (absent: ``default``).
PROJECT_HEADER = "X-Conveyor-Project"
OVERLOADED_RETRIES = 5


def path_segment(value: Any, what: str, *, keep_slash: bool = False) -> str:
    """One URL path value (ids, names, versions), percent-encoded."""
    if keep_slash:
        if not isinstance(value, str) or not value.strip("/"):
            raise ValidationFailed(f"{what} must be a non-empty string")
        return quote(value, safe="/")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValidationFailed(f"{what} must be a non-empty string")
    return quote(str(value), safe="")


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class HttpTransport:
    """Operations through the REST API of the server at ``url``."""

    kind = "http"

    def __init__(
        self,
        url: str,
        token: str = "",
        timeout: float = 60.0,
        *,
        project: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValidationFailed(f"server URL must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "conveyor-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if project:
            headers[PROJECT_HEADER] = project
        self.client = httpx.Client(
            base_url=self.url + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_keepalive_connections=16, keepalive_expiry=30.0),
            transport=transport,
        )
        # Small JSON calls take the lean path, unless a custom transport is in play.
        self._json = (
            None
            if transport is not None
            else KeepAliveJson(self.url + API_PREFIX, headers, timeout)
        )

    @property
    def location(self) -> str:
        return self.url

    def close(self) -> None:
        self.client.close()
        if self._json is not None:
            self._json.close()

    # -- the table -----------------------------------------------------------------------
    def invoke(self, op: Op[Any, Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if op.http is not None:
            return op.http(self, *args, **kwargs)
        from conveyor.client.wire import decode

        bound = op.signature.bind(*args, **kwargs)
        values = dict(bound.arguments)
        path = op.path
        for name, keep_slash in op.path_params.items():
            value = values.pop(name, None)
            if value is None and op.none_as is not None:
                value = op.none_as
            segment = path_segment(value, name.replace("_", " "), keep_slash=keep_slash)
            path = path.replace("{" + name + (":path}" if keep_slash else "}"), segment)
        if op.method == "GET":
            params = {k: _query_value(v) for k, v in values.items() if v is not None}
            data = self.call("GET", path, params=params or None)
        else:
            names = op.wire_names
            body = {names.get(k, k): encode(v) for k, v in values.items()}
            data = self.call(op.method, path, body)
        if op.key is not None:
            data = data[op.key]
        return decode(op.returns, data)

    # -- plumbing (also used by the hand-written calls) ----------------------------------
    def unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"cannot reach the Conveyor server at {self.url} ({type(exc).__name__}: {exc}). "
            "Check that `conveyor server` is running there and that CONVEYOR_URI points to it.",
            details={"url": self.url},
        )

    def raise_for(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise self.error(response.status_code, response.content)

    @staticmethod
    def error(status: int, content: bytes) -> ConveyorError:
        try:
            payload = orjson.loads(content)
        except orjson.JSONDecodeError:
            payload = content[:300].decode("utf-8", "replace")
        return error_from_payload(payload, status)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
    ) -> Any:
        """One JSON request; the parsed answer, or the server's error raised.

        A 503 ``overloaded`` (too many large batches in flight; nothing was read) is
        retried after the server's Retry-After, up to ``OVERLOADED_RETRIES`` times.
        """
        content = raw if raw is not None else (None if body is None else json_dumps(body))
        for _ in range(OVERLOADED_RETRIES):
            try:
                return self._call_once(method, path, content, params)
            except Overloaded as exc:
                time.sleep(min(float(exc.details.get("retry_after", 1)), 10.0))
        return self._call_once(method, path, content, params)

    def _call_once(
        self, method: str, path: str, content: bytes | None, params: dict[str, Any] | None
    ) -> Any:
        if self._json is not None:
            try:
                status, data = self._json.request(method, path, content, params)
            except TransportFailure as exc:
                raise self.unavailable(exc) from exc
        else:
            headers = {"Content-Type": "application/json"} if content is not None else None
            try:
                response = self.client.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                raise self.unavailable(exc) from exc
            status, data = response.status_code, response.content
        if status >= 400:
            raise self.error(status, data)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ConveyorError(
                f"the server at {self.url} answered {method} {path} with a body that is not "
                "JSON; is this URL a Conveyor server?"
            ) from exc
