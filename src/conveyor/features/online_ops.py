"""Operations over the online store for remote clients and the CLI (the SDK and the
inference server read the store directly through ``lookup.FeatureLookup``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from conveyor._util import now_ms
from conveyor.features.lookup import FeatureLookup, shared_store
from conveyor.features.online.response import OnlineResponse
from conveyor.features.registry import list_feature_objects, resolve_features
from conveyor.features.tables import feature_materializations
from conveyor.store.projects import in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID

__all__ = ["Freshness", "feature_freshness", "online_features"]


@in_current_project
def online_features(
    conn: sa.Connection,
    entity_rows: list[dict[str, Any]],
    features: list[str] | None = None,
    *,
    service: str | None = None,
    full_feature_names: bool = False,
    project_id: str = DEFAULT_PROJECT_ID,
) -> OnlineResponse:
    """The online values of ``features`` (or a service's) for each entity row."""
    views = resolve_features(conn, features, service=service, project_id=project_id)
    return FeatureLookup(views, shared_store()).get(
        entity_rows, full_feature_names=full_feature_names
    )


@dataclass(slots=True)
class Freshness:
    """How old the newest materialized value of a view is (None: never materialized)."""

    view: str
    newest_event_ms: int | None
    age_s: float | None
    last_materialized_at: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@in_current_project
def feature_freshness(
    conn: sa.Connection, *, now: int | None = None, project_id: str = DEFAULT_PROJECT_ID
) -> list[Freshness]:
    """For each online view: the newest event time materialized and its age now."""
    t = feature_materializations
    rows = conn.execute(
        sa.select(t.c.view, sa.func.max(t.c.newest_event_ms), sa.func.max(t.c.created_at))
        .where(t.c.project_id == project_id)
        .group_by(t.c.view)
    )
    seen = {view: (newest, at) for view, newest, at in rows}
    clock = now_ms() if now is None else now
    out = []
    for obj in list_feature_objects(conn, "feature_view", project_id=project_id):
        newest, at = seen.get(obj.name, (None, None))
        age = (clock - newest) / 1000.0 if newest is not None else None
        out.append(Freshness(obj.name, newest, age, at))
    return out
