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

The inference server reads from its event loop (``read_many_async``): on a ``redis://``
TCP URL, one connection per event loop, written and read without blocking, commands
pipelined and their replies matched in order (hiredis parses them) — no thread hop. A
timeout or a lost connection fails the reads waiting on it and the next read reconnects.
Other URLs (``rediss://``, ``unix://``) and a missing hiredis read in the thread pool.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from contextlib import suppress
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


def _command(*args: bytes) -> bytes:
    """``args`` as one RESP command."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class _Pipe(asyncio.Protocol):
    """One event loop's connection: commands pipelined, replies matched in order."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.transport: Any = None  # asyncio's or uvloop's TCP transport
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while self.waiters:
            reply = self.reader.gets()
            if reply is False:
                return
            waiter = self.waiters.popleft()
            if not waiter.done():  # its reader timed out: the reply is dropped
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("connection closed")
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(self.lost)

    def close(self) -> None:
        if self.lost is None:
            self.lost = ConnectionError("connection closed")
        if self.transport is not None:
            self.transport.close()

    async def call(self, command: bytes) -> Any:
        if self.lost is not None:
            raise self.lost
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        self.transport.write(command)
        reply = await waiter
        if isinstance(reply, Exception):  # an error reply (hiredis returns it)
            raise reply
        return reply


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
        self._timeout_s = timeout_s
        self._async = _async_target(url)
        self._pipes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pipe] = (
            weakref.WeakKeyDictionary()
        )
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

    def _full_keys(self, views: Sequence[str], keys: Sequence[Sequence[bytes]]) -> list[bytes]:
        prefixes = [self._view_prefix(v) for v in views]
        return [p + k for p, ks in zip(prefixes, keys, strict=True) for k in ks]

    def read_many(
        self, views: Sequence[str], keys: Sequence[Sequence[bytes]]
    ) -> list[bytes | None]:
        full = self._full_keys(views, keys)
        if not full:
            return []
        try:
            values: Any = self._redis.mget(full)
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        return values

    async def read_many_async(
        self,
        views: Sequence[str],
        keys: Sequence[Sequence[bytes]],
        executor: Executor | None = None,
    ) -> list[bytes | None]:
        if self._async is None:
            return await super().read_many_async(views, keys, executor)
        full = self._full_keys(views, keys)
        if not full:
            return []
        pipe: _Pipe | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                pipe = await self._pipe()
                values: list[bytes | None] = await pipe.call(_command(b"MGET", *full))
        except TimeoutError:
            if pipe is not None:
                pipe.close()  # replies may still come: the next read starts afresh
            raise self._unavailable(
                TimeoutError(f"no answer within {self._timeout_s:g} s")
            ) from None
        except (*self._errors, *self._async.errors) as exc:
            raise self._unavailable(exc) from exc
        return values

    async def _pipe(self) -> _Pipe:
        """This event loop's connection, opened (authenticated, database selected) on first
        use and after a loss."""
        loop = asyncio.get_running_loop()
        pipe = self._pipes.get(loop)
        if pipe is not None and pipe.lost is None:
            return pipe
        target = self._async
        assert target is not None
        _, fresh = await loop.create_connection(
            lambda: _Pipe(target.reader()), target.host, target.port
        )
        try:
            for command in target.hello:
                await fresh.call(command)
        except BaseException:
            fresh.close()
            raise
        pipe = self._pipes.get(loop)
        if pipe is not None and pipe.lost is None:  # another read connected meanwhile
            fresh.close()
            return pipe
        self._pipes[loop] = fresh
        return fresh

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
        for loop, pipe in list(self._pipes.items()):
            with suppress(RuntimeError):  # a closed loop: nothing left to run the close on
                loop.call_soon_threadsafe(pipe.close)
        self._pipes.clear()

    def close_loop(self) -> None:
        pipe = self._pipes.pop(asyncio.get_running_loop(), None)
        if pipe is not None:
            pipe.close()


class _AsyncTarget:
    """Where and how the event-loop client connects: host, port, the AUTH/SELECT
    commands, the reply parser."""

    def __init__(self, host: str, port: int, hello: list[bytes], hiredis: Any) -> None:
        self.host, self.port, self.hello = host, port, hello
        self.reader = hiredis.Reader
        self.errors = (hiredis.HiredisError,)


def _async_target(url: str) -> _AsyncTarget | None:
    """The event-loop client's target for a ``redis://`` TCP URL, None for others (TLS,
    Unix sockets) or without hiredis: those read in the thread pool."""
    if not url.startswith("redis://"):
        return None
    try:
        import hiredis
    except ImportError:  # pragma: no cover - in the redis extra
        return None
    from redis.connection import parse_url

    options = parse_url(url)
    if "path" in options or "connection_class" in options:
        return None
    hello = []
    password = options.get("password")
    if password:
        username = options.get("username")
        auth = [username.encode(), password.encode()] if username else [password.encode()]
        hello.append(_command(b"AUTH", *auth))
    db = int(options.get("db") or 0)
    if db:
        hello.append(_command(b"SELECT", b"%d" % db))
    return _AsyncTarget(
        options.get("host") or "localhost", int(options.get("port") or 6379), hello, hiredis
    )
