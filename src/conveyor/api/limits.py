"""Request bounds as ASGI middleware: metric-ingest bodies, and cancelling abandoned searches.

``IngestLimit`` guards the routes that take a metric batch (``log-batch`` and ``end``):

- a body over ``max_bytes`` answers 413 (before reading it when Content-Length says so);
- a *large* body (over ``LARGE_BYTES``) needs one of ``max_large`` slots while it is read,
  parsed and written; when all are taken it answers 503 ``overloaded`` with
  ``Retry-After`` at once, before reading the body. Small bodies are never refused.

So the memory that batch bodies can take at once is bounded by
``max_large * max_bytes * EXPANSION`` plus the small ones (see docs/api.md, "Limits").
The counter is per server process (each uvicorn worker has its own).

``CancelOnDisconnect`` reads a small JSON body itself, then runs the route under
:func:`conveyor.store.timeouts.cancellable` while it watches the connection: when the
client goes away, the route's database statements are cancelled instead of running on
for nobody.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.api._errors import _content_length, error_response
from conveyor.errors import Overloaded, PayloadTooLarge
from conveyor.store.timeouts import cancellable

__all__ = ["EXPANSION", "LARGE_BYTES", "CancelOnDisconnect", "IngestLimit", "route_matcher"]

LARGE_BYTES = 1 << 20
EXPANSION = 9  # measured: a batch body costs ~9x its size while parsed and written
RETRY_AFTER_S = 1


def route_matcher(method: str, pattern: str) -> Callable[[Scope], bool]:
    """A predicate on an ASGI scope: this method and a path matching ``pattern``."""
    compiled = re.compile(pattern)

    def matches(scope: Scope) -> bool:
        return scope.get("method") == method and bool(compiled.match(scope.get("path", "")))

    return matches


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class IngestLimit:
    """Bound the size of metric batches and how many large ones are in flight."""

    def __init__(
        self, app: ASGIApp, *, applies: Callable[[Scope], bool], max_bytes: int, max_large: int
    ) -> None:
        self.app = app
        self.applies = applies
        self.max_bytes = max_bytes
        self.max_large = max_large
        self.large_in_flight = 0  # touched only on the event loop thread

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        holding = False
        try:
            if length is not None and length > LARGE_BYTES:
                if not self._acquire():
                    await self._busy(scope, receive, send)
                    return
                holding = True
            chunks: list[bytes] = []
            seen = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
                if seen > LARGE_BYTES and not holding:  # a chunked body grew large
                    if not self._acquire():
                        await self._busy(scope, receive, send)
                        return
                    holding = True
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            del chunks
            await self.app(scope, _replay(body, receive), send)
        finally:
            if holding:
                self.large_in_flight -= 1

    def _acquire(self) -> bool:
        if self.large_in_flight >= self.max_large:
            return False
        self.large_in_flight += 1
        return True

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = Overloaded(
            f"the server is already taking {self.max_large} large metric batches (over "
            f"{LARGE_BYTES >> 20} MiB); retry in {RETRY_AFTER_S} s, or send smaller batches "
            "(CONVEYOR_LOG_BATCH_LARGE_IN_FLIGHT raises the limit on the server)",
            details={"retry_after": RETRY_AFTER_S, "max_large_in_flight": self.max_large},
        )
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        await response(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        mib = self.max_bytes / (1 << 20)
        exc = PayloadTooLarge(
            f"metric batch body is larger than the {mib:g} MiB limit; split it into smaller "
            "batches (the SDK sends a few thousand points per call) or raise "
            "CONVEYOR_LOG_BATCH_MAX_MB on the server",
            details={"limit_bytes": self.max_bytes},
        )
        await error_response(exc.status, exc.code, exc.message, exc.details)(scope, receive, send)


class CancelOnDisconnect:
    """Cancel a route's database statements when its client disconnects."""

    def __init__(self, app: ASGIApp, *, applies: Callable[[Scope], bool]) -> None:
        self.app = app
        self.applies = applies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:  # small bodies (the API's JSON limit applies outside this middleware)
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        gone = asyncio.Event()

        async def disconnected() -> Message:
            await gone.wait()
            return {"type": "http.disconnect"}

        with cancellable() as cancel_scope:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()
                await asyncio.to_thread(cancel_scope.cancel)  # PostgreSQL: a network call

            watcher = asyncio.ensure_future(watch())
            try:
                await self.app(scope, _replay(b"".join(chunks), disconnected), send)
            finally:
                watcher.cancel()
