"""The registry of gate checks, keyed by name. Built-ins register here too.

A check is a :class:`Check` (``validate`` its parameters, ``describe`` them, ``run`` on a
:class:`~conveyor.gates.context.GateContext`) or a plain function registered with
:func:`register_check`::

    @conveyor.gates.register_check("max_null_predictions")
    def max_null_predictions(ctx, max=0):
        nulls = int(pd.isna(ctx.candidate.y_pred).sum())
        return CheckOutcome("pass" if nulls <= max else "fail", value=nulls, threshold=max)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from conveyor.gates.context import GateContext
    from conveyor.gates.report import CheckOutcome

__all__ = ["Check", "FunctionCheck", "available_checks", "get_check", "register_check"]


class Check:
    """Base class of a gate check; subclasses set ``name`` and implement ``run``."""

    name: str = ""

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Normalised parameters; raise ``conveyor.gates.policy.param_error(key, problem)``."""
        return params

    def describe(self, params: dict[str, Any]) -> str:
        """The check's display name in reports (unique within a policy)."""
        return self.name

    def columns(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        """``(parameter path, column)`` pairs the evaluation dataset must have."""
        return []

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        raise NotImplementedError


class FunctionCheck(Check):
    """A user function ``fn(ctx, **params) -> CheckOutcome`` as a check."""

    def __init__(
        self,
        name: str,
        fn: Callable[..., CheckOutcome],
        validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.fn = fn
        self._validate = validate

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        params.pop(self.name, None)  # the flat form {my_check: null, max: 3}
        return self._validate(params) if self._validate is not None else params

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        return self.fn(ctx, **params)


_CHECKS: dict[str, Check] = {}


def register_check(
    name_or_check: str | Check,
    fn: Callable[..., CheckOutcome] | None = None,
    *,
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    replace: bool = False,
) -> Any:
    """Register a :class:`Check` instance, or a function under ``name`` (usable as a
    decorator: ``@register_check("my_check")``)."""
    if isinstance(name_or_check, Check):
        return _add(name_or_check, replace)
    if not isinstance(name_or_check, str) or not name_or_check.isidentifier():
        raise ValidationFailed(
            f"a check name must be an identifier like 'max_nulls', got {name_or_check!r}"
        )
    name = name_or_check
    if fn is None:

        def decorator(func: Callable[..., CheckOutcome]) -> Callable[..., CheckOutcome]:
            _add(FunctionCheck(name, func, validate), replace)
            return func

        return decorator
    _add(FunctionCheck(name, fn, validate), replace)
    return fn


def _add(check: Check, replace: bool) -> Check:
    if not check.name or not check.name.isidentifier():
        raise ValidationFailed(f"a check needs an identifier name, got {check.name!r}")
    if check.name in _CHECKS and not replace:
        raise Conflict(
            f"a gate check named {check.name!r} is already registered; "
            "pass replace=True to override it",
            details={"name": check.name},
        )
    _CHECKS[check.name] = check
    return check


def get_check(name: str) -> Check:
    """The registered check ``name``."""
    _load_builtins()
    try:
        return _CHECKS[name]
    except KeyError:
        raise ValidationFailed(
            f"no gate check named {name!r}; available: {', '.join(available_checks())}",
            details={"name": name, "available": available_checks()},
        ) from None


def available_checks() -> list[str]:
    """Registered check names, sorted."""
    _load_builtins()
    return sorted(_CHECKS)


def _load_builtins() -> None:
    import conveyor.gates.checks  # noqa: F401  (registers the built-ins on import)
