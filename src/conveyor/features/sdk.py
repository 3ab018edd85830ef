"""The SDK edge of the feature store: the functions users call, on ``conveyor.connect()``.

``get_historical_features`` joins next to the data (in this process, DuckDB);
``get_online_features`` reads the online store directly (the hot path skips the metadata
store once the views are known); ``apply`` and ``materialize*`` go through the operation
table, so they run on the server when ``CONVEYOR_URI`` names one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from conveyor.config import get_settings
from conveyor.features import lookup as _lookup_module

_CACHE: dict[tuple[Any, ...], tuple[float, Any, Any]] = {}
_lookup_module._ON_RESET.append(_CACHE.clear)
#: Seconds a resolved lookup is reused before the definitions are read again.
REFRESH_S = 10.0

if TYPE_CHECKING:
    from conveyor.client import Client
    from conveyor.features.lookup import FeatureLookup
    from conveyor.features.offline import HistoricalFeatures
    from conveyor.features.online.response import OnlineResponse

__all__ = [
    "apply",
    "get_historical_features",
    "get_online_features",
    "lookup_for",
    "materialize",
    "materialize_incremental",
]


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    import conveyor

    return conveyor.connect()


def _feature_args(features: Any) -> dict[str, Any]:
    """``["view:feature", ...]``, a FeatureService, or a feature service's name."""
    from conveyor.features.definitions import FeatureService

    if isinstance(features, FeatureService):
        return {"service": features.name}
    if isinstance(features, str):
        return {"service": features} if ":" not in features else {"features": [features]}
    return {"features": list(features)}


def dataset_file(client: Client) -> Any:
    """``(name, version) -> Parquet path``: a dataset version, cached by its sha256."""
    from conveyor.features.sources import cached_dataset_file

    return cached_dataset_file(client.get_dataset_version, client.download_blob)


def get_historical_features(
    entity_df: Any,
    features: Any,
    *,
    timestamp_column: str = "event_timestamp",
    full_feature_names: bool = False,
    client: Client | None = None,
) -> HistoricalFeatures:
    """Point-in-time-correct features for each row of ``entity_df`` (see docs/features.md).

    ``entity_df``: DataFrame, Arrow table or Parquet path with the join keys and
    ``timestamp_column``. ``features``: ``["view:feature", ...]``, a ``FeatureService``
    or its name. Returns a ``HistoricalFeatures`` (``to_df()``, ``to_parquet()``,
    ``log_dataset(name)``).
    """
    from conveyor.features.offline import historical_features

    client = _client(client)
    views = client.resolve_features(**_feature_args(features))
    settings = get_settings()
    return historical_features(
        entity_df,
        views,
        timestamp_column=timestamp_column,
        full_feature_names=full_feature_names,
        dataset_file=dataset_file(client),
        memory_limit=settings.features_memory_limit,
        postgres_url=settings.features_postgres_url or None,
    )


def get_online_features(
    features: Any,
    entity_rows: list[dict[str, Any]],
    *,
    full_feature_names: bool = False,
    client: Client | None = None,
) -> OnlineResponse:
    """The latest materialized values for each entity row, in one online-store round trip.

    Missing keys and values older than the view's TTL are reported in
    ``response.statuses`` (``"NOT_FOUND"``, ``"OUTSIDE_MAX_AGE"``), their values None.
    """
    if isinstance(features, list):  # the common call: no argument shapes to work out
        lookup = lookup_for(client, features)
    else:
        lookup = lookup_for(client, **_feature_args(features))
    return lookup.get(entity_rows, full_feature_names=full_feature_names)


def lookup_for(
    client: Client | None, features: list[str] | None = None, service: str | None = None
) -> FeatureLookup:
    """A lookup for these features, reused for ``REFRESH_S`` seconds.

    The cache is keyed without building a client (``conveyor.connect()`` resolves store
    URLs: tens of µs per call). When the definitions are read again and the views' versions
    did not change, the lookup already built (its key layout and decoders) is kept.
    """
    settings = get_settings()
    key = (id(settings) if client is None else client.location, tuple(features or ()), service)
    hit = _CACHE.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < REFRESH_S and (client is not None or hit[2] is settings):
        return hit[1]
    views = _client(client).resolve_features(features, service=service)
    store = _lookup_module.shared_store()
    lookup = hit[1] if hit is not None else None
    if lookup is None or lookup.store is not store or _versions(lookup.views) != _versions(views):
        lookup = _lookup_module.FeatureLookup(views, store)
    _CACHE[key] = (now, lookup, settings)
    return lookup


def _versions(views: list[Any]) -> list[tuple[str, int, list[str], list[str]]]:
    """What a lookup's layout depends on (an entity's join keys change no view version)."""
    return [(v.name, v.version, v.join_keys, v.feature_names) for v in views]


def apply(objects: list[Any], *, dry_run: bool = False, client: Client | None = None) -> Any:
    """Apply definition objects (Entity, FeatureView, FeatureService); the plan."""
    from conveyor.features.loader import definitions_of

    return _client(client).apply_features(definitions_of(objects), dry_run=dry_run)


def materialize(
    start: Any = None,
    end: Any = None,
    *,
    views: list[str] | None = None,
    client: Client | None = None,
) -> Any:
    """Write the latest value per entity with event time in [start, end] to the online store."""
    return _client(client).materialize_features(start=start, end=end, views=views)


def materialize_incremental(
    end: Any = None, *, views: list[str] | None = None, client: Client | None = None
) -> Any:
    """Materialize from where each view's last materialization ended, up to ``end`` (now)."""
    return _client(client).materialize_features(end=end, views=views, incremental=True)
