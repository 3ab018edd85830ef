"""The feature store: definitions, offline (DuckDB/PostgreSQL) and online (SQLite/Redis).

Define features in Python with the names a Feast user knows (``Entity``, ``FeatureView``,
``Field``, ``FeatureService``, sources), apply them with ``conveyor features apply
defs.py``, build point-in-time-correct training sets with ``get_historical_features``,
materialize the latest values to an online store and read them with
``get_online_features``. See docs/features.md.

Heavy modules (DuckDB, redis-py, pandas) load on first use.
"""

from __future__ import annotations

from conveyor._lazy import lazy_getattr

_NAMES = {
    "Entity": "conveyor.features.definitions",
    "Field": "conveyor.features.definitions",
    "FeatureView": "conveyor.features.definitions",
    "FeatureService": "conveyor.features.definitions",
    "FileSource": "conveyor.features.definitions",
    "DatasetSource": "conveyor.features.definitions",
    "PostgreSQLSource": "conveyor.features.definitions",
    "Int32": "conveyor.features.definitions",
    "Int64": "conveyor.features.definitions",
    "Float32": "conveyor.features.definitions",
    "Float64": "conveyor.features.definitions",
    "String": "conveyor.features.definitions",
    "Bool": "conveyor.features.definitions",
    "UnixTimestamp": "conveyor.features.definitions",
    "get_historical_features": "conveyor.features.sdk",
    "get_online_features": "conveyor.features.sdk",
    "materialize": "conveyor.features.sdk",
    "materialize_incremental": "conveyor.features.sdk",
    "apply": "conveyor.features.sdk",
}

__all__ = sorted(_NAMES)

__getattr__ = lazy_getattr(__name__, _NAMES)
