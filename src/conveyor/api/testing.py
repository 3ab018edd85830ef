"""A real uvicorn server on a loopback port in a background thread (tests, notebooks).

Usage::

    with ServerThread(create_app(backend)) as server:
        client = HttpBackend(server.url)
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any, Literal

import uvicorn

__all__ = ["ServerThread"]


class _Server(uvicorn.Server):
    """uvicorn.Server that signals a threading.Event once it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class ServerThread:
    """Serve an ASGI app on 127.0.0.1:<free port> until the context exits."""

    def __init__(
        self,
        app: Any,
        *,
        start_timeout: float = 30.0,
        lifespan: Literal["auto", "on", "off"] = "off",
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan=lifespan, timeout_keep_alive=30
        )
        self.server = _Server(config)
        self.start_timeout = start_timeout
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        if not self.server.ready.wait(self.start_timeout):
            self.stop()
            raise RuntimeError(f"server on {self.url} did not start in {self.start_timeout}s")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(self.start_timeout)
        self.sock.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
