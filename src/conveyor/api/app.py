"""The REST API application: ``create_app()`` serves a LocalBackend under ``/api/v1``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import Scope

from conveyor.api._errors import ERROR_RESPONSES, ErrorMiddleware, install_error_handlers
from conveyor.api._operations import operations_router
from conveyor.api._responses import OrjsonResponse
from conveyor.api.auth import ApiAuth, auth_from_settings
from conveyor.api.docs import install_docs
from conveyor.api.limits import CancelOnDisconnect, IngestLimit, route_matcher
from conveyor.api.routers import artifacts, datasets, health, runs
from conveyor.backend.local import LocalBackend
from conveyor.client import Client
from conveyor.config import Settings, get_settings

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"

_ARTIFACT_UPLOAD = re.compile(r"^/api/v1/runs/[^/]+/artifacts/.+")
_DATASET_UPLOAD = re.compile(r"^/api/v1/datasets/.+/versions$")
_MLFLOW_UPLOAD = re.compile(r"^/api/2.0/mlflow-artifacts/artifacts/.+")


def _is_upload(scope: Scope) -> bool:
    """Artifact and dataset uploads stream to disk; the JSON body limit does not apply."""
    method, path = scope.get("method"), scope.get("path", "")
    if method == "PUT":
        return bool(_ARTIFACT_UPLOAD.match(path) or _MLFLOW_UPLOAD.match(path))
    return method == "POST" and bool(_DATASET_UPLOAD.match(path))


SERVING_PREFIX = "/serving"


def create_app(
    backend: LocalBackend | None = None,
    *,
    settings: Settings | None = None,
    auth: str | ApiAuth | None = None,
) -> FastAPI:
    """The API over ``backend`` (default: the stores named by the settings).

    ``auth``: ``"tokens"`` (bearer tokens required; OIDC JWTs too when ``oidc_issuer`` is
    set) or ``"insecure-local"`` (no authentication, loopback clients only); default the
    ``auth`` setting (``CONVEYOR_AUTH``). See ``conveyor.api.auth``.
    """
    settings = settings or get_settings()
    api_auth = auth if isinstance(auth, ApiAuth) else auth_from_settings(settings, auth)
    owned = backend is None
    backend = backend or LocalBackend.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from conveyor.artifacts.janitor import start_staging_janitor

        max_age = float(settings.staging_max_age_s)
        janitor = await asyncio.to_thread(start_staging_janitor, backend.artifacts, max_age)
        yield
        await asyncio.to_thread(janitor.stop)
        await inference.shutdown()  # flushes the prediction log
        if owned:  # a backend passed in belongs to the caller
            backend.meta.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="Conveyor",
        summary="Tracking, artifacts, datasets, registry, deployments and audit API of Conveyor "
        "(MLOps).",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # install_docs serves it without a CDN
        redoc_url=None,
        default_response_class=OrjsonResponse,
        strict_content_type=False,  # clients that omit Content-Type still send JSON
    )
    app.state.backend = backend
    app.state.settings = settings
    app.state.auth = api_auth
    install_error_handlers(app)
    install_docs(
        app,
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        title=app.title,
    )
    max_body = int(float(settings.max_request_mb) * (1 << 20))
    app.add_middleware(
        IngestLimit,
        applies=route_matcher("POST", rf"^{API_PREFIX}/runs/[^/]+/(log-batch|end)$"),
        max_bytes=int(float(settings.log_batch_max_mb) * (1 << 20)),
        max_large=int(settings.log_batch_large_in_flight),
    )
    app.add_middleware(
        CancelOnDisconnect, applies=route_matcher("POST", rf"^{API_PREFIX}/runs/search$")
    )
    app.add_middleware(ErrorMiddleware, max_body=max_body, exempt=_is_upload)  # outermost

    api = APIRouter(prefix=API_PREFIX)
    for module in (health, runs, artifacts, datasets):  # hand-written routes
        router: Any = module.router
        api.include_router(router)
    api.include_router(operations_router(Client))  # the operation table's routes
    app.include_router(api, responses=ERROR_RESPONSES)

    from conveyor.mlflow_api import install_mlflow_api

    install_mlflow_api(app)  # MLflow's REST API, an adapter over the same services

    # Deployed endpoints answer under /serving (v2 protocol, /invocations, /feedback):
    # the same runtime as `conveyor serve`, started on its first request.
    from conveyor.deployments.runtime import mount_endpoints
    from conveyor.governance.inference_keys import load_inference_keys
    from conveyor.serving import PredictionLog

    inference = mount_endpoints(
        app,
        backend,
        path=SERVING_PREFIX,
        prediction_log=PredictionLog(settings.resolved_prediction_log_uri),
        inference_keys=load_inference_keys(settings.inference_keys_file),
    )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_at_root() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/openapi.json")

    from conveyor.ui import install_ui

    install_ui(app)  # the web UI at / — keep last: it answers what no other route did
    return app
