"""Registry services: models, versions (gap-free numbering), aliases, tags."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from conveyor._schema import AliasName, Name, Tags, VersionNumber, VersionRef
from conveyor._util import check_name, new_id, now_ms
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.registry.entities import Model, ModelVersion
from conveyor.registry.pickle_trust import check_tag_key
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id, insert_named
from conveyor.store.tables import model_aliases, model_versions, models
from conveyor.tracking.validation import check_str_map

__all__ = [
    "create_model",
    "create_model_version",
    "delete_alias",
    "get_model",
    "get_model_version",
    "list_model_versions",
    "resolve_version",
    "search_models",
    "set_alias",
    "set_model_version_tag",
    "update_model_version",
]


def _model_row(conn: sa.Connection, name: str, *, lock: bool = False) -> Any:
    check_name(name, "model name")
    query = sa.select(models).where(
        models.c.project_id == current_project_id(), models.c.name == name
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"model {name!r} is not registered; register a version with "
            "conveyor.register_model(...) or list models with `conveyor models list`"
        )
    return row


def _aliases(conn: sa.Connection, model_id: str) -> dict[str, int]:
    rows = conn.execute(
        sa.select(model_aliases.c.alias, model_aliases.c.version).where(
            model_aliases.c.model_id == model_id
        )
    )
    return {alias: version for alias, version in rows}


def _model(conn: sa.Connection, row: Any) -> Model:
    return Model(
        id=row.id,
        name=row.name,
        description=row.description,
        tags=dict(row.tags or {}),
        latest_version=row.latest_version,
        aliases=_aliases(conn, row.id),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _insert_model(
    uow: UnitOfWork, name: str, description: str, tags: dict[str, str]
) -> dict[str, Any] | None:
    """Insert and audit the model unless the name is taken (race-safe); the row or None."""
    fields = {"name": name, "description": description, "tags": tags, "latest_version": 0}
    return insert_named(uow, models, "model", fields)


def create_model(uow: UnitOfWork, name: Name, *, description: str = "", tags: Tags = None) -> Model:
    """Register a new model name; Conflict if it exists."""
    check_name(name, "model name")
    tags = check_str_map(tags or {}, "model tag")
    row = _insert_model(uow, name, description, tags)
    if row is None:
        raise Conflict(f"model {name!r} is already registered")
    return Model(
        id=row["id"],
        name=name,
        description=description,
        tags=tags,
        latest_version=0,
        aliases={},
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_model(conn: sa.Connection, name: Name) -> Model:
    """A registered model with its aliases."""
    return _model(conn, _model_row(conn, name))


def search_models(conn: sa.Connection, name_like: str = "", max_results: int = 1000) -> list[Model]:
    """Registered models whose name matches the SQL LIKE pattern (all when empty)."""
    query = sa.select(models).where(models.c.project_id == current_project_id())
    if name_like:
        query = query.where(models.c.name.like(name_like))
    rows = conn.execute(query.order_by(models.c.name).limit(max_results)).all()
    return [_model(conn, r) for r in rows]


def _version(row: Any, name: str, aliases: dict[str, int]) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        name=name,
        version=row.version,
        source=row.source,
        run_id=row.run_id,
        manifest_sha256=row.manifest_sha256,
        flavor=row.flavor,
        signature=row.signature,
        files=list(row.files or []),
        description=row.description,
        tags=dict(row.tags or {}),
        approval=row.approval,
        created_by=row.created_by,
        created_at=row.created_at,
        aliases=sorted(a for a, v in aliases.items() if v == row.version),
        reference_dataset_version_id=row.reference_dataset_version_id,
    )


def create_model_version(
    uow: UnitOfWork,
    name: str,
    *,
    source: str,
    manifest_sha256: str,
    flavor: str,
    files: list[dict[str, Any]],
    signature: dict[str, Any] | None = None,
    run_id: str | None = None,
    description: str = "",
    tags: dict[str, str] | None = None,
    reference_dataset_version_id: str | None = None,
) -> ModelVersion:
    """Add the next version of ``name`` (registering the model on first use).

    The number comes from an atomic ``UPDATE ... RETURNING`` on the model row, so
    concurrent registrations get distinct, gap-free numbers on SQLite and PostgreSQL.
    """
    check_name(name, "model name")
    if not files:
        raise ValidationFailed("a model version needs at least one file")
    tags = check_str_map(tags or {}, "model version tag")
    for key in tags:
        check_tag_key(key)
    _insert_model(uow, name, "", {})  # register the name on first use
    model_id, version = uow.conn.execute(
        models.update()
        .where(models.c.project_id == current_project_id(), models.c.name == name)
        .values(latest_version=models.c.latest_version + 1, updated_at=now_ms())
        .returning(models.c.id, models.c.latest_version)
    ).one()
    row: dict[str, Any] = {
        "id": new_id(),
        "model_id": model_id,
        "version": version,
        "run_id": run_id,
        "source": source,
        "manifest_sha256": manifest_sha256,
        "flavor": flavor,
        "signature": signature,
        "files": files,
        "description": description,
        "tags": tags,
        "approval": "none",
        "reference_dataset_version_id": reference_dataset_version_id,
        "created_by": uow.actor.name,
        "created_at": now_ms(),
    }
    uow.conn.execute(model_versions.insert().values(**row))
    uow.audit("model_version.create", "model_version", f"{name}/{version}", row)
    return _version(SimpleNamespace(**row), name, {})


def _check_version(version: Any) -> int:
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationFailed(f"model version must be a positive integer, got {version!r}")
    return version


def get_model_version(conn: sa.Connection, name: str, version: int | str) -> ModelVersion:
    """One version of a model."""
    number = _check_version(version)
    model = _model_row(conn, name)
    row = conn.execute(
        sa.select(model_versions).where(
            model_versions.c.model_id == model.id, model_versions.c.version == number
        )
    ).first()
    if row is None:
        raise NotFound(f"model {name!r} has no version {number} (latest is {model.latest_version})")
    return _version(row, name, _aliases(conn, model.id))


def resolve_version(conn: sa.Connection, name: Name, version: VersionRef) -> ModelVersion:
    """A version by number, by alias (``champion``), or ``latest``."""
    if isinstance(version, int) or (isinstance(version, str) and version.isdigit()):
        return get_model_version(conn, name, version)
    model = _model_row(conn, name)
    if version == "latest":
        if model.latest_version == 0:
            raise NotFound(f"model {name!r} has no versions yet")
        return get_model_version(conn, name, model.latest_version)
    aliases = _aliases(conn, model.id)
    if version not in aliases:
        known = ", ".join(sorted(aliases)) or "none"
        raise NotFound(f"model {name!r} has no alias {version!r} (aliases: {known})")
    return get_model_version(conn, name, aliases[version])


def list_model_versions(conn: sa.Connection, name: Name) -> list[ModelVersion]:
    """All versions of a model, newest first."""
    model = _model_row(conn, name)
    aliases = _aliases(conn, model.id)
    rows = conn.execute(
        sa.select(model_versions)
        .where(model_versions.c.model_id == model.id)
        .order_by(model_versions.c.version.desc())
    )
    return [_version(r, name, aliases) for r in rows]


def set_alias(
    uow: UnitOfWork,
    name: Name,
    alias: AliasName,
    version: VersionNumber,
    *,
    override_reason: str | None = None,
) -> ModelVersion:
    """Point ``alias`` at ``version`` (moving it if it pointed elsewhere).

    A protected alias of a model with a gate policy accepts only a version whose latest
    gate report passed (GateFailed otherwise); ``override_reason`` lets it through, audited.
    """
    from conveyor.gates.service import require_passing  # gates build on the registry

    check_name(alias, "alias")
    if "/" in alias:
        raise ValidationFailed(f"alias {alias!r} contains '/': aliases are one URL segment")
    if alias == "latest" or alias.isdigit():
        raise ValidationFailed(f"{alias!r} cannot be an alias: it is reserved for versions")
    target = get_model_version(uow.conn, name, version)
    require_passing(
        uow, name, target.version, target=f"alias:{alias}", override_reason=override_reason
    )
    model = _model_row(uow.conn, name)
    before = _aliases(uow.conn, model.id).get(alias)
    uow.conn.execute(
        model_aliases.delete().where(
            model_aliases.c.model_id == model.id, model_aliases.c.alias == alias
        )
    )
    uow.conn.execute(
        model_aliases.insert().values(
            model_id=model.id, alias=alias, version=target.version, updated_at=now_ms()
        )
    )
    uow.audit(
        "model.set_alias",
        "model",
        model.id,
        {"alias": alias, "from": before, "to": target.version},
        alias=alias,
        version=target.version,
        previous=before,
    )
    return get_model_version(uow.conn, name, target.version)


def delete_alias(uow: UnitOfWork, name: Name, alias: AliasName) -> None:
    """Remove an alias; NotFound if the model has no such alias."""
    model = _model_row(uow.conn, name)
    before = _aliases(uow.conn, model.id).get(alias)
    if before is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}")
    uow.conn.execute(
        model_aliases.delete().where(
            model_aliases.c.model_id == model.id, model_aliases.c.alias == alias
        )
    )
    uow.audit("model.delete_alias", "model", model.id, {"alias": alias, "was": before})


def set_model_version_tag(
    uow: UnitOfWork, name: Name, version: VersionNumber, key: Name, value: str
) -> ModelVersion:
    """Set one tag on a version (tags are the only mutable part besides the description)."""
    check_name(key, "tag key")
    check_tag_key(key)
    mv = get_model_version(uow.conn, name, version)
    tags = {**mv.tags, key: str(value)}
    uow.conn.execute(model_versions.update().where(model_versions.c.id == mv.id).values(tags=tags))
    uow.audit("model_version.set_tag", "model_version", f"{name}/{mv.version}", {key: value})
    mv.tags = tags
    return mv


def update_model_version(
    uow: UnitOfWork, name: Name, version: VersionNumber, *, description: str
) -> ModelVersion:
    """Change a version's description."""
    if not isinstance(description, str):
        raise ValidationFailed("description must be a string")
    mv = get_model_version(uow.conn, name, version)
    uow.conn.execute(
        model_versions.update().where(model_versions.c.id == mv.id).values(description=description)
    )
    uow.audit(
        "model_version.update",
        "model_version",
        f"{name}/{mv.version}",
        {"description": description},
    )
    mv.description = description
    return mv
