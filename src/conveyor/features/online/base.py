"""The online store seam: write rows, read many keys in one round trip.

A row is ``(view, entity key, value)``; the value is the event time (16 zero-padded
digits of epoch ms, so stores compare it as text) followed by the JSON of the features.
A write never replaces a newer value with an older one, so re-running a materialization,
or running windows out of order, leaves the newest value in place (idempotent).
"""

from __future__ import annotations

import asyncio
import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import orjson

from conveyor.errors import ValidationFailed

__all__ = ["OnlineStore", "decode_value", "encode_value", "entity_key", "open_online_store"]

#: URL scheme -> "module:class", loaded on first use.
BACKENDS = {
    "sqlite": "conveyor.features.online.sqlite:SQLiteOnlineStore",
    "redis": "conveyor.features.online.redis:RedisOnlineStore",
    "rediss": "conveyor.features.online.redis:RedisOnlineStore",
    "unix": "conveyor.features.online.redis:RedisOnlineStore",
}


def entity_key(values: Sequence[Any]) -> bytes:
    """The key of an entity: its join key values as JSON (``42`` and ``"42"`` differ)."""
    return orjson.dumps([v.item() if hasattr(v, "item") else v for v in values])


def encode_value(event_ms: int, features: dict[str, Any]) -> bytes:
    return b"%016d" % event_ms + orjson.dumps(features, option=orjson.OPT_SERIALIZE_NUMPY)


def decode_value(raw: bytes) -> tuple[int, dict[str, Any]]:
    return int(raw[:16]), orjson.loads(raw[16:])


class OnlineStore(ABC):
    """What materialization writes and lookups read."""

    url: str

    @abstractmethod
    def write(self, view: str, rows: Iterable[tuple[bytes, bytes]]) -> int:
        """Store ``(entity key, value)`` pairs unless a newer value is stored; rows taken."""

    @abstractmethod
    def read(self, keys: Sequence[tuple[str, bytes]]) -> list[bytes | None]:
        """The values of ``(view, entity key)`` pairs, in order, in one round trip."""

    def read_many(
        self, views: Sequence[str], keys: Sequence[Sequence[bytes]]
    ) -> list[bytes | None]:
        """``keys[i]`` of ``views[i]``, view after view, in one round trip (the hot path:
        backends override it to skip building the ``(view, key)`` pairs)."""
        return self.read([(view, key) for view, ks in zip(views, keys, strict=True) for key in ks])

    async def read_many_async(
        self,
        views: Sequence[str],
        keys: Sequence[Sequence[bytes]],
        executor: Executor | None = None,
    ) -> list[bytes | None]:
        """``read_many`` from an event loop: in ``executor`` (a thread hop), unless the
        backend has a non-blocking client (Redis on TCP does)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, self.read_many, views, keys)

    @abstractmethod
    def clear(self, view: str | None = None) -> None:
        """Delete a view's values (or every value of this project)."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""

    def close_loop(self) -> None:  # noqa: B027 - optional
        """Release the running event loop's connection (``read_many_async``), if any: the
        inference server's shutdown, before its loop ends."""


def default_online_url() -> str:
    from conveyor.config import get_settings

    settings = get_settings()
    if settings.features_online_url:
        return str(settings.features_online_url)
    path: Path = settings.home_path / "features" / "online.db"
    return f"sqlite:///{path.absolute()}"


def open_online_store(
    url: str | None = None, *, timeout_s: float | None = None, project: str = "default"
) -> OnlineStore:
    """The online store at ``url`` (default: the ``features_online_url`` setting)."""
    from conveyor.config import get_settings

    url = url or default_online_url()
    scheme = url.partition("://")[0]
    target = BACKENDS.get(scheme)
    if target is None:
        raise ValidationFailed(
            f"online store {url!r}: use one of {', '.join(f'{s}://' for s in BACKENDS)}"
        )
    module, _, cls = target.partition(":")
    timeout = get_settings().features_online_timeout_s if timeout_s is None else timeout_s
    store: OnlineStore = getattr(importlib.import_module(module), cls)(url, timeout, project)
    return store
