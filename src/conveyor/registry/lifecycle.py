"""Registered-model edits: description, rename, tags, delete (of a model without versions).

Versions are immutable and numbered without gaps, so a version cannot be deleted and a
model with versions cannot be deleted either; every refusal says so.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor._util import check_name, now_ms
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.registry.entities import Model
from conveyor.registry.pickle_trust import check_tag_key
from conveyor.registry.service import _model_row, get_model, get_model_version
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id
from conveyor.store.tables import model_aliases, model_versions, models

__all__ = [
    "delete_model",
    "delete_model_tag",
    "delete_model_version_tag",
    "refuse_version_delete",
    "rename_model",
    "set_model_tag",
    "update_model",
]


def _touch(uow: UnitOfWork, row: Any, action: str, **values: Any) -> Model:
    values["updated_at"] = now_ms()
    uow.conn.execute(models.update().where(models.c.id == row.id).values(**values))
    uow.audit(f"model.{action}", "model", row.id, values)
    return get_model(uow.conn, values.get("name", row.name))


def update_model(uow: UnitOfWork, name: str, *, description: str) -> Model:
    """Change a registered model's description."""
    if not isinstance(description, str):
        raise ValidationFailed("description must be a string")
    return _touch(uow, _model_row(uow.conn, name, lock=True), "update", description=description)


def rename_model(uow: UnitOfWork, name: str, new_name: str) -> Model:
    """Rename a registered model (its versions and aliases follow)."""
    check_name(new_name, "model name")
    row = _model_row(uow.conn, name, lock=True)
    taken = uow.conn.execute(
        sa.select(models.c.id).where(
            models.c.project_id == current_project_id(), models.c.name == new_name
        )
    ).first()
    if taken is not None:
        raise Conflict(f"model {new_name!r} is already registered")
    return _touch(uow, row, "rename", name=new_name)


def set_model_tag(uow: UnitOfWork, name: str, key: str, value: str | None) -> Model:
    """Set (``value`` a string) or remove (``value`` None) one tag of a registered model."""
    check_name(key, "tag key")
    row = _model_row(uow.conn, name, lock=True)
    tags = dict(row.tags or {})
    if value is None:
        if key not in tags:
            raise NotFound(f"model {name!r} has no tag {key!r}")
        del tags[key]
    else:
        tags[key] = str(value)
    return _touch(uow, row, "set_tag", tags=tags)


def delete_model_tag(uow: UnitOfWork, name: str, key: str) -> Model:
    """Remove one tag of a registered model."""
    return set_model_tag(uow, name, key, None)


def delete_model_version_tag(uow: UnitOfWork, name: str, version: int | str, key: str) -> None:
    """Remove one tag of a model version."""
    check_tag_key(key)
    mv = get_model_version(uow.conn, name, version)
    if key not in mv.tags:
        raise NotFound(f"model {name!r} version {mv.version} has no tag {key!r}")
    tags = {k: v for k, v in mv.tags.items() if k != key}
    uow.conn.execute(model_versions.update().where(model_versions.c.id == mv.id).values(tags=tags))
    uow.audit("model_version.delete_tag", "model_version", f"{name}/{mv.version}", {"key": key})


def delete_model(uow: UnitOfWork, name: str) -> None:
    """Delete a registered model that has no versions (versions are never deleted)."""
    row = _model_row(uow.conn, name, lock=True)
    if row.latest_version:
        raise Conflict(
            f"model {name!r} has {row.latest_version} version(s): Conveyor keeps every "
            "version (immutable, audited, numbered without gaps), so a model with versions "
            "cannot be deleted. Move its aliases away or tag it instead."
        )
    uow.conn.execute(model_aliases.delete().where(model_aliases.c.model_id == row.id))
    uow.conn.execute(models.delete().where(models.c.id == row.id))
    uow.audit("model.delete", "model", row.id, {"name": name})


def refuse_version_delete(name: str, version: int | str) -> Conflict:
    """The error for deleting a model version, which Conveyor does not do."""
    return Conflict(
        f"model {name!r} version {version} cannot be deleted: Conveyor keeps every version "
        "(immutable, audited, numbered without gaps). Remove its aliases, or set a tag such "
        "as 'deprecated' on it."
    )
