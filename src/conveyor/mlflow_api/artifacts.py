"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts``) over Conveyor's run artifacts.

Proxy paths name what they belong to: ``<exp>/<run_id>/artifacts/<path>`` is a run's
artifact; ``<exp>/models/<model_id>/artifacts/<path>`` a logged model's file, stored as
``logged-models/<model_id>/<path>`` of the model's run. Uploads stream into the
content-addressed store (sha256) like every Conveyor artifact; downloads are verified.
Multipart uploads answer 501 so the stock client falls back to a single PUT.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from conveyor.api.routers.artifacts import _pull, _stream_blob
from conveyor.backend.local import LocalBackend
from conveyor.errors import ConveyorError, NotFound
from conveyor.mlflow_api._handlers import acting_backend
from conveyor.mlflow_api._wire import MlflowError, from_conveyor
from conveyor.tracking import logged_models
from conveyor.tracking.logged_models import LOGGED_MODEL_PREFIX

__all__ = ["ARTIFACTS_PREFIX", "list_dir", "resolve", "router"]

ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts"

router = APIRouter(prefix=ARTIFACTS_PREFIX, include_in_schema=False)


def resolve(backend: LocalBackend, proxy_path: str) -> tuple[str, str]:
    """(run id, run-relative artifact prefix) of a proxy path; the prefix may be ''."""
    parts = [p for p in proxy_path.strip("/").split("/") if p]
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        with backend.read() as conn:
            model = logged_models.get_logged_model(conn, parts[2])
        return model.run_id, "/".join([LOGGED_MODEL_PREFIX, model.id, *parts[4:]])
    if len(parts) >= 3 and parts[2] == "artifacts":
        return parts[1], "/".join(parts[3:])
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        f"artifact path {proxy_path!r} names no run or logged model of this server: expected "
        "<experiment_id>/<run_id>/artifacts/<path> or <experiment_id>/models/<model_id>/"
        "artifacts/<path>",
    )


def list_dir(
    entries: list[dict[str, Any]], path: str, *, hide_models: bool = False, full: bool = True
) -> list[dict[str, Any]]:
    """The files and folders directly under ``path`` of stored ``entries`` (MLflow
    ``FileInfo``: path, is_dir, file_size). ``full``: paths relative to the root (the
    runs API) rather than names (the proxy). ``hide_models``: leave out logged models' files."""
    base = f"{path}/" if path else ""
    children: dict[str, dict[str, Any]] = {}
    for entry in entries:
        rel = str(entry["path"])
        if hide_models and rel.startswith(f"{LOGGED_MODEL_PREFIX}/"):
            continue
        if not rel.startswith(base):
            continue
        name, sep, _ = rel[len(base) :].partition("/")
        shown = f"{base}{name}" if full else name
        if sep:
            children.setdefault(name, {"path": shown, "is_dir": True})
        else:
            children[name] = {"path": shown, "is_dir": False, "file_size": entry["size"]}
    return [children[k] for k in sorted(children)]


def _error(exc: MlflowError) -> Response:
    from conveyor.api._responses import OrjsonResponse

    return OrjsonResponse(exc.body(), status_code=exc.status)


@router.get("/artifacts")
async def list_artifacts(request: Request) -> Response:
    path = request.query_params.get("path", "").strip("/")

    def work() -> dict[str, Any]:
        backend = acting_backend(request)
        run_id, prefix = resolve(backend, path)
        entries = backend.list_artifacts(run_id)
        files = list_dir(
            entries, prefix, hide_models=not prefix.startswith(LOGGED_MODEL_PREFIX), full=False
        )
        return {"files": files}

    try:
        return _json(await run_in_threadpool(work))
    except MlflowError as exc:
        return _error(exc)
    except ConveyorError as exc:
        return _error(from_conveyor(exc))


def _json(data: dict[str, Any]) -> Response:
    from conveyor.api._responses import OrjsonResponse

    return OrjsonResponse(data)


@router.put("/artifacts/{path:path}")
async def upload(path: str, request: Request) -> Response:
    try:
        backend = await run_in_threadpool(acting_backend, request)
        run_id, rel = await run_in_threadpool(resolve, backend, path)
        if not rel:
            raise MlflowError("INVALID_PARAMETER_VALUE", "an artifact upload needs a file path")
        await run_in_threadpool(backend.get_run, run_id)
        import anyio.to_thread

        await anyio.to_thread.run_sync(
            backend.upload_artifact, run_id, rel, _pull(request.stream())
        )
    except MlflowError as exc:
        return _error(exc)
    except ConveyorError as exc:
        return _error(from_conveyor(exc))
    return _json({})


@router.get("/artifacts/{path:path}")
async def download(path: str, request: Request) -> Response:
    try:
        backend = await run_in_threadpool(acting_backend, request)
        run_id, rel = await run_in_threadpool(resolve, backend, path)
        entry = await run_in_threadpool(backend.artifact_entry, run_id, rel)
        response: StreamingResponse = await _stream_blob(
            backend, entry["sha256"], filename=rel.rsplit("/")[-1]
        )
        return response
    except MlflowError as exc:
        return _error(exc)
    except NotFound as exc:
        return _error(from_conveyor(exc))
    except ConveyorError as exc:
        return _error(from_conveyor(exc))


@router.delete("/artifacts/{path:path}")
async def delete(path: str, request: Request) -> Response:
    try:
        await run_in_threadpool(acting_backend, request)
    except MlflowError as exc:
        return _error(exc)
    return _error(
        MlflowError(
            "INVALID_PARAMETER_VALUE",
            "artifacts are immutable once written in Conveyor and cannot be deleted",
        )
    )


@router.api_route("/mpu/{action}/{path:path}", methods=["POST"])
async def multipart(action: str, path: str, request: Request) -> Response:
    try:
        await run_in_threadpool(acting_backend, request)
    except MlflowError as exc:
        return _error(exc)
    return _error(
        MlflowError(
            "NOT_IMPLEMENTED",
            "multipart upload is not supported by this server; upload the file in one PUT",
        )
    )
