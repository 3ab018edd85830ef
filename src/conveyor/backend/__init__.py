"""Backends: one client interface (``Backend``), two transports (embedded, HTTP).

``connect()`` picks the transport from ``CONVEYOR_URI`` (or the ``uri`` argument):
``http(s)://...`` talks to a server, anything else opens the embedded stores. One backend
is kept per configuration so repeated SDK calls reuse the database pool or HTTP
connections; ``reset_backends()`` closes them (tests, CLI).
"""

from __future__ import annotations

import threading

from conveyor.backend.http import HttpBackend
from conveyor.backend.local import LocalBackend
from conveyor.client import Client
from conveyor.config import Settings, get_settings

#: The type every transport offers (kept as a name for one release; use ``Client``).
Backend = Client

__all__ = ["Backend", "HttpBackend", "LocalBackend", "connect", "reset_backends"]

_lock = threading.Lock()
_cache: dict[tuple[object, ...], Client] = {}


def _key(uri: str, settings: Settings) -> tuple[object, ...]:
    if uri.startswith(("http://", "https://")):
        return ("http", uri.rstrip("/"), settings.token, settings.project, settings.http_timeout)
    return (
        "local",
        settings.resolved_db_url,
        settings.resolved_artifact_uri,
        settings.s3_endpoint_url,
        settings.project,
    )


def connect(uri: str | None = None, *, settings: Settings | None = None) -> Client:
    """The backend for ``uri`` (default ``settings.uri``): HTTP for http(s)://, else embedded."""
    settings = settings or get_settings()
    uri = uri if uri is not None else str(settings.uri or "")
    key = _key(uri, settings)
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            if key[0] == "http":
                from conveyor.client.credentials import token_for

                backend = HttpBackend(
                    uri,
                    token=settings.token or token_for(uri, settings),
                    timeout=settings.http_timeout,
                    project="" if settings.project == "default" else settings.project,
                )
            else:
                backend = LocalBackend.from_settings(settings)
            _cache[key] = backend
        return backend


def reset_backends() -> None:
    """Close and forget every cached backend (the next ``connect()`` opens new ones)."""
    with _lock:
        backends = list(_cache.values())
        _cache.clear()
    for backend in backends:
        backend.close()
