"""The versioned definitions in the store: apply plans, listing, and feature resolution.

``apply_features`` compares the definitions of a ``defs.py`` (their JSON specs) with the
store and returns the plan — what is added, changed (and which keys), removed — applying it
unless ``dry_run``. A changed spec gets a new version; every version is kept
(``feature_object_versions``) and every change is audited.

``resolve_features`` turns ``["view:feature", ...]`` (or a feature service name) into the
views and features to read, refusing an unknown view or feature by name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import Rule
from conveyor._util import check_name, digest, new_id, now_ms
from conveyor.errors import NotFound, ValidationFailed
from conveyor.features.definitions import DTYPES, KINDS, parse_feature_ref
from conveyor.features.tables import feature_object_versions, feature_objects
from conveyor.store.projects import in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID
from conveyor.store.uow import UnitOfWork

__all__ = [
    "FeatureObject",
    "FeaturePlan",
    "PlanItem",
    "ResolvedView",
    "apply_features",
    "get_feature_object",
    "list_feature_objects",
    "list_feature_versions",
    "resolve_features",
]


@dataclass(slots=True)
class FeatureObject:
    """One stored definition (entity, feature view or feature service) at its version."""

    id: str
    kind: str
    name: str
    version: int
    spec: dict[str, Any]
    digest: str
    created_by: str
    created_at: int
    updated_at: int
    removed_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class PlanItem:
    """One line of an apply plan: ``action`` is added, changed, removed or unchanged."""

    kind: str
    name: str
    action: str
    version: int
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class FeaturePlan:
    """What an apply does (``applied`` False for a dry run or when nothing changes)."""

    items: list[PlanItem]
    applied: bool

    def of(self, action: str) -> list[PlanItem]:
        return [i for i in self.items if i.action == action]

    def to_dict(self) -> dict[str, Any]:
        return {"items": [i.to_dict() for i in self.items], "applied": self.applied}


@dataclass(slots=True)
class ResolvedView:
    """A view as a read needs it: join keys, the requested features, source, TTL."""

    name: str
    version: int
    join_keys: list[str]
    features: list[dict[str, Any]]  # {"name", "dtype", "default"}, in request order
    source: dict[str, Any]
    ttl_s: float
    transformation: dict[str, Any] | None
    online: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.features]


FeatureKind = Annotated[str, Rule({"enum": list(KINDS)})]


def _object(row: Any) -> FeatureObject:
    return FeatureObject(**{f: getattr(row, f) for f in FeatureObject.__dataclass_fields__})


def _live(conn: sa.Connection, project_id: str) -> dict[tuple[str, str], Any]:
    rows = conn.execute(
        sa.select(feature_objects).where(
            feature_objects.c.project_id == project_id, feature_objects.c.removed_at.is_(None)
        )
    )
    return {(r.kind, r.name): r for r in rows}


def _check_definition(item: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    kind, spec = item.get("kind"), item.get("spec")
    if kind not in KINDS or not isinstance(spec, dict):
        raise ValidationFailed(
            f"definition {item!r}: need {{'kind': one of {', '.join(KINDS)}, 'spec': {{...}}}}"
        )
    name = check_name(spec.get("name"), f"{kind} name")
    if kind == "feature_view":
        for feat in spec.get("features", []):
            if feat.get("dtype") not in DTYPES:
                raise ValidationFailed(
                    f"feature view {name!r}: feature {feat.get('name')!r} has type "
                    f"{feat.get('dtype')!r}; use one of {', '.join(DTYPES)}"
                )
    return kind, name, spec


def _check_references(after: dict[tuple[str, str], dict[str, Any]]) -> None:
    entities = {name for kind, name in after if kind == "entity"}
    views = {name: spec for (kind, name), spec in after.items() if kind == "feature_view"}
    for name, spec in views.items():
        for entity in spec["entities"]:
            if entity not in entities:
                raise ValidationFailed(
                    f"feature view {name!r} uses entity {entity!r}, which is not defined; "
                    f"entities: {', '.join(sorted(entities)) or '(none)'}"
                )
    for (kind, name), spec in after.items():
        if kind != "feature_service":
            continue
        for ref in spec["features"]:
            view, feat = parse_feature_ref(ref)
            if view not in views:
                raise ValidationFailed(
                    f"feature service {name!r}: no feature view {view!r} (in {ref!r}); "
                    f"views: {', '.join(sorted(views)) or '(none)'}"
                )
            known = [f["name"] for f in views[view]["features"]]
            if feat not in known:
                raise ValidationFailed(
                    f"feature service {name!r}: view {view!r} has no feature {feat!r}; "
                    f"its features: {', '.join(known)}"
                )


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


@in_current_project
def apply_features(
    uow: UnitOfWork,
    definitions: list[dict[str, Any]],
    *,
    dry_run: bool = False,
    prune: bool = True,
    project_id: str = DEFAULT_PROJECT_ID,
) -> FeaturePlan:
    """Make the store's definitions those given (``{"kind", "spec"}`` each); the plan.

    ``prune``: definitions in the store but not given are removed (their history stays).
    """
    given: dict[tuple[str, str], dict[str, Any]] = {}
    for item in definitions:
        kind, name, spec = _check_definition(item)
        if (kind, name) in given:
            raise ValidationFailed(f"{kind} {name!r} is defined twice")
        given[(kind, name)] = spec
    live = _live(uow.conn, project_id)
    after = dict(given)
    if not prune:
        after.update({k: r.spec for k, r in live.items() if k not in given})
    _check_references(after)
    items: list[PlanItem] = []
    for key, spec in given.items():
        row = live.get(key)
        if row is None:
            items.append(
                PlanItem(key[0], key[1], "added", _next_version(uow.conn, key, project_id))
            )
        elif row.digest != digest(spec):
            items.append(
                PlanItem(key[0], key[1], "changed", row.version + 1, _changed_keys(row.spec, spec))
            )
        else:
            items.append(PlanItem(key[0], key[1], "unchanged", row.version))
    if prune:
        items += [
            PlanItem(k[0], k[1], "removed", r.version) for k, r in live.items() if k not in given
        ]
    items.sort(key=lambda i: (KINDS.index(i.kind), i.name))
    mutations = [i for i in items if i.action != "unchanged"]
    if dry_run or not mutations:
        return FeaturePlan(items, applied=False)
    for change in mutations:
        _apply_item(uow, change, given.get((change.kind, change.name)), live, project_id)
    return FeaturePlan(items, applied=True)


def _next_version(conn: sa.Connection, key: tuple[str, str], project_id: str) -> int:
    """A definition removed and added again continues its version numbers."""
    version = conn.execute(
        sa.select(feature_objects.c.version).where(
            feature_objects.c.project_id == project_id,
            feature_objects.c.kind == key[0],
            feature_objects.c.name == key[1],
        )
    ).scalar()
    return int(version or 0) + 1


def _apply_item(
    uow: UnitOfWork,
    item: PlanItem,
    spec: dict[str, Any] | None,
    live: dict[tuple[str, str], Any],
    project_id: str,
) -> None:
    now = now_ms()
    table = feature_objects
    where = (table.c.project_id == project_id) & (table.c.kind == item.kind)
    where &= table.c.name == item.name
    if item.action == "removed":
        row = live[(item.kind, item.name)]
        uow.conn.execute(table.update().where(where).values(removed_at=now, updated_at=now))
        uow.audit(f"{item.kind}.remove", item.kind, row.id, {"name": item.name})
        return
    assert spec is not None
    spec_digest = digest(spec)
    existing = uow.conn.execute(sa.select(table.c.id).where(where)).scalar()
    values = {"version": item.version, "spec": spec, "digest": spec_digest, "updated_at": now}
    if existing is None:
        existing = new_id()
        uow.conn.execute(
            table.insert().values(
                id=existing,
                project_id=project_id,
                kind=item.kind,
                name=item.name,
                created_by=str(uow.actor),
                created_at=now,
                **values,
            )
        )
    else:
        uow.conn.execute(table.update().where(where).values(removed_at=None, **values))
    uow.conn.execute(
        feature_object_versions.insert().values(
            id=new_id(),
            object_id=existing,
            version=item.version,
            spec=spec,
            digest=spec_digest,
            created_by=str(uow.actor),
            created_at=now,
        )
    )
    action = "apply" if item.action == "added" else "update"
    uow.audit(
        f"{item.kind}.{action}",
        item.kind,
        existing,
        {"name": item.name, "version": item.version, "digest": spec_digest},
        changes=item.changes,
    )


@in_current_project
def list_feature_objects(
    conn: sa.Connection, kind: FeatureKind | None = None, *, project_id: str = DEFAULT_PROJECT_ID
) -> list[FeatureObject]:
    """The current definitions (all kinds, or one), by kind then name."""
    if kind is not None and kind not in KINDS:
        raise ValidationFailed(f"kind {kind!r}: use one of {', '.join(KINDS)}")
    query = sa.select(feature_objects).where(
        feature_objects.c.project_id == project_id, feature_objects.c.removed_at.is_(None)
    )
    if kind is not None:
        query = query.where(feature_objects.c.kind == kind)
    found = [_object(r) for r in conn.execute(query)]
    return sorted(found, key=lambda o: (KINDS.index(o.kind), o.name))


@in_current_project
def get_feature_object(
    conn: sa.Connection,
    name: str,
    kind: FeatureKind | None = None,
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> FeatureObject:
    """One current definition by name (a feature view first when ``kind`` is not given)."""
    found = [o for o in list_feature_objects(conn, kind, project_id=project_id) if o.name == name]
    if not found:
        raise NotFound(
            f"no {kind or 'feature definition'} {name!r}: `conveyor features list` shows them"
        )
    found.sort(key=lambda o: ("feature_view", "feature_service", "entity").index(o.kind))
    return found[0]


@in_current_project
def list_feature_versions(
    conn: sa.Connection,
    name: str,
    kind: FeatureKind = "feature_view",
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[FeatureObject]:
    """Every stored version of one definition, oldest first (removed ones too)."""
    row = conn.execute(
        sa.select(feature_objects).where(
            feature_objects.c.project_id == project_id,
            feature_objects.c.kind == kind,
            feature_objects.c.name == name,
        )
    ).first()
    if row is None:
        raise NotFound(f"no {kind} {name!r}: `conveyor features list` shows them")
    versions = conn.execute(
        sa.select(feature_object_versions)
        .where(feature_object_versions.c.object_id == row.id)
        .order_by(feature_object_versions.c.version)
    )
    return [
        FeatureObject(
            id=row.id,
            kind=kind,
            name=name,
            version=v.version,
            spec=v.spec,
            digest=v.digest,
            created_by=v.created_by,
            created_at=v.created_at,
            updated_at=v.created_at,
            removed_at=None,
        )
        for v in versions
    ]


@in_current_project
def resolve_features(
    conn: sa.Connection,
    features: list[str] | None = None,
    *,
    service: str | None = None,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[ResolvedView]:
    """The views to read for ``["view:feature", ...]`` or a feature service, in order."""
    live = _live(conn, project_id)
    if service is not None:
        row = live.get(("feature_service", service))
        if row is None:
            names = sorted(n for k, n in live if k == "feature_service")
            raise NotFound(
                f"no feature service {service!r}; services: {', '.join(names) or '(none)'}"
            )
        features = list(row.spec["features"])
    if not features:
        raise ValidationFailed("no features requested: pass ['view:feature', ...] or a service")
    views: dict[str, ResolvedView] = {}
    for ref in features:
        view_name, feat = parse_feature_ref(ref)
        row = live.get(("feature_view", view_name))
        if row is None:
            names = sorted(n for k, n in live if k == "feature_view")
            raise NotFound(
                f"feature {ref!r}: no feature view {view_name!r}; "
                f"views: {', '.join(names) or '(none)'}"
            )
        spec = row.spec
        by_name = {f["name"]: f for f in spec["features"]}
        if feat not in by_name:
            raise ValidationFailed(
                f"feature {ref!r}: view {view_name!r} has no feature {feat!r}; "
                f"its features: {', '.join(by_name)}"
            )
        view = views.get(view_name)
        if view is None:
            keys: list[str] = []
            for entity in spec["entities"]:
                keys += live[("entity", entity)].spec["join_keys"]
            view = views[view_name] = ResolvedView(
                name=view_name,
                version=row.version,
                join_keys=keys,
                features=[],
                source=spec["source"],
                ttl_s=float(spec.get("ttl_s") or 0.0),
                transformation=spec.get("transformation"),
                online=bool(spec.get("online", True)),
            )
        if feat not in view.feature_names:
            view.features.append(by_name[feat])
    return list(views.values())
