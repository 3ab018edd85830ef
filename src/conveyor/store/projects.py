"""The current project: which project a call's objects are created in and looked up in.

Every operation acts in one project: the actor's (``Actor.project``: ``CONVEYOR_PROJECT``
for the SDK and CLI, the ``X-Conveyor-Project`` header on a server, default ``default``).
``LocalTransport.invoke`` (and the MLflow adapter) enter :func:`project_scope` around the
service call, which resolves the name to the project's id once per process and store (a
cached dict lookup afterwards: projects are never renamed or deleted) and puts the id in a
context variable. Services read it with :func:`current_project_id` instead of taking a
parameter; functions that do take ``project_id`` get it filled by
:func:`in_current_project`. Outside any scope (direct service calls) the current project
is ``default``; background jobs enter each project in turn (:func:`each_project`).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.errors import NotFound
from conveyor.store.dialect import insert_if_absent
from conveyor.store.tables import DEFAULT_PROJECT_ID, experiments, projects, runs

__all__ = [
    "DEFAULT_PROJECT_NAME",
    "current_project_id",
    "current_project_name",
    "each_project",
    "in_current_project",
    "in_project",
    "insert_named",
    "project_names",
    "project_scope",
    "resolve_project_id",
    "run_in_project",
]

if TYPE_CHECKING:
    from conveyor.store.uow import UnitOfWork

DEFAULT_PROJECT_NAME = "default"

P = ParamSpec("P")
R = TypeVar("R")

#: (id, name) of the project the running operation acts in
_current: ContextVar[tuple[str, str]] = ContextVar(
    "conveyor_project", default=(DEFAULT_PROJECT_ID, DEFAULT_PROJECT_NAME)
)
#: engine -> {project name: id}; only projects that exist are cached.
_ids: weakref.WeakKeyDictionary[sa.Engine, dict[str, str]] = weakref.WeakKeyDictionary()


def current_project_id() -> str:
    """The id of the project the running operation acts in (``default`` outside one)."""
    return _current.get()[0]


def current_project_name() -> str:
    """The name of the project the running operation acts in."""
    return _current.get()[1]


def in_project() -> str:
    """`` in project 'NAME'`` for messages about objects not found, empty for ``default``
    (so messages in the default project read as they always did)."""
    name = _current.get()[1]
    return "" if name == DEFAULT_PROJECT_NAME else f" in project {name!r}"


def insert_named(
    uow: UnitOfWork, table: sa.Table, kind: str, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """Insert and audit (``<kind>.create``) a row named uniquely in the current project,
    unless the name is taken (race-safe): the row with its new id and times, or None."""
    now = now_ms()
    row = {"id": new_id(), "project_id": current_project_id(), **fields}
    row.update(created_at=now, updated_at=now)
    if not insert_if_absent(uow.conn, table, row, [table.c.project_id, table.c.name]):
        return None
    uow.audit(f"{kind}.create", kind, row["id"], row)
    return row


def project_names(conn: sa.Connection) -> list[str]:
    """Every project's name, sorted."""
    return list(conn.execute(sa.select(projects.c.name).order_by(projects.c.name)).scalars())


def resolve_project_id(
    conn: sa.Connection, name: str, *, visible: Callable[[str], bool] | None = None
) -> str:
    """The id of project ``name``; NotFound listing the projects (those ``visible`` to the
    caller, when given) if there is none."""
    if name == DEFAULT_PROJECT_NAME:
        return DEFAULT_PROJECT_ID
    cache = _ids.setdefault(conn.engine, {})
    found = cache.get(name)
    if found is None:
        found = conn.execute(sa.select(projects.c.id).where(projects.c.name == name)).scalar()
        if found is None:
            names = [n for n in project_names(conn) if visible is None or visible(n)]
            raise NotFound(
                f"no project {name!r}; the projects you can use are: {', '.join(names) or '-'} "
                "(CONVEYOR_PROJECT or the X-Conveyor-Project header picks one; an admin "
                "creates one with `conveyor projects create NAME`)",
                details={"project": name, "projects": names},
            )
        cache[name] = found = str(found)
    return found


@contextmanager
def project_scope(engine: sa.Engine, name: str) -> Iterator[str]:
    """Act in project ``name`` (its id is the current project) until the block ends."""
    if name == DEFAULT_PROJECT_NAME:
        project_id = DEFAULT_PROJECT_ID
    else:
        project_id = _ids.get(engine, {}).get(name) or _lookup(engine, name)
    token = _current.set((project_id, name))
    try:
        yield project_id
    finally:
        _current.reset(token)


def each_project(engine: sa.Engine, fn: Callable[[], list[R]]) -> list[R]:
    """``fn()`` once in every project, the results in one list: background jobs (the
    monitor scheduler, the trigger and rollout controllers) act on every project's
    objects, not only on ``default``'s."""
    with engine.connect() as conn:
        names = project_names(conn)
    out: list[R] = []
    for name in names:
        with project_scope(engine, name):
            out.extend(fn())
    return out


def _lookup(engine: sa.Engine, name: str) -> str:
    with engine.connect() as conn:
        return resolve_project_id(conn, name)


def run_in_project(project: Any) -> sa.Exists:
    """The condition that a run's experiment is in ``project`` (an id or a bind parameter):
    a run is visible only in its experiment's project; an id from elsewhere is not found."""
    return (
        sa.select(experiments.c.id)
        .where(experiments.c.id == runs.c.experiment_id, experiments.c.project_id == project)
        .exists()
    )


def in_current_project(fn: Callable[P, R]) -> Callable[P, R]:
    """Fill a service's keyword ``project_id`` with the current project when not given.

    (``project_id`` is never a wire parameter: ``Op.signature`` leaves it out, so a REST or
    SDK caller cannot reach another project through it.)
    """

    @functools.wraps(fn)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("project_id", _current.get()[0])
        return fn(*args, **kwargs)

    return scoped
