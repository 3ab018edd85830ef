"""The model registry: models, versions (by number, alias or 'latest'), aliases, tags.

Model names may contain '/', so the name is a ``path`` parameter and the more specific
routes (``.../versions/...``, ``.../aliases/...``) are declared before the bare name.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import OrjsonResponse
from conveyor.api.deps import ActingBackend
from conveyor.api.routers._models import Body

router = APIRouter(prefix="/models", tags=["models"])


class CreateModel(Body):
    name: str
    description: str = ""
    tags: dict[str, str] | None = None


class RegisterVersion(Body):
    source: str
    description: str = ""
    tags: dict[str, str] | None = None


class SetAlias(Body):
    version: int | str


class SetTag(Body):
    key: str
    value: str


class UpdateVersion(Body):
    description: str


@router.post("", status_code=201, summary="Create a registered model")
async def create_model(body: CreateModel, backend: ActingBackend) -> OrjsonResponse:
    model = await run_in_threadpool(backend.create_model, body.name, body.description, body.tags)
    return OrjsonResponse(model.to_dict(), status_code=201)


@router.get("", summary="Search registered models by name")
async def search_models(
    backend: ActingBackend, name_like: str = "", max_results: int = 1000
) -> OrjsonResponse:
    models = await run_in_threadpool(backend.search_models, name_like, max_results)
    return OrjsonResponse({"models": [m.to_dict() for m in models]})


@router.post(
    "/{name:path}/versions",
    status_code=201,
    summary="Register the model logged at a runs:/<run_id>/<path> source as the next version",
)
async def register_version(
    name: str, body: RegisterVersion, backend: ActingBackend
) -> OrjsonResponse:
    version = await run_in_threadpool(
        lambda: backend.register_model(
            name, body.source, description=body.description, tags=body.tags
        )
    )
    return OrjsonResponse(version.to_dict(), status_code=201)


@router.get("/{name:path}/versions", summary="List a model's versions")
async def list_versions(name: str, backend: ActingBackend) -> OrjsonResponse:
    versions = await run_in_threadpool(backend.list_model_versions, name)
    return OrjsonResponse({"versions": [v.to_dict() for v in versions]})


@router.get("/{name:path}/versions/{ref}", summary="Get a version by number, alias or 'latest'")
async def get_version(name: str, ref: str, backend: ActingBackend) -> OrjsonResponse:
    version = await run_in_threadpool(backend.get_model_version, name, ref)
    return OrjsonResponse(version.to_dict())


@router.patch("/{name:path}/versions/{version}", summary="Update a version's description")
async def update_version(
    name: str, version: str, body: UpdateVersion, backend: ActingBackend
) -> OrjsonResponse:
    mv = await run_in_threadpool(backend.update_model_version, name, version, body.description)
    return OrjsonResponse(mv.to_dict())


@router.put("/{name:path}/versions/{version}/tags", summary="Set a tag on a version")
async def set_version_tag(
    name: str, version: str, body: SetTag, backend: ActingBackend
) -> OrjsonResponse:
    mv = await run_in_threadpool(backend.set_model_version_tag, name, version, body.key, body.value)
    return OrjsonResponse(mv.to_dict())


@router.put("/{name:path}/aliases/{alias}", summary="Point an alias at a version")
async def set_alias(
    name: str, alias: str, body: SetAlias, backend: ActingBackend
) -> OrjsonResponse:
    mv = await run_in_threadpool(backend.set_alias, name, alias, body.version)
    return OrjsonResponse(mv.to_dict())


@router.delete("/{name:path}/aliases/{alias}", summary="Remove an alias")
async def delete_alias(name: str, alias: str, backend: ActingBackend) -> OrjsonResponse:
    await run_in_threadpool(backend.delete_alias, name, alias)
    return OrjsonResponse({"name": name, "alias": alias, "deleted": True})


@router.get("/{name:path}", summary="Get a registered model")
async def get_model(name: str, backend: ActingBackend) -> OrjsonResponse:
    model = await run_in_threadpool(backend.get_model, name)
    return OrjsonResponse(model.to_dict())
