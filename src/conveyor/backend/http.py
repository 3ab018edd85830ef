"""``HttpBackend``: the operation table over an ``HttpTransport`` (a Conveyor server).

Nothing here per operation: every operation is declared once in ``conveyor.client.Client``.

Usage::

    with HttpBackend("http://127.0.0.1:5050") as backend:
        run = backend.create_run(backend.get_or_create_experiment("demo").id, params={"lr": 0.1})
"""

from __future__ import annotations

from types import TracebackType

import httpx

from conveyor.client import Client
from conveyor.client._streaming import SHA256_HEADER
from conveyor.client.http import HttpTransport
from conveyor.client.wire import json_dumps

__all__ = ["SHA256_HEADER", "HttpBackend", "json_dumps"]


class HttpBackend(Client):
    """``Client(HttpTransport(url, token, timeout, project=...))``, usable as a context manager."""

    transport: HttpTransport

    def __init__(
        self,
        url: str,
        token: str = "",
        timeout: float = 60.0,
        *,
        project: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(HttpTransport(url, token, timeout, project=project, transport=transport))

    @property
    def url(self) -> str:
        return self.transport.url

    def __enter__(self) -> HttpBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
