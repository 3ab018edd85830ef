"""Online lookups: the views of a request resolved once, then one store read per batch.

``FeatureLookup`` is what the SDK and the inference server use: it knows the views'
join keys, features, types and TTLs, reads every (view, entity) value of a batch in one
round trip, decodes and types them, and reports missing or expired values explicitly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conveyor.errors import ValidationFailed
from conveyor.features.online.base import OnlineStore, decode_value, entity_key, open_online_store
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


class FeatureLookup:
    """Reads ``views`` from ``store`` for batches of entity rows."""

    def __init__(self, views: Sequence[ResolvedView], store: OnlineStore) -> None:
        self.views = list(views)
        self.store = store
        self.join_keys = list(dict.fromkeys(k for v in self.views for k in v.join_keys))
        self._plan = [
            (
                v.name,
                v.join_keys,
                v.ttl_s * 1000.0,
                [(f["name"], _CAST[f["dtype"]], f.get("default")) for f in v.features],
            )
            for v in self.views
        ]

    def columns(self, full_feature_names: bool = False) -> list[str]:
        return [
            f"{name}__{f}" if full_feature_names else f
            for name, _, _, feats in self._plan
            for f, _, _ in feats
        ]

    def get(
        self,
        entity_rows: Sequence[dict[str, Any]],
        *,
        full_feature_names: bool = False,
        use_defaults: bool = False,
        now_ms: float | None = None,
    ) -> OnlineResponse:
        """Values for each row; ``use_defaults`` fills missing ones from the Fields' defaults."""
        for i, row in enumerate(entity_rows):
            for key in self.join_keys:
                if key not in row:
                    raise ValidationFailed(
                        f"entity row {i} has no join key {key!r}; it has: {', '.join(row)}"
                    )
        keys = [
            (view, entity_key([row[k] for k in join_keys]))
            for view, join_keys, _, _ in self._plan
            for row in entity_rows
        ]
        raw = self.store.read(keys)
        now = time.time() * 1000.0 if now_ms is None else now_ms
        n = len(entity_rows)
        values: dict[str, list[Any]] = {k: [row[k] for row in entity_rows] for k in self.join_keys}
        statuses: dict[str, list[str]] = {}
        event_ms: dict[str, list[int | None]] = {}
        for index, (view, _, ttl_ms, feats) in enumerate(self._plan):
            decoded: list[tuple[int, dict[str, Any]] | None] = [
                decode_value(r) if r is not None else None for r in raw[index * n : (index + 1) * n]
            ]
            status = [
                NOT_FOUND
                if d is None
                else OUTSIDE_MAX_AGE
                if ttl_ms and d[0] + ttl_ms < now
                else PRESENT
                for d in decoded
            ]
            event_ms[view] = [d[0] if d is not None else None for d in decoded]
            for name, cast, default in feats:
                column = f"{view}__{name}" if full_feature_names else name
                out: list[Any] = []
                for d, s in zip(decoded, status, strict=True):
                    value = d[1].get(name) if d is not None and s == PRESENT else None
                    if value is None and use_defaults:
                        value = default
                    out.append(cast(value) if value is not None else None)
                values[column] = out
                statuses[column] = status
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
