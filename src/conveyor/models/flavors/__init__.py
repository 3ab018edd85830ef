"""Flavor registry: flavor name -> ``"module:Class"``, imported only when used.

Built-in flavors are entries here like any plugin. A third-party flavor registers with::

    from conveyor.models.flavors import register_flavor
    register_flavor("catboost", "my_pkg.conveyor_catboost:CatBoostFlavor")

Detection tries flavors in registration order (plugins registered with ``first=True`` go
before the built-ins); the sklearn flavor comes last because LightGBM and XGBoost models are
also scikit-learn estimators.
"""

from __future__ import annotations

import importlib
from typing import Any

from conveyor.errors import ValidationFailed
from conveyor.models.flavors.base import Flavor, Predictor

__all__ = ["FLAVORS", "Flavor", "Predictor", "detect_flavor", "get_flavor", "register_flavor"]

#: flavor name -> "module:Class"
FLAVORS: dict[str, str] = {
    "pyfunc": "conveyor.models.flavors.pyfunc:PyfuncFlavor",
    "onnx": "conveyor.models.flavors.onnx:OnnxFlavor",
    "lightgbm": "conveyor.models.flavors.lightgbm:LightGBMFlavor",
    "xgboost": "conveyor.models.flavors.xgboost:XGBoostFlavor",
    "sklearn": "conveyor.models.flavors.sklearn:SklearnFlavor",
    "mlflow_pickle": "conveyor.models.flavors.mlflow_pickle:MlflowPickleFlavor",
}
_LOADED: dict[str, Flavor] = {}


def register_flavor(name: str, target: str, *, first: bool = False) -> None:
    """Register (or replace) the flavor ``name`` implemented by ``"module:Class"``."""
    if ":" not in target:
        raise ValidationFailed(f"flavor target must look like 'module:Class', got {target!r}")
    _LOADED.pop(name, None)
    if first:
        rest = {k: v for k, v in FLAVORS.items() if k != name}
        FLAVORS.clear()
        FLAVORS.update({name: target, **rest})
    else:
        FLAVORS[name] = target


def get_flavor(name: str) -> Flavor:
    """The flavor instance registered under ``name``."""
    if name in _LOADED:
        return _LOADED[name]
    target = FLAVORS.get(name)
    if target is None:
        raise ValidationFailed(
            f"unknown model flavor {name!r}; known: {', '.join(FLAVORS)}. Install the package "
            "that provides it and call conveyor.models.register_flavor before loading."
        )
    module, _, cls_name = target.partition(":")
    try:
        flavor = getattr(importlib.import_module(module), cls_name)()
    except (ImportError, AttributeError) as exc:
        raise ValidationFailed(
            f"flavor {name!r} is registered as {target!r} but cannot be imported ({exc}); "
            "install its dependencies"
        ) from exc
    if not isinstance(flavor, Flavor):
        raise ValidationFailed(f"{target} is not a conveyor.models.flavors.Flavor subclass")
    _LOADED[name] = flavor
    return flavor


def detect_flavor(model: Any) -> str:
    """Name of the first registered flavor that can save ``model``."""
    for name in FLAVORS:
        if get_flavor(name).detect(model):
            return name
    raise ValidationFailed(
        f"no flavor can save a {type(model).__module__}.{type(model).__qualname__}; pass "
        f"flavor= one of {', '.join(FLAVORS)}, wrap it in a conveyor.models.PythonModel, or "
        "register a flavor for it"
    )
