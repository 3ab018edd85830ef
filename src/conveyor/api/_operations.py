"""The REST routes generated from the operation table (``conveyor.client.Client``).

For each ``Op`` with ``route=True``: its method and path; path parameters from the path
template; for GET the other parameters as the query, otherwise a JSON body whose pydantic
model is built from the service's signature (unknown fields rejected, defaults the
service's own); the response schema from the return type (``{key: ...}`` when the op
wraps its result). The handler decodes the wire types (``conveyor.client.wire``), runs
the op through the app's ``LocalTransport`` as the request's actor (its permission checked
first, before the body is validated), off the event loop,
and encodes the result with the shared codec. Routes are registered most specific
first, so ``/models/{name:path}/versions`` wins over ``/models/{name:path}``.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, create_model
from pydantic.fields import FieldInfo
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from conveyor._schema import END, INT64_MAX, JSON_INT_MAX, NUMBER, Rule
from conveyor.api._errors import owner_methods, shadowing_templates
from conveyor.api._responses import EncodedJsonResponse, OrjsonResponse
from conveyor.api.auth import authorized
from conveyor.client.op import Op
from conveyor.client.wire import decode_arg, encode, wire_hint
from conveyor.errors import ValidationFailed
from conveyor.governance.identity import Actor

__all__ = ["operations", "operations_router"]

_FORBID = ConfigDict(extra="forbid", populate_by_name=True)


def operations(client_cls: type) -> list[Op[Any, Any]]:
    """The table's operations, in declaration order."""
    seen: dict[str, Op[Any, Any]] = {}
    for cls in reversed(client_cls.__mro__):
        for name, value in vars(cls).items():
            if isinstance(value, Op):
                seen[name] = value
    return list(seen.values())


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _specificity(op: Op[Any, Any]) -> tuple[int, int]:
    segments = op.path.strip("/").split("/")
    literal = sum(1 for s in segments if not s.startswith("{"))
    return (-len(segments), -literal)


def _response_model(op: Op[Any, Any]) -> Any:
    returns = op.returns
    if returns is None or returns is type(None):
        return None
    if op.key is not None:
        fields: dict[str, Any] = {op.key: (returns, ...)}
        return create_model(f"{_camel(op.name)}Answer", **fields)
    return returns


