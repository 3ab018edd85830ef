"""Feature definitions in Python, with the names a Feast user knows.

``Entity`` (join keys), ``Field`` (a typed feature), sources (``FileSource`` for a folder or
file of Parquet/CSV, ``DatasetSource`` for a Conveyor dataset, ``PostgreSQLSource`` for a
table), ``FeatureView`` (features of one source keyed by entities, an event-timestamp
column, a TTL, an optional transformation) and ``FeatureService`` (the named list of
features a model uses). Features are addressed ``"view:feature"``.

Each object turns into a JSON spec (``to_spec``) — what the store versions, what the apply
plan compares — and back (``from_spec``). Nothing here touches a store.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from conveyor._util import check_name
from conveyor.errors import ValidationFailed

__all__ = [
    "DTYPES",
    "Bool",
    "DatasetSource",
    "Entity",
    "FeatureService",
    "FeatureView",
    "Field",
    "FileSource",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "PostgreSQLSource",
    "String",
    "UnixTimestamp",
    "parse_feature_ref",
]

# Feast's type names, as the strings the specs carry.
Int32, Int64, Float32, Float64, String, Bool, UnixTimestamp = (
    "int32",
    "int64",
    "float32",
    "float64",
    "string",
    "bool",
    "timestamp",
)
DTYPES = (Int32, Int64, Float32, Float64, String, Bool, UnixTimestamp)


def _dtype(value: Any) -> str:
    name = getattr(value, "__name__", value)  # accept Int64 or "int64" or "Int64"
    text = str(name).lower()
    if text not in DTYPES:
        raise ValidationFailed(f"feature type {value!r}: use one of {', '.join(DTYPES)}")
    return text


@dataclass(frozen=True)
class Entity:
    """What features are about (a customer, a driver) and the column(s) that identify it."""

    name: str
    join_keys: Sequence[str] = ()
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "entity name")
        keys = list(self.join_keys) or [self.name]
        object.__setattr__(self, "join_keys", tuple(keys))

    kind = "entity"

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": list(self.join_keys),
            "description": self.description,
        }


@dataclass(frozen=True)
class Field:
    """One feature (or column) and its type: ``Field(name="orders_7d", dtype=Int64)``."""

    name: str
    dtype: str = Float64
    default: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", _dtype(self.dtype))

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "default": self.default}


@dataclass(frozen=True)
class FileSource:
    """Parquet or CSV files: one file, or a folder read recursively (``**/*.parquet``)."""

    path: str
    timestamp_field: str = "event_timestamp"
    created_timestamp_column: str | None = None
    file_format: str = "parquet"

    def __post_init__(self) -> None:
        if self.file_format not in ("parquet", "csv"):
            raise ValidationFailed(f"FileSource {self.path}: file_format is parquet or csv")

    def to_spec(self) -> dict[str, Any]:
        return {
            "type": "file",
            "path": self.path,
            "timestamp_field": self.timestamp_field,
            "created_timestamp_column": self.created_timestamp_column,
            "file_format": self.file_format,
        }


@dataclass(frozen=True)
class DatasetSource:
    """A Conveyor dataset (its latest version, or a pinned one)."""

    name: str
    timestamp_field: str = "event_timestamp"
    version: int | None = None
    created_timestamp_column: str | None = None

    def to_spec(self) -> dict[str, Any]:
        return {
            "type": "dataset",
            "name": self.name,
            "version": self.version,
            "timestamp_field": self.timestamp_field,
            "created_timestamp_column": self.created_timestamp_column,
        }


@dataclass(frozen=True)
class PostgreSQLSource:
    """A PostgreSQL table; point-in-time joins on it run in PostgreSQL (LATERAL join).

    ``url`` defaults to the ``features_postgres_url`` setting, then the metadata store's URL
    when it is PostgreSQL.
    """

    table: str
    timestamp_field: str = "event_timestamp"
    url: str | None = None
    created_timestamp_column: str | None = None

    def to_spec(self) -> dict[str, Any]:
        return {
            "type": "postgresql",
            "table": self.table,
            "url": self.url,
            "timestamp_field": self.timestamp_field,
            "created_timestamp_column": self.created_timestamp_column,
        }


Source = FileSource | DatasetSource | PostgreSQLSource


def _transformation_spec(fn: Callable[..., Any] | str | None) -> dict[str, Any] | None:
    """SQL text runs in DuckDB over ``source``; a function is stored by import reference."""
    if fn is None:
        return None
    if isinstance(fn, str):
        return {"kind": "sql", "sql": fn}
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    if not module or "<" in qualname:
        raise ValidationFailed(
            "transformation: a module-level function (or SQL text over `source`), not a lambda"
        )
    path = inspect.getsourcefile(fn) or ""
    code = inspect.getsource(fn)
    return {
        "kind": "python",
        "function": f"{module}:{qualname}",
        "file": path,
        "code_sha256": hashlib.sha256(code.encode()).hexdigest(),
    }


@dataclass(frozen=True)
class FeatureView:
    """Features of one source keyed by entities, valid for ``ttl`` after their timestamp.

    ``transformation``: SQL over the relation ``source`` (``"SELECT *, a / b AS ratio FROM
    source"``) or a module-level Python function ``DataFrame -> DataFrame``, applied to the
    source rows before joins and materialization. ``ttl=None`` (or zero) means no expiry.
    """

    name: str
    entities: Sequence[Entity | str]
    schema: Sequence[Field]
    source: Source
    ttl: timedelta | None = None
    transformation: Callable[..., Any] | str | None = None
    online: bool = True
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    kind = "feature_view"

    def __post_init__(self) -> None:
        check_name(self.name, "feature view name")
        if not self.entities:
            raise ValidationFailed(f"feature view {self.name!r}: needs at least one entity")
        if not self.schema:
            raise ValidationFailed(f"feature view {self.name!r}: schema lists no features")
        names = [f.name for f in self.schema]
        if len(set(names)) != len(names):
            raise ValidationFailed(f"feature view {self.name!r}: a feature is listed twice")

    def __getitem__(self, names: Iterable[str]) -> FeatureViewProjection:
        """``view[["a", "b"]]``: some of the view's features (for a FeatureService)."""
        wanted = [names] if isinstance(names, str) else list(names)
        known = [f.name for f in self.schema]
        for name in wanted:
            if name not in known:
                raise ValidationFailed(
                    f"feature view {self.name!r} has no feature {name!r}; "
                    f"its features: {', '.join(known)}"
                )
        return FeatureViewProjection(self.name, tuple(wanted))

    def to_spec(self) -> dict[str, Any]:
        ttl = self.ttl.total_seconds() if self.ttl else 0.0
        return {
            "name": self.name,
            "entities": [e if isinstance(e, str) else e.name for e in self.entities],
            "features": [f.to_spec() for f in self.schema],
            "source": self.source.to_spec(),
            "ttl_s": ttl,
            "transformation": _transformation_spec(self.transformation),
            "online": self.online,
            "description": self.description,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class FeatureViewProjection:
    view: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class FeatureService:
    """A named list of features a model uses: views, projections or ``"view:feature"``."""

    name: str
    features: Sequence[FeatureView | FeatureViewProjection | str]
    description: str = ""

    kind = "feature_service"

    def __post_init__(self) -> None:
        check_name(self.name, "feature service name")

    def refs(self) -> list[str]:
        out: list[str] = []
        for item in self.features:
            if isinstance(item, str):
                parse_feature_ref(item)
                out.append(item)
            elif isinstance(item, FeatureView):
                out.extend(f"{item.name}:{f.name}" for f in item.schema)
            else:
                out.extend(f"{item.view}:{f}" for f in item.features)
        return out

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "features": self.refs(), "description": self.description}


def parse_feature_ref(ref: str) -> tuple[str, str]:
    """``"view:feature"`` → ``("view", "feature")``; anything else is refused."""
    view, sep, name = str(ref).partition(":")
    if not sep or not view or not name or ":" in name:
        raise ValidationFailed(f"feature {ref!r}: address features as 'view:feature'")
    return view, name


KINDS = ("entity", "feature_view", "feature_service")
