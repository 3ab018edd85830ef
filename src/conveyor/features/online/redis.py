"""The Redis (or Valkey) online store: one string key per (view, entity), MGET to read.

A batch read for any number of views and entities is one ``MGET`` — one round trip.
Writes read the stored event times of a chunk of keys (``MGET``) and write only the
values at least as new (``MSET``), so a stored newer value is not replaced by an older
one. Connect and socket timeouts bound every call: an unreachable server is a
``StoreUnavailable`` after ``features_online_timeout_s``, never a hang.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from conveyor.errors import StoreUnavailable, ValidationFailed
from conveyor.features.online.base import OnlineStore

__all__ = ["RedisOnlineStore"]

_CHUNK = 5_000  # keys per MGET/MSET pair


class RedisOnlineStore(OnlineStore):
    """``redis://host:6379/0`` (any Redis/Valkey URL redis-py accepts)."""

    def __init__(self, url: str, timeout_s: float, project: str) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - the extra is in dev
            raise ValidationFailed(
                f"online store {url}: Redis needs redis-py: pip install 'conveyor[redis]'"
            ) from None

        self.url = url
        self._errors = (redis.RedisError, OSError)
        self._prefix = f"cvf:{project}:".encode()  # short: a batch read sends every key
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=False,
            retry=None,
        )
        self._view_prefixes: dict[str, bytes] = {}

    def _view_prefix(self, view: str) -> bytes:
        prefix = self._view_prefixes.get(view)
        if prefix is None:
            prefix = self._view_prefixes[view] = self._prefix + view.encode() + b"\x1f"
        return prefix

    def _key(self, view: str, key: bytes) -> bytes:
        return self._view_prefix(view) + key

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"online store {self.url} unreachable ({type(exc).__name__}: {exc}); "
            "check the server and CONVEYOR_FEATURES_ONLINE_URL"
        )

    def write(self, view: str, rows: Iterable[tuple[bytes, bytes]]) -> int:
        count = 0
        try:
            chunk: list[tuple[bytes, bytes]] = []
            for key, value in rows:
                chunk.append((self._key(view, key), value))
                count += 1
                if len(chunk) >= _CHUNK:
                    self._write_chunk(chunk)
                    chunk = []
            if chunk:
                self._write_chunk(chunk)
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        return count

    def _write_chunk(self, chunk: list[tuple[bytes, bytes]]) -> None:
        """Two round trips per chunk: read the stored times, write the newer values.

        A concurrent writer between the two could still be overwritten by an older value;
        materializations of one view do not run concurrently, so the read-compare-write
        keeps the common case idempotent without a script call per key.
        """
        stored: Any = self._redis.mget([k for k, _ in chunk])
        newer = {
            k: v
            for (k, v), old in zip(chunk, stored, strict=True)
            if old is None or old[:16] <= v[:16]
        }
        if newer:
            self._redis.mset(newer)

    def read(self, keys: Sequence[tuple[str, bytes]]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            values: Any = self._redis.mget([self._key(v, k) for v, k in keys])
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        return values

    def read_many(
        self, views: Sequence[str], keys: Sequence[Sequence[bytes]]
    ) -> list[bytes | None]:
        prefixes = [self._view_prefix(v) for v in views]
        full = [p + k for p, ks in zip(prefixes, keys, strict=True) for k in ks]
        if not full:
            return []
        try:
            values: Any = self._redis.mget(full)
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        return values

    def clear(self, view: str | None = None) -> None:
        pattern = self._prefix + (view.encode() + b"\x1f" if view else b"") + b"*"
        try:
            batch = []
            for key in self._redis.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self._redis.delete(*batch)
                    batch = []
            if batch:
                self._redis.delete(*batch)
        except self._errors as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        self._redis.close()
