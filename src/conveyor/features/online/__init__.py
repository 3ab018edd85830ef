"""Online stores: the latest value of each view per entity, for lookups at serving time.

Backends are registered by URL scheme and loaded lazily: ``sqlite:///path`` (embedded,
the default) and ``redis://`` / ``rediss://`` / ``unix://`` (any Redis or Valkey).
"""

from __future__ import annotations

from conveyor.features.online.base import OnlineStore, entity_key, open_online_store

__all__ = ["OnlineStore", "entity_key", "open_online_store"]
