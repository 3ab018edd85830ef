"""Run the API under uvicorn (``conveyor server`` calls ``run``)."""

from __future__ import annotations

import errno
import socket

import uvicorn

from conveyor.errors import StoreUnavailable, ValidationFailed

__all__ = ["check_port", "run"]

APP_FACTORY = "conveyor.api.app:create_app"


def run(
    host: str = "127.0.0.1", port: int = 5050, workers: int = 1, log_level: str = "info"
) -> None:
    """Serve the API; each worker process builds its app from the settings (CONVEYOR_*)."""
    check_port(host, port)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
    )


def check_port(host: str, port: int) -> None:
    """Fail with a clear message when ``host:port`` cannot be bound (in use, bad address)."""
    if not 0 < port < 65536:
        raise ValidationFailed(f"port must be between 1 and 65535, got {port}")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StoreUnavailable(
                f"port {port} on {host} is already in use (another server?); "
                "stop it or pick another port with --port"
            ) from None
        raise ValidationFailed(f"cannot listen on {host}:{port}: {exc.strerror}") from None
