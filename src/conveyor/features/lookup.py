"""Online lookups: the views of a request resolved once, then one store read per batch.

``FeatureLookup`` is what the SDK and the inference server use: it knows the views'
join keys, features, types and TTLs, reads every (view, entity) value of a batch in one
round trip, decodes and types them, and reports missing or expired values explicitly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from orjson import dumps, loads

from conveyor.errors import ValidationFailed
from conveyor.features.online.base import OnlineStore, entity_key, open_online_store
from conveyor.features.online.response import (
    NOT_FOUND,
    OUTSIDE_MAX_AGE,
    PRESENT,
    OnlineResponse,
)

if TYPE_CHECKING:
    from conveyor.features.registry import ResolvedView

__all__ = ["FeatureLookup", "reset_lookups", "shared_store"]

_CAST: dict[str, Any] = {
    "int32": int,
    "int64": int,
    "float32": float,
    "float64": float,
    "string": str,
    "bool": bool,
    "timestamp": int,
}


def _key_of(values: list[Any]) -> bytes:
    """``entity_key`` without its per-value numpy check for plain Python values."""
    try:
        return dumps(values)
    except TypeError:  # numpy scalars and the like
        return entity_key(values)


class FeatureLookup:
    """Reads ``views`` from ``store`` for batches of entity rows.

    Everything that does not depend on the rows is worked out once here: the distinct join
    key groups (views sharing join keys share the entity keys computed per row), the output
    column names of both naming modes (checked for collisions once), and per feature its
    name, type cast and default. ``get`` then builds the keys, makes one ``read_many`` and
    decodes — no definitions read, no pandas.
    """

    def __init__(self, views: Sequence[ResolvedView], store: OnlineStore) -> None:
        self.views = list(views)
        self.store = store
        self.join_keys = list(dict.fromkeys(k for v in self.views for k in v.join_keys))
        groups = list(dict.fromkeys(tuple(v.join_keys) for v in self.views))
        self._groups = groups
        self._view_names = [v.name for v in self.views]
        self._view_groups = [groups.index(tuple(v.join_keys)) for v in self.views]
        self._plan = [
            (
                v.name,
                v.ttl_s * 1000.0,
                [(f["name"], _CAST[f["dtype"]], f.get("default")) for f in v.features],
            )
            for v in self.views
        ]
        self._names: dict[bool, list[list[str]] | ValidationFailed] = {}

    def _columns_by_view(self, full_feature_names: bool) -> list[list[str]]:
        found = self._names.get(full_feature_names)
        if found is None:
            per_view = [
                [f"{name}__{f}" if full_feature_names else f for f, _, _ in feats]
                for name, _, feats in self._plan
            ]
            names = [n for view in per_view for n in view]
            found = per_view
            if len(set(names)) != len(names) or set(names) & set(self.join_keys):
                taken = sorted({n for n in names if names.count(n) > 1 or n in self.join_keys})
                found = ValidationFailed(
                    f"feature name(s) {', '.join(taken)} appear in several views (or as a "
                    "join key); pass full_feature_names=True for view__feature names"
                )
            self._names[full_feature_names] = found
        if isinstance(found, ValidationFailed):
            raise found
        return found

    def columns(self, full_feature_names: bool = False) -> list[str]:
        return [n for view in self._columns_by_view(full_feature_names) for n in view]

    def _keys(self, entity_rows: Sequence[dict[str, Any]]) -> list[list[bytes]]:
        try:
            return [
                [_key_of([row[k] for k in group]) for row in entity_rows] for group in self._groups
            ]
        except KeyError:
            for i, row in enumerate(entity_rows):
                for key in self.join_keys:
                    if key not in row:
                        raise ValidationFailed(
                            f"entity row {i} has no join key {key!r}; it has: {', '.join(row)}"
                        ) from None
            raise
        except TypeError:
            raise ValidationFailed(
                "entity rows must be objects with the join keys "
                f"{', '.join(self.join_keys)}, e.g. {{{self.join_keys[0]!r}: 42}}"
            ) from None

    def get(
        self,
        entity_rows: Sequence[dict[str, Any]],
        *,
        full_feature_names: bool = False,
        use_defaults: bool = False,
        now_ms: float | None = None,
    ) -> OnlineResponse:
        """Values for each row; ``use_defaults`` fills missing ones from the Fields' defaults."""
        columns = self._columns_by_view(full_feature_names)
        raw = self.store.read_many(self._view_names, self._view_keys(entity_rows))
        return self._decode(entity_rows, columns, raw, use_defaults, now_ms)

    async def get_async(
        self,
        entity_rows: Sequence[dict[str, Any]],
        *,
        use_defaults: bool = False,
        executor: Executor | None = None,
    ) -> OnlineResponse:
        """``get`` from an event loop (the inference server): the store read without
        blocking the loop where the store can (Redis), else in ``executor``."""
        columns = self._columns_by_view(False)
        keys = self._view_keys(entity_rows)
        raw = await self.store.read_many_async(self._view_names, keys, executor)
        return self._decode(entity_rows, columns, raw, use_defaults, None)

    def _view_keys(self, entity_rows: Sequence[dict[str, Any]]) -> list[list[bytes]]:
        """The entity keys to read, view after view."""
        by_group = self._keys(entity_rows)
        return [by_group[g] for g in self._view_groups]

    def _decode(
        self,
        entity_rows: Sequence[dict[str, Any]],
        columns: list[list[str]],
        raw: list[bytes | None],
        use_defaults: bool,
        now_ms: float | None,
    ) -> OnlineResponse:
        """The typed values (and statuses, event times) of the raw ``read_many`` answer."""
        now = time.time() * 1000.0 if now_ms is None else now_ms
        n = len(entity_rows)
        values: dict[str, list[Any]] = {k: [row[k] for row in entity_rows] for k in self.join_keys}
        statuses: dict[str, list[str]] = {}
        event_ms: dict[str, list[int | None]] = {}
        for index, (view, ttl_ms, feats) in enumerate(self._plan):
            found: list[dict[str, Any] | None] = []
            status: list[str] = []
            times: list[int | None] = []
            for value in raw[index * n : (index + 1) * n]:
                if value is None:
                    found.append(None)
                    status.append(NOT_FOUND)
                    times.append(None)
                    continue
                ts = int(value[:16])
                times.append(ts)
                if ttl_ms and ts + ttl_ms < now:
                    found.append(None)
                    status.append(OUTSIDE_MAX_AGE)
                else:
                    found.append(loads(memoryview(value)[16:]))
                    status.append(PRESENT)
            event_ms[view] = times
            names = columns[index]
            if n == 1:  # the serving case: no per-column lists to build and scan
                row_values = found[0] or {}
                for key, (name, cast, default) in zip(names, feats, strict=True):
                    v = row_values.get(name)
                    if v is not None and type(v) is not cast:
                        v = cast(v)
                    elif v is None and use_defaults:
                        v = default
                    values[key] = [v]
                    statuses[key] = status
                continue
            complete = status.count(PRESENT) == n
            for key, (name, cast, default) in zip(names, feats, strict=True):
                if complete:
                    column = [d.get(name) for d in found]  # type: ignore[union-attr]
                else:
                    column = [d.get(name) if d is not None else None for d in found]
                # a column is written from one Arrow column: its first value tells its type
                sample = next((v for v in column if v is not None), None)
                if sample is not None and type(sample) is not cast:
                    column = [cast(v) if v is not None else None for v in column]
                if use_defaults and default is not None:
                    column = [default if v is None else v for v in column]
                values[key] = column
                statuses[key] = status
        return OnlineResponse(values, statuses, event_ms)


_STORES: dict[str, OnlineStore] = {}
_LOCK = threading.Lock()


def shared_store(url: str | None = None) -> OnlineStore:
    """One open online store per URL in this process."""
    from conveyor.features.online.base import default_online_url

    url = url or default_online_url()
    with _LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = open_online_store(url)
        return store


def reset_lookups() -> None:
    """Forget cached lookups and close the shared stores (tests, settings changes)."""
    with _LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()
        for forget in _ON_RESET:
            forget()


#: Caches above this module (the SDK's resolved lookups) cleared with the stores.
_ON_RESET: list[Any] = []
