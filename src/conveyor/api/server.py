"""Run the API under uvicorn (``conveyor server`` calls ``run``)."""

from __future__ import annotations

import uvicorn

__all__ = ["run"]

APP_FACTORY = "conveyor.api.app:create_app"


def run(
    host: str = "127.0.0.1", port: int = 5050, workers: int = 1, log_level: str = "info"
) -> None:
    """Serve the API; each worker process builds its app from the settings (CONVEYOR_*)."""
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
