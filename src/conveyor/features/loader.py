"""Read a ``defs.py``: import it and collect its entities, feature views and services."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from conveyor.errors import NotFound, ValidationFailed
from conveyor.features.definitions import Entity, FeatureService, FeatureView

__all__ = ["definitions_of", "load_definitions"]

Definition = Entity | FeatureView | FeatureService


def definitions_of(objects: list[Any]) -> list[dict[str, Any]]:
    """``{"kind", "spec"}`` for each definition (entities used by views included once)."""
    found: dict[tuple[str, str], Definition] = {}
    for obj in objects:
        if isinstance(obj, FeatureView):
            for entity in obj.entities:
                if isinstance(entity, Entity):
                    found.setdefault((entity.kind, entity.name), entity)
        if isinstance(obj, Entity | FeatureView | FeatureService):
            key = (obj.kind, obj.name)
            if key in found and found[key] != obj:
                raise ValidationFailed(f"{obj.kind} {obj.name!r} is defined twice, differently")
            found[key] = obj
    return [{"kind": kind, "spec": obj.to_spec()} for (kind, _), obj in found.items()]


def load_definitions(path: str | Path) -> list[dict[str, Any]]:
    """Import ``path`` (a Python file) and return its definitions' specs."""
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"no definitions file {str(file)!r}")
    name = f"conveyor_feature_defs_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ValidationFailed(f"{file}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and transformations look their module up
    sys.path.insert(0, str(file.parent.absolute()))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(file.parent.absolute()))
    found = definitions_of(list(vars(module).values()))
    if not found:
        raise ValidationFailed(
            f"{file}: defines no Entity, FeatureView or FeatureService at module level"
        )
    return found