def _endpoint(op: Op[Any, Any]) -> Any:
    hints = op.hints
    params: list[inspect.Parameter] = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter(
            "_actor",  # underscored: services may take an ``actor`` argument (audit filters)
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[Actor, Depends(authorized(op))],
        ),
    ]
    body_fields: dict[str, Any] = {}
    path_converters: dict[str, Any] = {}
    rules = op.rules
    for p in op.signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{op.name}: *args/**kwargs cannot travel over HTTP; name them")
        hint = wire_hint(hints.get(p.name, Any))
        default = ... if p.default is inspect.Parameter.empty else p.default
        rule = rules.get(p.name)
        schema = _documented_rule(rule, hints.get(p.name, Any))
        if p.name in op.path_params:
            schema = schema if rule else _path_rule(op, hints.get(p.name, Any))
            segment: Any = Annotated[str, Path(json_schema_extra=schema)]
            params.append(inspect.Parameter(p.name, p.KEYWORD_ONLY, annotation=segment))
            path_converters[p.name] = _path_converter(op, p.name, hints.get(p.name, Any))
        elif op.method == "GET":
            query: Any = Annotated[_strict(hint, _QueryInt, bool), Query(json_schema_extra=schema)]
            required = p.default is inspect.Parameter.empty  # not `...`: FastAPI would pass it
            params.append(
                inspect.Parameter(
                    p.name,
                    p.KEYWORD_ONLY,
                    annotation=query,
                    default=inspect.Parameter.empty if required else default,
                )
            )
        else:
            alias = op.wire_names.get(p.name)
            field = Field(default, alias=alias, json_schema_extra=schema)
            body_fields[p.name] = (_strict(hint), field)
    body_model: Any = None
    if body_fields:
        body_model = create_model(f"{_camel(op.name)}Body", __config__=_FORBID, **body_fields)
        required = any(_required(d) for _, d in body_fields.values())
        params.append(
            inspect.Parameter(
                "body",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=body_model,
                default=inspect.Parameter.empty if required else None,
            )
        )
    response_class = EncodedJsonResponse if _json_safe(op) else OrjsonResponse
    # A template also matches URLs that belong to a more concrete one (GET /runs/search is
    # not get_run("search"), GET /models/a/versions/1/tags not get_model("a/versions/1/
    # tags")): those answer 405 as the OpenAPI document says, not as the match would.
    # The few templates that can shadow this one are found once, at the first request.
    shadows: list[Any] | None = None if op.path_params else []
    greedy = any(op.path_params.values())

    async def endpoint(**values: Any) -> OrjsonResponse:
        nonlocal shadows
        request: Request = values.pop("request")
        actor: Actor = values.pop("_actor")
        if shadows is None:
            route, path = request.scope["route"].path_format, request.scope["path"]
            shadows = shadowing_templates(request.app, route, path, greedy=greedy)
        if shadows:
            owners = owner_methods(shadows, request.scope["path"])
            if owners and op.method not in owners:
                raise HTTPException(405)
        body = values.pop("body", None)
        kwargs = {
            k: path_converters[k](v) if k in path_converters else v for k, v in values.items()
        }
        if body is not None:
            for name, value in body.model_dump(exclude_unset=True).items():
                try:
                    kwargs[name] = decode_arg(hints.get(name, Any), value)
                except ValidationFailed as exc:
                    raise ValidationFailed(f"{name}: {exc.message}", details=exc.details) from None
        transport = request.app.state.backend.transport
        if transport.actor != actor:
            transport = transport.as_actor(actor)
        result = await run_in_threadpool(transport.invoke, op, (), kwargs)
        data = encode(result)
        if op.key is not None:
            data = {op.key: data}
        return response_class(data, status_code=op.status)

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = op.name
    return endpoint


def _same(value: Any) -> Any:
    return value


def _required(default: Any) -> bool:
    if isinstance(default, FieldInfo):
        return default.is_required()
    return default is ...


def _body_int(value: Any) -> Any:
    """An integer as JSON Schema means it (``3`` or ``3.0``, not ``true`` or ``"3"``), in
    the range the schema documents."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, got {value!r:.40}")
    return _int_range(value)


def _int_range(value: int) -> int:
    if not -JSON_INT_MAX <= value <= JSON_INT_MAX:
        raise ValueError(f"must be within ±{JSON_INT_MAX} (2^53 - 1), got {value}")
    return value


_BodyInt = Annotated[int, BeforeValidator(_body_int)]
_QueryInt = Annotated[int, AfterValidator(_int_range)]


def _strict(hint: Any, leaf_int: Any = _BodyInt, leaf_bool: Any = StrictBool) -> Any:
    """JSON booleans and integers as the schema says: no ``0`` for false, no ``false`` or
    ``1.5`` for an integer (pydantic's lax mode would take them), no integer past the
    documented range."""
    if hint is bool:
        return leaf_bool
    if hint is int:
        return leaf_int
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if not args or origin is None or origin is Annotated:
        return hint
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_strict(a, leaf_int, leaf_bool) for a in args)]  # noqa: UP007
    if origin in (list, dict, tuple):
        try:
            return origin[tuple(_strict(a, leaf_int, leaf_bool) for a in args)]
        except TypeError:
            return hint
    return hint


def _int_options(hint: Any) -> bool:
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return options == [int]


def _documented_rule(rule: Rule | None, hint: Any) -> dict[str, Any] | None:
    """The schema keywords of a parameter: its declared rule; integers the JSON range."""
    if rule is not None:
        return dict(rule.keywords)
    if _int_options(hint):
        return {"minimum": -JSON_INT_MAX, "maximum": JSON_INT_MAX}
    return None


def _path_rule(op: Op[Any, Any], hint: Any) -> dict[str, Any] | None:
    """Integer path segments: a positive number of at most 18 digits (or ``none_as``)."""
    if not _int_options(hint):
        return None
    pattern = f"^({op.none_as}|{NUMBER}){END}" if op.none_as else f"^{NUMBER}{END}"
    return {"pattern": pattern}


def _path_converter(op: Op[Any, Any], name: str, hint: Any) -> Any:
    """Path segments arrive as text: ``none_as`` means None, an int parameter is parsed."""
    as_int = _int_options(hint)
    none_as = op.none_as

    def convert(value: str) -> Any:
        if none_as is not None and value == none_as:
            return None
        if not as_int:
            return value
        if value.isdigit() and 0 < int(value) <= INT64_MAX:
            return int(value)
        also = f" or {none_as!r}" if none_as is not None else ""
        raise ValidationFailed(f"{name} must be a number ≥ 1{also}, got {value!r}")

    return convert


def _json_safe(op: Op[Any, Any]) -> bool:
    """Results whose ``to_dict()`` encodes non-finite floats already (runs, metric points):
    the response skips the non-finite walk, which dominates large search answers."""
    from conveyor.tracking.entities import MetricPoint, Run

    returns = op.returns
    inner = typing.get_args(returns)[0] if typing.get_origin(returns) is list else returns
    return inner in (Run, MetricPoint)


def operations_router(client_cls: type) -> APIRouter:
    """One APIRouter with a route per generated operation of ``client_cls``'s table."""
    router = APIRouter()
    for op in sorted((o for o in operations(client_cls) if o.route), key=_specificity):
        tag = op.path.strip("/").split("/", 1)[0] or "api"
        try:
            response_model = _response_model(op)
        except Exception:  # a return type pydantic cannot describe: no schema
            response_model = None
        kwargs: dict[str, Any] = {
            "methods": [op.method],
            "status_code": op.status,
            "summary": op.summary,
            "name": op.name,
            "tags": [tag],
            "operation_id": op.name,
        }
        try:
            router.add_api_route(op.path, _endpoint(op), response_model=response_model, **kwargs)
        except Exception:
            router.add_api_route(op.path, _endpoint(op), response_model=None, **kwargs)
    return router
