"""``Op``: one declared operation — its service function, HTTP method and path, transaction.

An ``Op`` is a descriptor on :class:`conveyor.client.Client`: ``client.get_model("churn")``
calls ``client.transport.invoke(op, ("churn",), {})``. Its type is the service function's
signature minus the first parameter (the read connection, unit of work or ``Stores`` the
local transport passes), so mypy checks every call against the service itself::

    get_model = Op(registry.get_model, "GET", "/models/{name:path}")
    # service: get_model(conn, name: str) -> Model;  client: get_model(name: str) -> Model

``tx`` says what the local transport opens: ``"read"`` (a read connection), ``"write"``
(a unit of work as the actor; post-commit events dispatched after it commits) or
``"stores"`` (the ``Stores`` themselves, for operations that open their own transactions
around artifact I/O or compilation).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, ParamSpec, TypeVar, overload

from conveyor._schema import Rule, rule_of

if TYPE_CHECKING:
    from conveyor.client.transport import Transport

__all__ = ["Op", "Tx"]

P = ParamSpec("P")
R = TypeVar("R")

Tx = Literal["read", "write", "stores"]

_PATH_PARAM = re.compile(r"{(\w+)(:path)?}")


class Op(Generic[P, R]):
    """One operation of the table (see the module docstring).

    - ``status``: the HTTP status of a success (201 for creations);
    - ``key``: the JSON answer wraps the result as ``{key: result}`` (lists);
    - ``permission``: what governance will check (``"<area>:read"`` / ``"<area>:write"``);
    - ``http``: a hand-written client call for the HTTP transport (streaming, uploads),
      used instead of binding the signature to path and body;
    - ``route``: False when the server route is hand-written in ``conveyor.api`` (the
      generated router skips it; the path still documents where it lives);
    - ``none_as``: the path segment that stands for a path parameter left at None
      (``"latest"``, ``"current"``);
    - ``wire_names``: JSON field names that differ from the parameter names (kept for
      REST clients: ``{"filter_string": "filter"}``).
    """

    name: str

    def __init__(
        self,
        fn: Callable[Concatenate[Any, P], R],
        method: str,
        path: str,
        *,
        tx: Tx = "read",
        status: int = 200,
        key: str | None = None,
        permission: str | None = None,
        http: Callable[..., Any] | None = None,
        route: bool = True,
        summary: str | None = None,
        none_as: str | None = None,
        wire_names: dict[str, str] | None = None,
    ) -> None:
        self.fn = fn
        self.method = method
        self.path = path
        self.tx: Tx = tx
        self.status = status
        self.key = key
        area = path.strip("/").split("/", 1)[0] or "api"
        self.permission = permission or f"{area}:{'read' if tx == 'read' else 'write'}"
        self.http = http
        self.route = route
        self.none_as = none_as
        self.wire_names = wire_names or {}
        doc = inspect.getdoc(fn) or ""
        self.summary = summary or (doc.split("\n\n", 1)[0].replace("\n", " ") or fn.__name__)
        self.path_params = {m.group(1): bool(m.group(2)) for m in _PATH_PARAM.finditer(path)}
        self._hints: dict[str, Any] | None = None
        self.name = fn.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Op[P, R]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[P, R]: ...
    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        transport: Transport = obj.transport  # type: ignore[attr-defined]
        op = self

        def call(*args: Any, **kwargs: Any) -> Any:
            return transport.invoke(op, args, kwargs)

        call.__name__ = self.name
        call.__doc__ = self.fn.__doc__
        return call

    def __repr__(self) -> str:
        return f"Op({self.name}: {self.method} {self.path}, tx={self.tx})"

    # -- introspection shared by the HTTP transport and the router generator -------------
    @property
    def signature(self) -> inspect.Signature:
        """The client-side signature: the service's, without its first parameter and
        without ``project_id`` (always the current project: ``conveyor.store.projects``)."""
        sig = inspect.signature(self.fn)
        params = [p for p in list(sig.parameters.values())[1:] if p.name != "project_id"]
        return sig.replace(parameters=params)

    @property
    def hints(self) -> dict[str, Any]:
        """The service's resolved type hints (names imported only for type checking are
        resolved from the modules the wire codec knows, else left as ``Any``)."""
        if self._hints is None:
            self._hints = resolve_hints(self.fn)
        return self._hints

    @property
    def returns(self) -> Any:
        return self.hints.get("return", Any)

    @property
    def rules(self) -> dict[str, Rule]:
        """The documented rules of parameters typed with ``conveyor._schema`` aliases."""
        hints = resolve_hints(self.fn, include_extras=True)
        return {name: rule for name, hint in hints.items() if (rule := rule_of(hint))}


def resolve_hints(fn: Callable[..., Any], *, include_extras: bool = False) -> dict[str, Any]:
    """``typing.get_type_hints`` that tolerates names imported under TYPE_CHECKING."""
    from conveyor.client.wire import hint_namespace

    fn = inspect.unwrap(fn)  # decorated services (``in_current_project``): the module's names
    try:
        return typing.get_type_hints(fn, localns=hint_namespace(), include_extras=include_extras)
    except (NameError, TypeError):
        pass
    out: dict[str, Any] = {}
    globalns = getattr(fn, "__globals__", {})
    for name, raw in getattr(fn, "__annotations__", {}).items():
        try:
            out[name] = eval(raw, globalns, hint_namespace()) if isinstance(raw, str) else raw
        except Exception:
            out[name] = Any
    return out
