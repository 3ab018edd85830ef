"""The Redis (or Valkey) online store: one string key per (view, entity), MGET to read.

A batch read for any number of views and entities is one ``MGET`` — one round trip.
Writes run a small Lua script per key in pipelines, so a stored newer value is never
replaced by an older one. Connect and socket timeouts bound every call: an unreachable
server is a ``StoreUnavailable`` after ``features_online_timeout_s``, never a hang.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from conveyor.errors import StoreUnavailable, ValidationFailed
from conveyor.features.online.base import OnlineStore

__all__ = ["RedisOnlineStore"]

_PIPELINE = 2_000

_KEEP_NEWEST = """
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, 16) > string.sub(ARGV[1], 1, 16) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
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
        self._script: Any = None

    def _key(self, view: str, key: bytes) -> bytes:
        return self._prefix + view.encode() + b"\x1f" + key

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"online store {self.url} unreachable ({type(exc).__name__}: {exc}); "
            "check the server and CONVEYOR_FEATURES_ONLINE_URL"
        )

    def write(self, view: str, rows: Iterable[tuple[bytes, bytes]]) -> int:
        count = 0
        try:
            if self._script is None:
                self._script = self._redis.register_script(_KEEP_NEWEST)
            pipe = self._redis.pipeline(transaction=False)
            for key, value in rows:
                self._script(keys=[self._key(view, key)], args=[value], client=pipe)
                count += 1
                if count % _PIPELINE == 0:
                    pipe.execute()
            pipe.execute()
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        return count

    def read(self, keys: Sequence[tuple[str, bytes]]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            values: Any = self._redis.mget([self._key(v, k) for v, k in keys])
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
