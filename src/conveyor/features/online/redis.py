"""The Redis (or Valkey) online store: one string key per (view, entity), MGET to read.

A batch read for any number of views and entities is one ``MGET`` — one round trip.
Writes go a chunk of keys at a time through one Lua script (``EVALSHA``), which, for each
key, compares the stored event time with the new one and sets the value only when it is
at least as new. A script runs atomically in Redis, so two materializations racing on the
same keys end, for every (view, entity), with the value of the newest event — whatever
the interleaving, never an older value over a newer one, and a value is always one run's
whole feature vector (one key holds all the view's features). Connect and socket timeouts
bound every call: an unreachable server is a ``StoreUnavailable`` after
``features_online_timeout_s``, never a hang.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from conveyor._util import hide_credentials
from conveyor.errors import StoreUnavailable, ValidationFailed
from conveyor.features.online.base import OnlineStore

__all__ = ["RedisOnlineStore"]

#: For each key: set ARGV[i] unless the stored value's event time (its first 16 digits) is
#: newer; returns how many were set.
_WRITE_NEWER = """
local n = 0
for i, key in ipairs(KEYS) do
  local new = ARGV[i]
  local old = redis.call('GET', key)
  if (not old) or string.sub(old, 1, 16) <= string.sub(new, 1, 16) then
    redis.call('SET', key, new)
    n = n + 1
  end
end
return n
"""


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
        self._write_newer = self._redis.register_script(_WRITE_NEWER)
        #: keys per script call: large enough to amortise the round trip, small enough
        #: that one call blocks the server for a few ms at most
        self.chunk = 2_000

    def _view_prefix(self, view: str) -> bytes:
        prefix = self._view_prefixes.get(view)
        if prefix is None:
            prefix = self._view_prefixes[view] = self._prefix + view.encode() + b"\x1f"
        return prefix

    def _key(self, view: str, key: bytes) -> bytes:
        return self._view_prefix(view) + key

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(  # answered to inference clients: no password in it
            hide_credentials(
                f"online store {self.url} unreachable ({type(exc).__name__}: {exc}); "
                "check the server and CONVEYOR_FEATURES_ONLINE_URL"
            )
        )

    def write(self, view: str, rows: Iterable[tuple[bytes, bytes]]) -> int:
        count = 0
        try:
            chunk: list[tuple[bytes, bytes]] = []
            for key, value in rows:
                chunk.append((self._key(view, key), value))
                count += 1
                if len(chunk) >= self.chunk:
                    self._write_chunk(chunk)
                    chunk = []
            if chunk:
                self._write_chunk(chunk)
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        return count

    def _write_chunk(self, chunk: list[tuple[bytes, bytes]]) -> None:
        """One atomic script call: each value set unless a newer one is stored."""
        self._write_newer(keys=[k for k, _ in chunk], args=[v for _, v in chunk])

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
