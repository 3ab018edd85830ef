"""Experiments: create, get-or-create, list, get by id or name."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import OrjsonResponse
from conveyor.api.deps import ActingBackend
from conveyor.api.routers._models import Body

router = APIRouter(prefix="/experiments", tags=["experiments"])


class CreateExperiment(Body):
    name: str
    description: str = ""
    tags: dict[str, str] | None = None


class GetOrCreateExperiment(Body):
    name: str


@router.post("", status_code=201, summary="Create an experiment")
async def create_experiment(body: CreateExperiment, backend: ActingBackend) -> OrjsonResponse:
    exp = await run_in_threadpool(backend.create_experiment, body.name, body.description, body.tags)
    return OrjsonResponse(exp.to_dict(), status_code=201)


@router.post("/get-or-create", summary="Get an experiment by name, creating it if absent")
async def get_or_create(body: GetOrCreateExperiment, backend: ActingBackend) -> OrjsonResponse:
    exp = await run_in_threadpool(backend.get_or_create_experiment, body.name)
    return OrjsonResponse(exp.to_dict())


@router.get("", summary="List experiments")
async def list_experiments(backend: ActingBackend) -> OrjsonResponse:
    exps = await run_in_threadpool(backend.list_experiments)
    return OrjsonResponse({"experiments": [e.to_dict() for e in exps]})


@router.get("/{id_or_name:path}", summary="Get an experiment by id or name")
async def get_experiment(id_or_name: str, backend: ActingBackend) -> OrjsonResponse:
    exp = await run_in_threadpool(backend.get_experiment, id_or_name)
    return OrjsonResponse(exp.to_dict())
