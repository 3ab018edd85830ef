"""The REST API (``/api/v1``): FastAPI routers, one per domain, over a LocalBackend."""

from conveyor.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
