"""Small validators for check parameters; each raises ``param_error(key, problem)``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conveyor.gates.policy import param_error

__all__ = ["choice", "columns", "known_keys", "metric_name", "number", "positive_int"]


def known_keys(params: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key in params:
        if key not in allowed:
            raise param_error(key, f"unknown key {key!r}; known keys: {', '.join(sorted(allowed))}")


def number(
    params: dict[str, Any],
    key: str,
    default: Any = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
) -> float | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise param_error(key, f"must be a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise param_error(key, f"must be {_range(lo, hi)}, got {value}")
    return float(value)


def positive_int(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise param_error(key, f"must be a positive integer, got {value!r}")
    return value


def choice(params: dict[str, Any], key: str, options: Iterable[str], default: Any) -> Any:
    value = params.get(key, default)
    options = list(options)
    if value is not None and value not in options:
        raise param_error(key, f"must be one of {', '.join(options)}, got {value!r}")
    return value


def columns(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise param_error(key, f"must be a column name or a list of them, got {value!r}")
    return value


def metric_name(params: dict[str, Any], key: str = "metric") -> str:
    from conveyor.gates.stats import DIRECTIONS

    value = params.get(key)
    if not isinstance(value, str) or value not in DIRECTIONS:
        raise param_error(
            key, f"must name a metric ({', '.join(sorted(DIRECTIONS))}), got {value!r}"
        )
    return value


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"
