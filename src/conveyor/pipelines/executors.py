"""Executors: where a step's function runs. A plugin registry with ``local`` built in.

An executor has one method, ``run(step, kwargs) -> value``: the engine hands it a step
whose cache said *miss* and the bound arguments, and stores whatever it returns. The
engine keeps caching, storage and tracking; an executor only runs code, so the Ray
executor (``executor="ray"``, :mod:`conveyor.pipelines.ray_executor`) gives the same
outputs and cache keys as the local one. Executors are registered by name and a
dotted path, imported on first use (like model flavors)::

    from conveyor.pipelines.executors import register_executor
    register_executor("ray", "mypkg.ray_executor:RayExecutor")
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any, Protocol

from conveyor.errors import ValidationFailed

if TYPE_CHECKING:
    from conveyor.pipelines.steps import Step

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "get_executor", "register_executor"]


class Executor(Protocol):
    """Runs one step call and returns its value (or raises what the step raised)."""

    name: str

    def run(self, step: Step, kwargs: dict[str, Any]) -> Any: ...


class LocalExecutor:
    """Runs the step in this process and thread (the default)."""

    name = "local"

    def __init__(self, **_options: Any) -> None:
        pass

    def run(self, step: Step, kwargs: dict[str, Any]) -> Any:
        return step.fn(**kwargs)


#: name → "module:attribute" of an Executor class (instantiated with the options).
EXECUTORS: dict[str, str] = {
    "local": "conveyor.pipelines.executors:LocalExecutor",
    "ray": "conveyor.pipelines.ray_executor:RayExecutor",
}
_lock = threading.Lock()


def register_executor(name: str, target: str) -> None:
    """Register an executor class by dotted path (``"package.module:Class"``)."""
    if ":" not in target:
        raise ValidationFailed(f"executor target {target!r}: use 'package.module:Class'")
    with _lock:
        EXECUTORS[name] = target


def get_executor(name: str, **options: Any) -> Executor:
    """An executor instance by name."""
    with _lock:
        target = EXECUTORS.get(name)
    if target is None:
        raise ValidationFailed(
            f"unknown executor {name!r}: registered are {', '.join(sorted(EXECUTORS))}"
        )
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValidationFailed(
            f"executor {name!r} is registered as {target!r} but cannot be imported ({exc}); "
            "install its extra"
        ) from exc
    executor: Executor = cls(**options)
    return executor
