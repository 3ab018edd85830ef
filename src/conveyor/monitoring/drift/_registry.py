"""The registry of drift methods, keyed by (kind, name). Built-ins register here too."""

from __future__ import annotations

from conveyor.errors import Conflict, ValidationFailed
from conveyor.monitoring.drift._base import DriftMethod, Kind

__all__ = ["available_methods", "get_method", "register_method"]

_METHODS: dict[tuple[str, str], DriftMethod] = {}


def register_method(method: DriftMethod, *, replace: bool = False) -> DriftMethod:
    """Make ``method`` available by ``method.name`` for columns of ``method.kind``."""
    if not isinstance(method, DriftMethod):
        raise ValidationFailed(
            f"register_method() takes a DriftMethod instance, got {type(method).__name__}"
        )
    if method.kind not in ("numeric", "categorical"):
        raise ValidationFailed(
            f"method kind must be 'numeric' or 'categorical', not {method.kind!r}"
        )
    key = (method.kind, method.name)
    if key in _METHODS and not replace:
        raise Conflict(
            f"a {method.kind} drift method named {method.name!r} is already registered; "
            "pass replace=True to override it",
            details={"kind": method.kind, "name": method.name},
        )
    _METHODS[key] = method
    return method


def get_method(kind: Kind, name: str) -> DriftMethod:
    """The registered method ``name`` for ``kind`` columns."""
    try:
        return _METHODS[(kind, name)]
    except KeyError:
        known = sorted(n for k, n in _METHODS if k == kind)
        raise ValidationFailed(
            f"no {kind} drift method named {name!r}; available: {', '.join(known)}",
            details={"kind": kind, "name": name, "available": known},
        ) from None


def available_methods() -> dict[str, list[str]]:
    """Registered method names by kind."""
    out: dict[str, list[str]] = {"numeric": [], "categorical": []}
    for kind, name in sorted(_METHODS):
        out[kind].append(name)
    return out
