"""What every MLflow handler shares: its type, the acting backend, a write transaction,
Conveyor errors mapped to MLflow's, and the small ``field op value AND ...`` filters of the
registry and experiment searches (run searches use :mod:`conveyor.tracking.mlflow_filter`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from conveyor.backend.local import LocalBackend
from conveyor.errors import ConveyorError
from conveyor.mlflow_api._wire import MlflowError, from_conveyor
from conveyor.store.projects import project_scope

__all__ = ["Handler", "acting_backend", "filter_clauses", "guarded", "matches", "write"]

Handler = Callable[[LocalBackend, dict[str, Any]], dict[str, Any]]


def acting_backend(request: Request) -> LocalBackend:
    """The app's backend acting as the request's actor; a missing or bad token (or a
    refused client) raises MLflow's UNAUTHENTICATED / PERMISSION_DENIED error."""
    from conveyor.api.auth import current_actor
    from conveyor.api.deps import get_backend

    try:
        return get_backend(request, current_actor(request))
    except ConveyorError as exc:
        raise from_conveyor(exc) from None


def write(backend: LocalBackend, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run the service ``fn(uow, *args, **kwargs)`` in one write transaction."""
    with backend.write() as uow:
        return fn(uow, *args, **kwargs)


def guarded(routes: dict[tuple[str, str], Handler]) -> dict[tuple[str, str], Handler]:
    """The handlers, run in the request's project, with Conveyor errors answered as
    MLflow's."""

    def guard(fn: Handler) -> Handler:
        def wrapped(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
            try:
                with project_scope(backend.meta.engine, backend.actor.project):
                    return fn(backend, body)
            except ConveyorError as exc:
                raise from_conveyor(exc) from None

        return wrapped

    return {key: guard(fn) for key, fn in routes.items()}


def filter_clauses(text: Any, fields: tuple[str, ...]) -> list[tuple[str, str, Any]]:
    """``name = 'x' and tags.k != 'y'`` → [(field, op, value)] over ``fields`` and
    ``tags.<key>`` (``attributes.`` prefixes dropped); INVALID_PARAMETER_VALUE otherwise."""
    from conveyor.tracking.search import _Parser

    if not text:
        return []
    parser = _Parser(str(text))
    out: list[tuple[str, str, Any]] = []
    while parser.peek() is not None:
        field = parser.take()[1].strip("`\"'")
        if parser.peek() == ("punct", "."):
            parser.i += 1
            key = parser.take()[1].strip("`\"'")
            if field.lower() in ("tag", "tags"):
                field = f"tags.{key}"
            elif field.lower() in ("attribute", "attributes"):
                field = key
            else:
                field = f"{field}.{key}"
        if field not in fields and not field.startswith("tags."):
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"Invalid filter string '{text}': filter on {', '.join(fields)} or tags.<key>",
            )
        op = parser.op()
        out.append((field, op, parser.value(op)))
        tok = parser.peek()
        if tok is not None:
            if tok[1].lower() != "and":
                raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid filter string '{text}'")
            parser.i += 1
    return out


def matches(got: Any, op: str, value: Any) -> bool:
    """Whether a stored value passes one clause (SQL LIKE patterns, IN lists, numbers)."""
    if got is None:  # an absent tag differs from every value
        return op in ("!=", "not in")
    if op in ("like", "ilike"):
        pattern = str(value).replace("%", "*").replace("_", "?")
        if op == "ilike":
            return fnmatch.fnmatchcase(str(got).lower(), pattern.lower())
        return fnmatch.fnmatchcase(str(got), pattern)
    if op in ("in", "not in"):
        return (str(got) in [str(v) for v in value]) == (op == "in")
    if isinstance(value, int | float) and isinstance(got, int | float):
        return {
            "=": got == value,
            "!=": got != value,
            ">": got > value,
            ">=": got >= value,
            "<": got < value,
            "<=": got <= value,
        }[op]
    if op in ("=", "!="):
        return (str(got) == str(value)) == (op == "=")
    raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid comparator '{op}' in the filter")
