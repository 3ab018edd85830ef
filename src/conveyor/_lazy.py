"""Lazy attributes for package ``__init__`` modules (PEP 562).

``import conveyor`` must stay cheap — a serving worker or a drift job should not pay for
SQLAlchemy, pandas or scikit-learn it never uses — so public names are resolved from
their modules on first access.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``names`` (public name -> module path)."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value  # later accesses skip this function
        return value

    return __getattr__
