"""Small JSON requests over keep-alive ``http.client`` connections, one per thread.

The SDK's per-run calls (create, end, log-batch) are tiny; a general-purpose client
spends more CPU per request than the server spends storing the run (about 0.8 ms
against 0.2 ms here). Streaming transfers keep using httpx.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from urllib.parse import urlencode, urlsplit

__all__ = ["KeepAliveJson", "TransportFailure"]


class TransportFailure(Exception):
    """The request could not be sent or its answer could not be read."""


class KeepAliveJson:
    """``request(method, path, body) -> (status, bytes)`` against one base URL."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = {**headers, "Connection": "keep-alive"}
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and not _is_readable(conn.sock):
            return conn, True
        if conn is not None:  # closed by the server while idle (or never opened)
            conn.close()
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        self._local.conn = conn
        return conn, False

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        params: dict[str, object] | None = None,
    ) -> tuple[int, bytes]:
        url = self.prefix + path
        if params:
            query = {k: v for k, v in params.items() if v is not None}
            if query:
                url += "?" + urlencode(query, doseq=True)
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn, reused = self._connection()
        try:
            conn.request(method, url, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            self._local.conn = None
            if reused and isinstance(
                exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError
            ):
                # the server closed the idle connection as we sent (its keep-alive timeout):
                # it never read this request, so a fresh connection may send it again
                return self.request(method, path, body, params)
            raise TransportFailure(f"{type(exc).__name__}: {exc}") from exc
        if response.will_close:
            conn.close()
            self._local.conn = None
        return response.status, data

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _is_readable(sock: socket.socket) -> bool:
    """An idle keep-alive socket is readable only when the server closed it."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
